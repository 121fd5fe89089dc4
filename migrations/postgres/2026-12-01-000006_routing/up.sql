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

CREATE TABLE events (
    id                  UUID PRIMARY KEY,
    type                TEXT NOT NULL CONSTRAINT events_type_format CHECK (type ~ '^[A-Za-z0-9._:-]{1,128}$'),
    payload             JSONB NOT NULL CONSTRAINT events_payload_object CHECK (jsonb_typeof(payload) = 'object'),
    channels            TEXT,
    -- The roll-up of its deliveries, written with every change of them.
    status              TEXT NOT NULL DEFAULT 'pending'
                        CONSTRAINT events_status_known
                        CHECK (status IN ('pending', 'sent', 'failed', 'cancelled', 'unrouted')),
    send_at             TIMESTAMPTZ,
    sent_at             TIMESTAMPTZ,
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_created ON events (created_at DESC, id DESC);
CREATE INDEX events_type_created ON events (type, created_at DESC, id DESC);
CREATE INDEX events_status_created ON events (status, created_at DESC, id DESC);
CREATE INDEX events_sent_at ON events (sent_at DESC, id DESC) WHERE status = 'sent';

INSERT INTO events (id, type, payload, status, send_at, sent_at, idempotency_key,
                    request_fingerprint, created_at, updated_at)
SELECT id, 'message', jsonb_build_object('to', recipient, 'content', content),
       CASE status WHEN 'sending' THEN 'pending' ELSE status END,
       NULL, sent_at, idempotency_key, request_fingerprint, created_at, updated_at
FROM messages;

ALTER TABLE messages RENAME TO deliveries;
ALTER TABLE deliveries ADD COLUMN event_id UUID, ADD COLUMN endpoint_id UUID;
UPDATE deliveries SET event_id = id, endpoint_id = '00000000-0000-0000-0000-000000000001';
ALTER TABLE deliveries ALTER COLUMN event_id SET NOT NULL, ALTER COLUMN endpoint_id SET NOT NULL;
ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
    ADD CONSTRAINT deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES endpoints (id);
ALTER TABLE deliveries DROP COLUMN recipient, DROP COLUMN content,
    DROP COLUMN idempotency_key, DROP COLUMN request_fingerprint;
ALTER TABLE deliveries RENAME CONSTRAINT messages_sending_has_lease TO deliveries_sending_has_lease;
ALTER TABLE deliveries RENAME CONSTRAINT messages_status_known TO deliveries_status_known;
ALTER TABLE deliveries RENAME CONSTRAINT messages_pkey TO deliveries_pkey;
ALTER INDEX messages_pending_due RENAME TO deliveries_pending_due;
ALTER INDEX messages_sending_lease RENAME TO deliveries_sending_lease;
ALTER INDEX messages_sent_at RENAME TO deliveries_sent_at;
ALTER INDEX messages_status_created RENAME TO deliveries_status_created;
CREATE UNIQUE INDEX deliveries_event_endpoint ON deliveries (event_id, endpoint_id);
CREATE INDEX deliveries_endpoint_status ON deliveries (endpoint_id, status);

ALTER TABLE delivery_attempts RENAME COLUMN message_id TO delivery_id;
ALTER INDEX delivery_attempts_message RENAME TO delivery_attempts_delivery;
ALTER TABLE batch_requests RENAME COLUMN message_ids TO event_ids;
