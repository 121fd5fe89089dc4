-- Idempotent creation through the API: a key maps to the first message created with it, and
-- the fingerprint of that request tells a replay (same body) from a conflict (other body).
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
ALTER TABLE messages ADD COLUMN request_fingerprint TEXT;
CREATE UNIQUE INDEX messages_idempotency_key ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL;
