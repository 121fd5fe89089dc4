-- Idempotent batch creation: an Idempotency-Key on POST /messages/batch maps to the messages the
-- first request created, in request order, and the fingerprint of that request.
CREATE TABLE batch_requests (
    idempotency_key     TEXT PRIMARY KEY,
    request_fingerprint TEXT NOT NULL,
    message_ids         UUID[] NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
