-- Reminder rules, their reminders, and what a rule did with each event it saw. Times are
-- milliseconds since the epoch, as elsewhere.
CREATE TABLE rules (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    spec        TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE UNIQUE INDEX rules_name ON rules (name) WHERE deleted_at IS NULL;

CREATE TABLE reminders (
    id              TEXT PRIMARY KEY NOT NULL,
    rule_id         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    offset_text     TEXT NOT NULL,
    target          BIGINT NOT NULL,
    send_at         BIGINT NOT NULL,
    event_id        TEXT,
    source_event_id TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('scheduled', 'skipped', 'cancelled')),
    "current"       INTEGER NOT NULL,
    reason          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX reminders_once ON reminders (rule_id, subject, offset_text, target);
CREATE UNIQUE INDEX reminders_slot ON reminders (rule_id, subject, offset_text) WHERE "current";
CREATE INDEX reminders_source ON reminders (source_event_id);
CREATE INDEX reminders_event ON reminders (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE rule_notes (
    event_id   TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, rule_id)
);
