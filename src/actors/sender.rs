//! Sender: delivers claimed messages to the webhook.
//! State: one shared webhook client, the store, the retry policy, a semaphore bounding the
//! deliveries in flight, and a draining flag (shutdown).
//! Receives: [`Deliver`] (from the scheduler), [`Drain`] (shutdown).
//! Emits: an attempt row and a guarded status update per delivery; [`RecordSent`] to the cache
//! after a `sent` status is committed (fire-and-forget: the cache never delays a delivery).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::cache::RecordSent;
use super::pace::Pace;
use super::recorder::Recorder;
use crate::db::{AttemptRecord, Claim, Finish, FinishResult, Op, Recorded, Store};
use crate::domain::{Decision, OutcomeKind, RetryPolicy};
use crate::monitor::Monitor;
use crate::webhook::{Delivery, WebhookClient};

/// A delivery starts only if its claim has at least this much lease left beyond the longest
/// attempt (the webhook timeout plus the bounded body read).
const LEASE_MARGIN: Duration = Duration::from_millis(500);

pub struct Sender {
    deps: Arc<Deps>,
}

struct Deps {
    client: WebhookClient,
    store: Store,
    recorder: Recorder,
    cache: Recipient<RecordSent>,
    monitor: Arc<Monitor>,
    policy: RetryPolicy,
    permits: Arc<Semaphore>,
    concurrency: u32,
    /// `DISPATCH_RATE`, when set.
    pace: Option<Pace>,
    /// Becomes `true` at shutdown; deliveries waiting for a permit hand their claim back at once.
    draining: watch::Sender<bool>,
}

impl Sender {
    pub fn new(
        client: WebhookClient,
        store: Store,
        cache: Recipient<RecordSent>,
        monitor: Arc<Monitor>,
        policy: RetryPolicy,
        settings: &crate::config::WebhookSettings,
        rate: Option<f64>,
    ) -> Self {
        let concurrency = settings.concurrency as u32;
        Self {
            deps: Arc::new(Deps {
                client,
                recorder: Recorder::start(store.clone()),
                store,
                cache,
                monitor,
                policy,
                permits: Arc::new(Semaphore::new(concurrency as usize)),
                concurrency,
                pace: rate.map(Pace::new),
                draining: watch::Sender::new(false),
            }),
        }
    }
}

impl Actor for Sender {
    type Context = Context<Self>;
}

/// Deliver these claimed messages. Resolves when each was sent, rescheduled, failed or handed back.
#[derive(Message)]
#[rtype(result = "DeliveryReport")]
pub struct Deliver(pub Vec<Claim>);

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
    /// Handed back unsent (shutdown, or too little lease left to start).
    pub released: u32,
    /// The outcome could not be recorded (claim taken over, or the database failed).
    pub unrecorded: u32,
}

enum Fate {
    Sent,
    Retried,
    Failed,
    Released,
    Unrecorded,
}

/// Deliver these claims, each holding a delivery slot the caller took from [`Sender::slots`]
/// before claiming (continuous dispatch: it claims only what it can start at once).
#[derive(Message)]
#[rtype(result = "DeliveryReport")]
pub struct DeliverReserved(pub Vec<(Claim, OwnedSemaphorePermit)>);

impl Handler<Deliver> for Sender {
    type Result = ResponseFuture<DeliveryReport>;

    fn handle(&mut self, Deliver(claims): Deliver, _: &mut Self::Context) -> Self::Result {
        let jobs = claims.into_iter().map(|claim| (claim, None)).collect();
        Box::pin(deliver_all(Arc::clone(&self.deps), jobs))
    }
}

impl Handler<DeliverReserved> for Sender {
    type Result = ResponseFuture<DeliveryReport>;

    fn handle(
        &mut self,
        DeliverReserved(jobs): DeliverReserved,
        _: &mut Self::Context,
    ) -> Self::Result {
        let jobs = jobs
            .into_iter()
            .map(|(claim, slot)| (claim, Some(slot)))
            .collect();
        Box::pin(deliver_all(Arc::clone(&self.deps), jobs))
    }
}

impl Sender {
    /// The delivery slots (`SENDER_CONCURRENCY` permits): a continuous scheduler takes them
    /// before claiming and hands them over with the claims.
    pub fn slots(&self) -> Arc<Semaphore> {
        Arc::clone(&self.deps.permits)
    }
}

async fn deliver_all(
    deps: Arc<Deps>,
    jobs: Vec<(Claim, Option<OwnedSemaphorePermit>)>,
) -> DeliveryReport {
    let fates = join_all(
        jobs.into_iter()
            .map(|(claim, slot)| deliver_one(&deps, claim, slot)),
    )
    .await;
    let mut report = DeliveryReport::default();
    for fate in fates {
        *match fate {
            Fate::Sent => &mut report.sent,
            Fate::Retried => &mut report.retried,
            Fate::Failed => &mut report.failed,
            Fate::Released => &mut report.released,
            Fate::Unrecorded => &mut report.unrecorded,
        } += 1;
    }
    report
}

#[tracing::instrument(skip_all, fields(message.id = %claim.id, attempt = claim.attempt))]
async fn deliver_one(deps: &Deps, claim: Claim, slot: Option<OwnedSemaphorePermit>) -> Fate {
    let mut draining = deps.draining.subscribe();
    let permit = match slot {
        Some(slot) => Some(slot),
        None => tokio::select! {
            biased;
            _ = draining.wait_for(|d| *d) => None,
            permit = Arc::clone(&deps.permits).acquire_owned() => permit.ok(),
        },
    };
    // DISPATCH_RATE: wait for this delivery's turn (shutdown does not wait).
    if let (Some(pace), Some(_)) = (&deps.pace, &permit) {
        tokio::select! {
            biased;
            _ = draining.wait_for(|d| *d) => {}
            () = pace.wait_turn() => {}
        }
    }
    let lease_left = claim.deadline.saturating_duration_since(Instant::now());
    if permit.is_none()
        || *deps.draining.borrow()
        || lease_left < deps.client.max_attempt_duration() + LEASE_MARGIN
    {
        return match deps
            .store
            .run(Op::Release, move |s| {
                s.release(std::slice::from_ref(&claim))
            })
            .await
        {
            Ok(_) => Fate::Released,
            // The lease expires and the message is reclaimed: nothing is lost.
            Err(_) => Fate::Unrecorded,
        };
    }
    let delivery = deps
        .client
        .deliver(&claim.id.to_string(), &claim.recipient, &claim.content)
        .await;
    record(deps, claim, delivery).await
}

async fn record(deps: &Deps, claim: Claim, delivery: Delivery) -> Fate {
    let outcome = &delivery.outcome;
    let kind = outcome.kind();
    let metrics = &deps.monitor.metrics;
    metrics.deliveries.with_label_values(&[kind.as_str()]).inc();
    metrics
        .webhook_duration
        .with_label_values(&[kind.as_str()])
        .observe(delivery.duration.as_secs_f64());
    match kind {
        OutcomeKind::Retryable => deps
            .monitor
            .webhook
            .failed(&outcome.describe_error().unwrap_or_default()),
        _ => deps.monitor.webhook.succeeded(),
    }
    let decision = deps.policy.decide(claim.attempt, outcome, fastrand_unit());
    let error = outcome.describe_error().unwrap_or_default();
    let finish = match (decision, outcome) {
        (Decision::Done, crate::domain::AttemptOutcome::Delivered { message_id, .. }) => {
            Finish::Sent {
                message_id: message_id.clone(),
            }
        }
        (Decision::RetryAfter(after), _) => Finish::Retry { after, error },
        _ => Finish::Failed { error },
    };
    tracing::info!(
        outcome = kind.as_str(),
        status = ?outcome.status_code(),
        error_class = outcome.error_class().map(|c| c.as_str()),
        duration_ms = delivery.duration.as_millis() as u64,
        "delivery attempt"
    );
    let attempt = AttemptRecord {
        attempt: claim.number,
        started_at: delivery.started_at,
        duration_ms: delivery.duration.as_millis().min(i32::MAX as u128) as u32,
        kind,
        status_code: outcome.status_code(),
        error_class: outcome.error_class().map(|c| c.as_str()),
        excerpt: Some(outcome.excerpt().to_owned()).filter(|e| !e.is_empty()),
    };
    let recorded = Recorded {
        claim: claim.clone(),
        attempt,
        finish: finish.clone(),
    };
    match deps.recorder.record(recorded).await {
        Ok(FinishResult::Applied { sent_at }) => {
            deps.monitor.progressed(chrono::Utc::now());
            match finish {
                Finish::Sent { message_id } => {
                    let sent_at = sent_at.unwrap_or_else(chrono::Utc::now);
                    if let Ok(latency) = (sent_at - claim.created_at).to_std() {
                        metrics.delivery_latency.observe(latency.as_secs_f64());
                    }
                    deps.cache.do_send(RecordSent {
                        id: claim.id,
                        message_id,
                        sent_at,
                    });
                    Fate::Sent
                }
                Finish::Retry { .. } => Fate::Retried,
                Finish::Failed { .. } => Fate::Failed,
            }
        }
        Ok(FinishResult::Stale) => {
            metrics.stale_finishes.inc();
            tracing::warn!("claim was taken over before the outcome was recorded; outcome dropped");
            Fate::Unrecorded
        }
        Err(_) => Fate::Unrecorded,
    }
}

/// A random number in `[0, 1)` for the retry jitter.
fn fastrand_unit() -> f64 {
    use fake::rand::RngExt;
    fake::rand::rng().random::<f64>()
}

/// Shutdown: deliveries not yet started are handed back; waits until `deadline` for those in
/// flight. Resolves to `true` when nothing was left in flight.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Drain {
    pub deadline: tokio::time::Instant,
}

impl Handler<Drain> for Sender {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: Drain, _: &mut Self::Context) -> Self::Result {
        let deps = Arc::clone(&self.deps);
        deps.draining.send_replace(true);
        Box::pin(async move {
            let all = deps.permits.acquire_many(deps.concurrency);
            matches!(tokio::time::timeout_at(msg.deadline, all).await, Ok(Ok(_)))
        })
    }
}
