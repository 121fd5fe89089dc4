-- Protecting receivers, as on PostgreSQL: an endpoint's rate and ordering key, and its state
-- (breaker, pause, adaptive rate, failing since, disabled why). Times are Unix milliseconds.
ALTER TABLE endpoints ADD COLUMN rate_per_sec REAL CHECK (rate_per_sec > 0);
ALTER TABLE endpoints ADD COLUMN burst INTEGER CHECK (burst >= 1);
ALTER TABLE endpoints ADD COLUMN ordering_key TEXT;
ALTER TABLE endpoints ADD COLUMN on_failure TEXT NOT NULL DEFAULT 'skip'
    CHECK (on_failure IN ('skip', 'block'));
ALTER TABLE endpoints ADD COLUMN breaker_state TEXT NOT NULL DEFAULT 'closed'
    CHECK (breaker_state IN ('closed', 'open', 'half_open'));
ALTER TABLE endpoints ADD COLUMN breaker_since INTEGER;
ALTER TABLE endpoints ADD COLUMN breaker_until INTEGER;
ALTER TABLE endpoints ADD COLUMN breaker_reason TEXT;
ALTER TABLE endpoints ADD COLUMN breaker_cooldown_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN paused_until INTEGER;
ALTER TABLE endpoints ADD COLUMN pause_reason TEXT;
ALTER TABLE endpoints ADD COLUMN effective_rate REAL;
ALTER TABLE endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoints ADD COLUMN disabled_at INTEGER;
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT;

ALTER TABLE deliveries ADD COLUMN ordering_key TEXT;
CREATE INDEX deliveries_ordering ON deliveries (endpoint_id, ordering_key, created_at, id)
    WHERE ordering_key IS NOT NULL AND status IN ('pending', 'sending', 'failed');
