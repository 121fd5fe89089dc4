DROP INDEX deliveries_ordering;
ALTER TABLE deliveries DROP COLUMN ordering_key;
ALTER TABLE endpoints DROP COLUMN rate_per_sec, DROP COLUMN burst, DROP COLUMN ordering_key,
    DROP COLUMN on_failure, DROP COLUMN breaker_state, DROP COLUMN breaker_since,
    DROP COLUMN breaker_until, DROP COLUMN breaker_reason, DROP COLUMN breaker_cooldown_ms,
    DROP COLUMN paused_until, DROP COLUMN pause_reason, DROP COLUMN effective_rate,
    DROP COLUMN failing_since, DROP COLUMN disabled_at, DROP COLUMN disabled_reason,
    DROP COLUMN rate_tat;
