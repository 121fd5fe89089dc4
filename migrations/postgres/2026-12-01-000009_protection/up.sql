-- Protecting receivers. An endpoint's settings (a rate, an ordering key) and its state, kept
-- on its row so that every instance and a restart see it: the circuit breaker, a pause asked
-- for by `Retry-After`, the adaptive rate, when it started failing, and why it was disabled.
-- None of the state columns moves `updated_at`: a change of state is not a change of the
-- endpoint, and does not make every instance reload the table.
ALTER TABLE endpoints
    ADD COLUMN rate_per_sec double precision
        CONSTRAINT endpoints_rate_positive CHECK (rate_per_sec > 0),
    ADD COLUMN burst integer CONSTRAINT endpoints_burst_positive CHECK (burst >= 1),
    ADD COLUMN ordering_key text,
    ADD COLUMN on_failure text NOT NULL DEFAULT 'skip'
        CONSTRAINT endpoints_on_failure CHECK (on_failure IN ('skip', 'block')),
    ADD COLUMN breaker_state text NOT NULL DEFAULT 'closed'
        CONSTRAINT endpoints_breaker_state CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    ADD COLUMN breaker_since timestamptz,
    -- Open: when the cool-down ends. Half-open: when the probe's answer is due.
    ADD COLUMN breaker_until timestamptz,
    ADD COLUMN breaker_reason text,
    -- The cool-down the breaker opened with last.
    ADD COLUMN breaker_cooldown_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN paused_until timestamptz,
    ADD COLUMN pause_reason text,
    ADD COLUMN effective_rate double precision,
    ADD COLUMN failing_since timestamptz,
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disabled_reason text,
    -- The rate limiter's theoretical arrival time, when it is shared through PostgreSQL.
    ADD COLUMN rate_tat timestamptz;

-- Ordering: a delivery to an endpoint with an `ordering_key` keeps the key's value, and waits
-- while an older delivery with the same key is unfinished.
ALTER TABLE deliveries ADD COLUMN ordering_key text;
CREATE INDEX deliveries_ordering ON deliveries (endpoint_id, ordering_key, created_at, id)
    WHERE ordering_key IS NOT NULL AND status IN ('pending', 'sending', 'failed');
