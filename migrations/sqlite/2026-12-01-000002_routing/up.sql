-- Routing, as on PostgreSQL: events, endpoints, and deliveries (one event on its way to one
-- endpoint) as the queue. Existing messages become events of type `message` with their one
-- delivery to `default`, keeping their ids, attempts and statuses. SQLite cannot drop a column
-- that a CHECK names, so `messages` and `delivery_attempts` are rebuilt.

CREATE TABLE endpoints (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9_-]*'),
    url         TEXT NOT NULL,
    event_types TEXT,
    channels    TEXT,
    filter      TEXT,
    template    TEXT,
    headers     TEXT NOT NULL DEFAULT '{}',
    secret      TEXT,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX endpoints_name ON endpoints (name) WHERE deleted_at IS NULL;
INSERT INTO endpoints (id, name, url, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', '',
        CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- An event's status is rolled up from counters that each change of a delivery moves by one.
CREATE TABLE events (
    id                  TEXT PRIMARY KEY NOT NULL,
    type                TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 128 AND type NOT GLOB '*[^A-Za-z0-9._:-]*'),
    payload             TEXT NOT NULL CHECK (json_type(payload) = 'object'),
    channels            TEXT,
    deliveries          INTEGER NOT NULL DEFAULT 0 CHECK (deliveries >= 0),
    open                INTEGER NOT NULL DEFAULT 0 CHECK (open >= 0),
    failed              INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled           INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    status              TEXT GENERATED ALWAYS AS (
                            CASE WHEN deliveries = 0 THEN 'unrouted'
                                 WHEN open > 0 THEN 'pending'
                                 WHEN cancelled = deliveries THEN 'cancelled'
                                 WHEN failed > 0 THEN 'failed'
                                 ELSE 'sent' END) VIRTUAL,
    send_at             INTEGER,
    sent_at             INTEGER,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX events_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_created ON events (created_at DESC, id DESC);
CREATE INDEX events_type_created ON events (type, created_at DESC, id DESC);

INSERT INTO events (id, type, payload, deliveries, open, failed, cancelled, sent_at,
                    idempotency_key, request_fingerprint, created_at, updated_at)
SELECT id, 'message', json_object('to', recipient, 'content', content), 1,
       status IN ('pending', 'sending'), status = 'failed', status = 'cancelled',
       sent_at, idempotency_key, request_fingerprint, created_at, updated_at
FROM messages;

CREATE TABLE deliveries (
    id                  TEXT PRIMARY KEY NOT NULL,
    event_id            TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- No foreign key to endpoints, as on PostgreSQL: they are never removed (a delete marks them).
    endpoint_id         TEXT NOT NULL,
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
    CHECK (status <> 'sending' OR (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;
INSERT INTO deliveries (id, event_id, endpoint_id, status, attempts, attempt_seq, next_attempt_at,
                        claim_token, claimed_by, lease_expires_at, message_id, last_error, sent_at,
                        created_at, updated_at)
SELECT id, id, '00000000-0000-0000-0000-000000000001', status, attempts, attempt_seq,
       next_attempt_at, claim_token, claimed_by, lease_expires_at, message_id, last_error,
       sent_at, created_at, updated_at
FROM messages;

CREATE TABLE attempts_new (
    id               INTEGER PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'retryable', 'permanent')),
    status_code      INTEGER,
    error_class      TEXT,
    response_excerpt TEXT
) STRICT;
INSERT INTO attempts_new SELECT id, message_id, attempt, started_at, duration_ms, outcome,
    status_code, error_class, response_excerpt FROM delivery_attempts;
DROP TABLE delivery_attempts;
DROP TABLE messages;
ALTER TABLE attempts_new RENAME TO delivery_attempts;
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);

CREATE INDEX deliveries_pending_due ON deliveries (next_attempt_at, created_at) WHERE status = 'pending';
CREATE INDEX deliveries_sending_lease ON deliveries (lease_expires_at) WHERE status = 'sending';
CREATE UNIQUE INDEX deliveries_event_endpoint ON deliveries (event_id, endpoint_id);

ALTER TABLE batch_requests RENAME COLUMN message_ids TO event_ids;
