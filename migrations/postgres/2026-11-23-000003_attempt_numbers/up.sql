-- Attempt numbers in the history are unique per message, also across manual retries: `attempts`
-- restarts at 0 on POST /messages/{id}/retry (it drives the retry schedule), `attempt_seq` never
-- goes back, and each history row takes the next one.
ALTER TABLE messages ADD COLUMN attempt_seq INTEGER NOT NULL DEFAULT 0 CHECK (attempt_seq >= 0);
UPDATE messages m
SET attempt_seq = GREATEST(m.attempts,
    (SELECT coalesce(max(a.attempt), 0) FROM delivery_attempts a WHERE a.message_id = m.id));
