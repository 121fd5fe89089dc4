//! What one attempt tells the operator: the delivery metrics (by outcome and by endpoint), the
//! health of `default` (`/health`'s webhook check), and the attempt's log line.

use std::time::Duration;

use crate::db::{Claim, DEFAULT_ENDPOINT_ID};
use crate::domain::{AttemptOutcome, OutcomeKind};
use crate::monitor::Monitor;
use crate::routing::Endpoints;

/// The attempt's metrics, the webhook's health, and its log line.
pub fn observe(
    monitor: &Monitor,
    endpoints: &Endpoints,
    claim: &Claim,
    outcome: &AttemptOutcome,
    duration: Duration,
) {
    let kind = outcome.kind();
    let metrics = &monitor.metrics;
    metrics.deliveries.with_label_values(&[kind.as_str()]).inc();
    let name = endpoints.get(claim.endpoint_id).map(|e| e.row.name.clone());
    metrics
        .endpoint_deliveries
        .with_label_values(&[name.as_deref().unwrap_or("deleted"), kind.as_str()])
        .inc();
    metrics
        .webhook_duration
        .with_label_values(&[kind.as_str()])
        .observe(duration.as_secs_f64());
    // `/health`'s webhook is the operator's own `default`: a customer's endpoint failing is
    // that endpoint's state, not Herald's.
    match kind {
        _ if claim.endpoint_id != DEFAULT_ENDPOINT_ID => {}
        OutcomeKind::Retryable => monitor
            .webhook
            .failed(&outcome.describe_error().unwrap_or_default()),
        _ => monitor.webhook.succeeded(),
    }
    tracing::info!(
        outcome = kind.as_str(),
        status = ?outcome.status_code(),
        error_class = outcome.error_class().map(|c| c.as_str()),
        duration_ms = duration.as_millis() as u64,
        "delivery attempt"
    );
}
