-- Continuous dispatchers LISTEN on `herald_due`. New messages (once per statement, so a batch
-- insert wakes them once) and a change of the dispatch switch notify it. A retry through the
-- API notifies it itself. Nobody listens in interval mode; the notification is then dropped.
CREATE FUNCTION herald_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_due', '');
    RETURN NULL;
END $$;
CREATE TRIGGER messages_wake AFTER INSERT ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION herald_wake();
CREATE TRIGGER dispatch_state_wake AFTER UPDATE ON dispatch_state
    FOR EACH STATEMENT EXECUTE FUNCTION herald_wake();
