DROP INDEX messages_idempotency_key;
ALTER TABLE messages DROP COLUMN request_fingerprint;
ALTER TABLE messages DROP COLUMN idempotency_key;
