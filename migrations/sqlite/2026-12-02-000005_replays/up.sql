-- Replay jobs, as on PostgreSQL (times as Unix milliseconds, ids as text).
CREATE TABLE replays (
    id               TEXT PRIMARY KEY NOT NULL,
    endpoint_id      TEXT,
    from_at          INTEGER NOT NULL,
    to_at            INTEGER,
    types            TEXT,
    filter           TEXT,
    mode             TEXT NOT NULL CHECK (mode IN ('failed', 'missing', 'all')),
    rate_per_sec     REAL CHECK (rate_per_sec > 0),
    max_events       INTEGER NOT NULL CHECK (max_events > 0),
    status           TEXT NOT NULL CHECK (status IN ('running', 'paused', 'done', 'cancelled', 'failed')),
    planned          INTEGER NOT NULL DEFAULT 0,
    examined         INTEGER NOT NULL DEFAULT 0,
    enqueued         INTEGER NOT NULL DEFAULT 0,
    cursor_at        INTEGER,
    cursor_id        TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
) STRICT;
CREATE INDEX replays_created ON replays (created_at DESC, id DESC);

ALTER TABLE deliveries ADD COLUMN replay_id TEXT;
ALTER TABLE deliveries ADD COLUMN replay_after INTEGER;
CREATE INDEX deliveries_replay ON deliveries (replay_id) WHERE replay_id IS NOT NULL;
