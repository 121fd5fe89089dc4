-- The embedded store: the same queue as on PostgreSQL, in one SQLite file owned by one process.
-- Times are Unix milliseconds (UTC); ids and claim tokens are UUIDs as text. STRICT tables make
-- SQLite check column types, and the CHECKs mirror the PostgreSQL ones. (Content length is
-- validated at the edge; SQLite cannot change a CHECK when CONTENT_MAX_CHARS changes.)
CREATE TABLE messages (
    id                  TEXT PRIMARY KEY NOT NULL,
    recipient           TEXT NOT NULL CHECK (recipient GLOB '+[1-9]*'
                            AND length(recipient) BETWEEN 8 AND 16
                            AND substr(recipient, 2) NOT GLOB '*[^0-9]*'),
    content             TEXT NOT NULL CHECK (length(content) >= 1),
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    attempt_seq         INTEGER NOT NULL DEFAULT 0 CHECK (attempt_seq >= 0),
    next_attempt_at     INTEGER NOT NULL,
    claim_token         TEXT,
    claimed_by          TEXT,
    lease_expires_at    INTEGER,
    message_id          TEXT,
    last_error          TEXT,
    sent_at             INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    CHECK (status <> 'sending' OR (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

CREATE INDEX messages_pending_due ON messages (next_attempt_at, created_at) WHERE status = 'pending';
CREATE INDEX messages_sending_lease ON messages (lease_expires_at) WHERE status = 'sending';
CREATE INDEX messages_sent_at ON messages (sent_at DESC) WHERE status = 'sent';
CREATE INDEX messages_status_created ON messages (status, created_at DESC);
CREATE INDEX messages_created ON messages (created_at DESC);
CREATE UNIQUE INDEX messages_idempotency_key ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE delivery_attempts (
    id               INTEGER PRIMARY KEY,
    message_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'retryable', 'permanent')),
    status_code      INTEGER,
    error_class      TEXT,
    response_excerpt TEXT
) STRICT;
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, attempt);
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);

-- The dispatch switch: exactly one row.
CREATE TABLE dispatch_state (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO dispatch_state (singleton, active, updated_at)
VALUES (1, 1, CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- Idempotent batch creation: the key, the request's fingerprint, and the ids it created in
-- request order (a JSON array).
CREATE TABLE batch_requests (
    idempotency_key     TEXT PRIMARY KEY NOT NULL,
    request_fingerprint TEXT NOT NULL,
    message_ids         TEXT NOT NULL,
    created_at          INTEGER NOT NULL
) STRICT;
