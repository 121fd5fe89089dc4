-- Event sources: where a source reads (its spec, as the API took it) and what it has done so
-- far. The counts are written in the commit that stores each batch's events. Times are
-- milliseconds since the epoch, as elsewhere.
CREATE TABLE sources (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('redis_stream', 'nats_jetstream')),
    spec            TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    read_count      BIGINT NOT NULL DEFAULT 0,
    stored_count    BIGINT NOT NULL DEFAULT 0,
    duplicate_count BIGINT NOT NULL DEFAULT 0,
    dead_count      BIGINT NOT NULL DEFAULT 0,
    last_entry      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
