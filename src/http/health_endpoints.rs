//! The endpoints' protection state as `/health` counts it and `/metrics` shows it: read from
//! the store, so that every instance reports what every other instance wrote.

use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{BreakerState, EndpointRow};
use crate::metrics::Metrics;

/// Customers' receivers, counted: none of them makes Herald's own status `degraded`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct EndpointsCheck {
    /// Endpoints whose circuit breaker is open or half-open.
    pub open: usize,
    /// Endpoints paused by a `Retry-After`.
    pub paused: usize,
    /// Endpoints disabled (by hand, by a `410`, or after failing for `ENDPOINT_DISABLE_AFTER`).
    pub disabled: usize,
    /// Where rate limits are kept: `redis`, `postgres` or `in_process`.
    #[schema(example = "redis")]
    pub limiter: &'static str,
    /// `up`, or `down` while the shared limiter fails (deliveries are limited in process).
    #[schema(example = "up")]
    pub limiter_status: &'static str,
}

impl EndpointsCheck {
    pub fn of(rows: &[EndpointRow], limiter: &crate::actors::limiter::Limiter) -> Self {
        let now = Utc::now();
        Self {
            open: rows
                .iter()
                .filter(|r| r.state.breaker.state != BreakerState::Closed)
                .count(),
            paused: rows
                .iter()
                .filter(|r| r.state.paused_until.is_some_and(|u| u > now))
                .count(),
            disabled: rows.iter().filter(|r| !r.enabled).count(),
            limiter: limiter.kind(),
            limiter_status: if limiter.is_failing() { "down" } else { "up" },
        }
    }
}

/// Sets `herald_breaker_state` and `herald_effective_rate` from the stored endpoints.
pub fn observe(metrics: &Metrics, rows: &[EndpointRow]) {
    for r in rows {
        metrics
            .breaker_state
            .with_label_values(&[&r.name])
            .set(r.state.breaker.state.gauge());
        let rate = r.state.effective_rate.or(r.protection.rate_per_sec);
        metrics
            .effective_rate
            .with_label_values(&[&r.name])
            .set(rate.unwrap_or(0.0));
    }
}
