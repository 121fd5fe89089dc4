-- Routing: events are what arrives, endpoints are where they go, and a delivery is one event on
-- its way to one endpoint. The queue keeps its protocol (claim with a lease and a token, guarded
-- finish); it only moves from `messages` to `deliveries`. Existing messages become events of
-- type `message`, each with its one delivery to the endpoint `default`, its attempts and status
-- kept; the event, and its delivery, keep the message's id.

CREATE TABLE endpoints (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL CONSTRAINT endpoints_name_format CHECK (name ~ '^[a-z0-9_-]{1,64}$'),
    url         TEXT NOT NULL,
    -- JSON arrays; NULL means every event type, or any channel.
    event_types TEXT,
    channels    TEXT,
    -- The filter and template as the user wrote them (JSON), parsed again when read.
    filter      TEXT,
    template    TEXT,
    headers     TEXT NOT NULL DEFAULT '{}',
    -- NULL only for `default` when WEBHOOK_SECRET is not set: such deliveries are not signed.
    secret      TEXT,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A deleted endpoint keeps its row for the history of its deliveries.
    deleted_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX endpoints_name ON endpoints (name) WHERE deleted_at IS NULL;
-- `default` is rewritten from WEBHOOK_URL, WEBHOOK_SECRET and WEBHOOK_AUTH_KEY at every start.
INSERT INTO endpoints (id, name, url) VALUES ('00000000-0000-0000-0000-000000000001', 'default', '');

-- An event's status is rolled up from counters that each change of a delivery moves by one:
-- increments commute, so two instances finishing deliveries of one event need no lock, and
-- with no index on a column they change, the update stays HOT (no index entry written).
CREATE TABLE events (
    id                  UUID PRIMARY KEY,
    type                TEXT NOT NULL CONSTRAINT events_type_format CHECK (type ~ '^[A-Za-z0-9._:-]{1,128}$'),
    -- JSON text, as Herald wrote it: its key order is kept (the body without a template is the
    -- payload as given), and it may hold what jsonb cannot (\u0000, numbers beyond a double).
    payload             TEXT NOT NULL CONSTRAINT events_payload_object CHECK (json_typeof(payload::json) = 'object'),
    channels            TEXT,
    -- Deliveries made when it was routed; of them, pending or sending, failed, cancelled.
    deliveries          INTEGER NOT NULL DEFAULT 0 CHECK (deliveries >= 0),
    open                INTEGER NOT NULL DEFAULT 0 CHECK (open >= 0),
    failed              INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled           INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    status              TEXT GENERATED ALWAYS AS (
                            CASE WHEN deliveries = 0 THEN 'unrouted'
                                 WHEN open > 0 THEN 'pending'
                                 WHEN cancelled = deliveries THEN 'cancelled'
                                 WHEN failed > 0 THEN 'failed'
                                 ELSE 'sent' END) STORED,
    send_at             TIMESTAMPTZ,
    -- The last successful delivery; shown as the event's sent_at once it is sent.
    sent_at             TIMESTAMPTZ,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
) WITH (fillfactor = 85);
CREATE UNIQUE INDEX events_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_created ON events (created_at DESC, id DESC);
CREATE INDEX events_type_created ON events (type, created_at DESC, id DESC);

INSERT INTO events (id, type, payload, deliveries, open, failed, cancelled, sent_at,
                    idempotency_key, request_fingerprint, created_at, updated_at)
SELECT id, 'message',
       '{"to":' || to_json(recipient)::text || ',"content":' || to_json(content)::text || '}', 1,
       (status IN ('pending', 'sending'))::int, (status = 'failed')::int,
       (status = 'cancelled')::int, sent_at, idempotency_key, request_fingerprint, created_at,
       updated_at
FROM messages;

ALTER TABLE messages RENAME TO deliveries;
ALTER TABLE deliveries ADD COLUMN event_id UUID, ADD COLUMN endpoint_id UUID;
UPDATE deliveries SET event_id = id, endpoint_id = '00000000-0000-0000-0000-000000000001';
ALTER TABLE deliveries ALTER COLUMN event_id SET NOT NULL, ALTER COLUMN endpoint_id SET NOT NULL;
-- No foreign key to endpoints: they are never removed (a delete marks them), and the check would
-- take a share lock on the endpoint's row for every delivery inserted, so that every insert of
-- every instance would queue on the row of `default`.
ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE;
ALTER TABLE deliveries DROP COLUMN recipient, DROP COLUMN content,
    DROP COLUMN idempotency_key, DROP COLUMN request_fingerprint;
ALTER TABLE deliveries RENAME CONSTRAINT messages_sending_has_lease TO deliveries_sending_has_lease;
ALTER TABLE deliveries RENAME CONSTRAINT messages_status_known TO deliveries_status_known;
ALTER TABLE deliveries RENAME CONSTRAINT messages_pkey TO deliveries_pkey;
ALTER INDEX messages_pending_due RENAME TO deliveries_pending_due;
ALTER INDEX messages_sending_lease RENAME TO deliveries_sending_lease;
-- Lists go through events now; every index on deliveries is paid by each claim and finish
-- (their updates change the status, so they are not HOT), so only the queue's own are kept.
DROP INDEX messages_sent_at;
DROP INDEX messages_status_created;
-- An event's deliveries, and at most one delivery per (event, endpoint).
CREATE UNIQUE INDEX deliveries_event_endpoint ON deliveries (event_id, endpoint_id);

ALTER TABLE delivery_attempts RENAME COLUMN message_id TO delivery_id;
ALTER INDEX delivery_attempts_message RENAME TO delivery_attempts_delivery;
ALTER TABLE batch_requests RENAME COLUMN message_ids TO event_ids;
