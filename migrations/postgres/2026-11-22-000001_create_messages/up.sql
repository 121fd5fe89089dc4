-- Messages: the queue itself. A row moves pending -> sending -> sent | pending (retry) | failed,
-- or pending -> cancelled. `claim_token` guards the final update against stale workers.
CREATE TABLE messages (
    id                UUID PRIMARY KEY,
    recipient         TEXT NOT NULL CONSTRAINT messages_recipient_e164 CHECK (recipient ~ '^\+[1-9][0-9]{6,14}$'),
    content           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending'
                      CONSTRAINT messages_status_known
                      CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    claim_token       UUID,
    claimed_by        TEXT,
    lease_expires_at  TIMESTAMPTZ,
    message_id        TEXT,
    last_error        TEXT,
    sent_at           TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT messages_content_length CHECK (char_length(content) >= 1 AND char_length(content) <= 160),
    CONSTRAINT messages_sending_has_lease CHECK (status <> 'sending' OR (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- Due work, oldest due first.
CREATE INDEX messages_pending_due ON messages (next_attempt_at, created_at) WHERE status = 'pending';
-- Crash recovery: sending rows whose lease ran out.
CREATE INDEX messages_sending_lease ON messages (lease_expires_at) WHERE status = 'sending';
-- Listing sent messages newest first, and the other statuses by creation time.
CREATE INDEX messages_sent_at ON messages (sent_at DESC) WHERE status = 'sent';
CREATE INDEX messages_status_created ON messages (status, created_at DESC);

-- Every delivery attempt, kept for the message's history.
CREATE TABLE delivery_attempts (
    id               BIGSERIAL PRIMARY KEY,
    message_id       UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'retryable', 'permanent')),
    status_code      INTEGER,
    error_class      TEXT,
    response_excerpt TEXT
);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, attempt);
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);

-- Dispatch state shared by every instance: exactly one row.
CREATE TABLE dispatch_state (
    singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO dispatch_state (singleton, active) VALUES (TRUE, TRUE);
