DROP INDEX deliveries_pending_due;
CREATE INDEX deliveries_pending_due ON deliveries (next_attempt_at, created_at) WHERE status = 'pending';
ALTER TABLE endpoints DROP COLUMN max_in_flight;
