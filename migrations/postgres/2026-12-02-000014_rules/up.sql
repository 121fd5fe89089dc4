-- Reminder rules, their reminders, and what a rule did with each event it saw.
CREATE TABLE rules (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    endpoint_id UUID NOT NULL,
    -- The rule as written (normalised JSON); every instance parses it.
    spec        TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A deleted rule keeps its reminders' history.
    deleted_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX rules_name ON rules (name) WHERE deleted_at IS NULL;

CREATE TABLE reminders (
    id              UUID PRIMARY KEY,
    rule_id         UUID NOT NULL,
    subject         TEXT NOT NULL,
    offset_text     TEXT NOT NULL,
    target          TIMESTAMPTZ NOT NULL,
    send_at         TIMESTAMPTZ NOT NULL,
    -- The reminder event; none when it was skipped.
    event_id        UUID,
    -- The event that scheduled it, or last moved or cancelled it.
    source_event_id UUID NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('scheduled', 'skipped', 'cancelled')),
    "current"       BOOLEAN NOT NULL,
    reason          TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Sent at most once for a given target date.
CREATE UNIQUE INDEX reminders_once ON reminders (rule_id, subject, offset_text, target);
-- At most one pending (the current one) per rule, subject and offset.
CREATE UNIQUE INDEX reminders_slot ON reminders (rule_id, subject, offset_text) WHERE "current";
CREATE INDEX reminders_source ON reminders (source_event_id);
CREATE INDEX reminders_event ON reminders (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE rule_notes (
    event_id   UUID NOT NULL,
    rule_id    UUID NOT NULL,
    note       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, rule_id)
);
