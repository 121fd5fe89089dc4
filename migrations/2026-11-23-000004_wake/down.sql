DROP TRIGGER dispatch_state_wake ON dispatch_state;
DROP TRIGGER messages_wake ON messages;
DROP FUNCTION herald_wake();
