-- Event sources: where a source reads (its spec, as the API took it) and what it has done so
-- far. The counts are written in the commit that stores each batch's events.
CREATE TABLE sources (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('redis_stream', 'nats_jetstream')),
    spec            TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    read_count      BIGINT NOT NULL DEFAULT 0,
    stored_count    BIGINT NOT NULL DEFAULT 0,
    duplicate_count BIGINT NOT NULL DEFAULT 0,
    dead_count      BIGINT NOT NULL DEFAULT 0,
    last_entry      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
