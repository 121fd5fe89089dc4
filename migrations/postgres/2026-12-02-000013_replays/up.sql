-- Replay jobs (POST /replays): each is a row, so that a restart or another instance resumes it
-- where its cursor stands. `cursor_at`/`cursor_id` is the last event examined, in ascending
-- (created_at, id) order; it moves in the same transaction as the deliveries a batch enqueues,
-- so no event is enqueued twice. One instance runs a job at a time, under a lease.
CREATE TABLE replays (
    id               UUID PRIMARY KEY,
    -- NULL: every enabled endpoint.
    endpoint_id      UUID,
    from_at          TIMESTAMPTZ NOT NULL,
    to_at            TIMESTAMPTZ,
    -- A JSON array of types, and the filter as the user wrote it (JSON); NULL for none.
    types            TEXT,
    filter           TEXT,
    mode             TEXT NOT NULL CONSTRAINT replays_mode CHECK (mode IN ('failed', 'missing', 'all')),
    rate_per_sec     DOUBLE PRECISION CONSTRAINT replays_rate CHECK (rate_per_sec > 0),
    max_events       INTEGER NOT NULL CONSTRAINT replays_max CHECK (max_events > 0),
    status           TEXT NOT NULL CONSTRAINT replays_status
                         CHECK (status IN ('running', 'paused', 'done', 'cancelled', 'failed')),
    planned          BIGINT NOT NULL DEFAULT 0,
    examined         BIGINT NOT NULL DEFAULT 0,
    enqueued         BIGINT NOT NULL DEFAULT 0,
    cursor_at        TIMESTAMPTZ,
    cursor_id        UUID,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ
);
CREATE INDEX replays_created ON replays (created_at DESC, id DESC);

-- The replay that last put a delivery back on its way, and the attempt number it had then:
-- its later attempts are the replay's (trigger "replay"), and the job's progress is counted
-- from these rows. No new column on the hot path; the index holds only replayed deliveries.
ALTER TABLE deliveries ADD COLUMN replay_id UUID, ADD COLUMN replay_after INTEGER;
CREATE INDEX deliveries_replay ON deliveries (replay_id) WHERE replay_id IS NOT NULL;
