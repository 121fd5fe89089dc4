DROP TRIGGER dispatch_state_wake ON dispatch_state;
DROP FUNCTION herald_wake();
