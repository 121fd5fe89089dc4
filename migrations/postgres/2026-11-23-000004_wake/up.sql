-- Continuous dispatchers LISTEN on `herald_due`. A change of the dispatch switch notifies it
-- here; new messages and retries are announced by the instance that stored them (coalesced, from
-- a connection of its own: a NOTIFY inside every insert would serialise all inserting commits
-- on PostgreSQL's notification lock). Nobody listens in interval mode; the notification is then
-- dropped.
CREATE FUNCTION herald_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_due', '');
    RETURN NULL;
END $$;
CREATE TRIGGER dispatch_state_wake AFTER UPDATE ON dispatch_state
    FOR EACH STATEMENT EXECUTE FUNCTION herald_wake();
