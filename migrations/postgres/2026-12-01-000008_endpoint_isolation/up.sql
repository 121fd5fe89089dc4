-- Isolation: each endpoint may have at most `max_in_flight` deliveries in flight per instance,
-- and a claim takes due deliveries endpoint by endpoint. `default` starts at the maximum, so
-- that SENDER_CONCURRENCY stays its limit as before.
ALTER TABLE endpoints
    ADD COLUMN max_in_flight integer NOT NULL DEFAULT 8
        CONSTRAINT endpoints_max_in_flight CHECK (max_in_flight BETWEEN 1 AND 1000);
UPDATE endpoints SET max_in_flight = 1000 WHERE id = '00000000-0000-0000-0000-000000000001';

-- The pending index leads with the endpoint, so that a claim walks each endpoint's due
-- deliveries from the oldest and stops at its quota.
DROP INDEX deliveries_pending_due;
CREATE INDEX deliveries_pending_due ON deliveries (endpoint_id, next_attempt_at, created_at)
    WHERE status = 'pending';
