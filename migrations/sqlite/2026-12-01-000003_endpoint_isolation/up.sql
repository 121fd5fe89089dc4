-- Isolation, as on PostgreSQL: at most `max_in_flight` deliveries in flight per endpoint, and a
-- pending index that leads with the endpoint. `default` starts at the maximum.
ALTER TABLE endpoints ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 8
    CHECK (max_in_flight BETWEEN 1 AND 1000);
UPDATE endpoints SET max_in_flight = 1000 WHERE id = '00000000-0000-0000-0000-000000000001';

DROP INDEX deliveries_pending_due;
CREATE INDEX deliveries_pending_due ON deliveries (endpoint_id, next_attempt_at, created_at)
    WHERE status = 'pending';
