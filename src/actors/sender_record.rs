//! What the sender makes of one attempt: its metrics and log line, the retry policy's
//! decision written in a group (its history row and status), and the cache once `sent` is
//! committed. (The endpoint's protection hears the attempt in `sender.rs`, before its place
//! in flight is given up.)

use super::Deps;
use crate::actors::cache::RecordSent;
use crate::actors::observe::observe;
use crate::actors::report::DeliveryReport;
use crate::db::{AttemptRecord, Claim, FinishResult, Recorded};
use crate::domain::Finish;
use crate::webhook::Delivery;

/// Record one attempt: its history row and what the retry policy makes of it, in one group
/// write; then the metrics, and the cache once `sent` is committed.
pub(super) async fn record(deps: &Deps, claim: Claim, delivery: Delivery) -> DeliveryReport {
    let Delivery {
        outcome,
        started_at,
        duration,
    } = delivery;
    let kind = outcome.kind();
    observe(&deps.monitor, &deps.endpoints, &claim, &outcome, duration);
    let recorded = Recorded {
        attempt: AttemptRecord::new(claim.number, started_at, duration, &outcome),
        finish: deps.policy.decide(claim.attempt, &outcome, fastrand_unit()),
        claim,
    };
    let (id, created_at) = (recorded.claim.event_id, recorded.claim.created_at);
    let finish = recorded.finish.clone();
    match deps.recorder.record(recorded).await {
        Ok(FinishResult::Applied { sent_at }) => {
            deps.monitor.progressed(chrono::Utc::now());
            if let Finish::Sent { message_id } = &finish {
                let sent_at = sent_at.unwrap_or_else(chrono::Utc::now);
                if let Ok(latency) = (sent_at - created_at).to_std() {
                    deps.monitor
                        .metrics
                        .delivery_latency
                        .observe(latency.as_secs_f64());
                }
                deps.cache.do_send(RecordSent {
                    id,
                    message_id: message_id.clone(),
                    sent_at,
                });
            }
            DeliveryReport::recorded(&finish)
        }
        Ok(FinishResult::Stale) => {
            deps.monitor.metrics.stale_finishes.inc();
            tracing::warn!(
                outcome = kind.as_str(),
                "claim was taken over before the outcome was recorded; outcome dropped"
            );
            DeliveryReport::UNRECORDED
        }
        Err(_) => DeliveryReport::UNRECORDED,
    }
}

/// A random number in `[0, 1)` for the retry jitter.
fn fastrand_unit() -> f64 {
    use fake::rand::RngExt;
    fake::rand::rng().random::<f64>()
}
