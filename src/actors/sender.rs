//! Sender: delivers claimed deliveries to their endpoints.
//! State: one shared webhook client, the store, the endpoint table (URL, secret, headers and
//! template of each endpoint), the retry policy, the delivery slots (`SENDER_CONCURRENCY`
//! HTTP calls in flight), a bound on deliveries under way until their outcome is recorded
//! (twice that), and a draining flag (shutdown).
//! Receives: [`Deliver`] (from the scheduler), [`Drain`] (shutdown).
//! Emits: an attempt row and a guarded status update per delivery; [`RecordSent`] to the cache
//! after a `sent` status is committed (fire-and-forget: the cache never delays a delivery).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::cache::RecordSent;
use super::guard::{Admission, Guard};
use super::isolation::{Held, InFlight};
use super::pace::Pace;
use super::recorder::Recorder;
use super::report::DeliveryReport;
use super::target::prepare;
use crate::db::{Claim, DEFAULT_ENDPOINT_ID, Op, Store};
use crate::domain::RetryPolicy;
use crate::monitor::Monitor;
use crate::routing::Endpoints;
use crate::webhook::{Delivery, Target, WebhookClient};

/// A delivery starts only if its claim has at least this much lease left beyond the longest
/// attempt (the webhook timeout plus the bounded body read).
const LEASE_MARGIN: Duration = Duration::from_millis(500);
/// The longest a claimed delivery waits for its slot of the endpoint's rate; a later slot is
/// not taken, and the delivery is deferred to it instead.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// Deliveries under way (from their start to their recorded outcome) per delivery slot: the
/// slot is given back when the receiver answers, so that the next delivery need not wait for
/// this outcome's group commit. A crash resends at most these (same `webhook-id`).
const OUTSTANDING_PER_SLOT: u32 = 2;

pub struct Sender {
    deps: Arc<Deps>,
}

struct Deps {
    client: WebhookClient,
    store: Store,
    endpoints: Endpoints,
    recorder: Recorder,
    cache: Recipient<RecordSent>,
    monitor: Arc<Monitor>,
    policy: RetryPolicy,
    /// Each endpoint's protection: rate, pause, breaker, failing run.
    guard: Guard,
    permits: Arc<Semaphore>,
    /// One permit per delivery from its start to its recorded outcome (its slot is given back
    /// when its HTTP call ends): `OUTSTANDING_PER_SLOT` × `SENDER_CONCURRENCY`. Shutdown waits
    /// for all of them.
    outstanding: Arc<Semaphore>,
    outstanding_max: u32,
    /// Deliveries in flight per endpoint (isolation).
    in_flight: Arc<InFlight>,
    /// `DISPATCH_RATE`, when set.
    pace: Option<Pace>,
    /// Becomes `true` at shutdown; deliveries waiting for a permit hand their claim back at once.
    draining: watch::Sender<bool>,
}

impl Sender {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: WebhookClient,
        store: Store,
        endpoints: Endpoints,
        cache: Recipient<RecordSent>,
        monitor: Arc<Monitor>,
        policy: RetryPolicy,
        guard: Guard,
        settings: &crate::config::WebhookSettings,
        rate: Option<f64>,
    ) -> Self {
        let concurrency = settings.concurrency as u32;
        Self {
            deps: Arc::new(Deps {
                client,
                recorder: Recorder::start(store.clone()),
                store,
                endpoints,
                cache,
                monitor,
                policy,
                guard,
                permits: Arc::new(Semaphore::new(concurrency as usize)),
                outstanding: Arc::new(Semaphore::new(
                    (concurrency * OUTSTANDING_PER_SLOT) as usize,
                )),
                outstanding_max: concurrency * OUTSTANDING_PER_SLOT,
                in_flight: Arc::default(),
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

/// Deliver these claims, each holding a delivery slot the caller took from [`Sender::slots`]
/// before claiming (continuous dispatch: it claims only what it can start at once), and
/// counted in flight for its endpoint ([`Sender::in_flight`]) since it was claimed.
#[derive(Message)]
#[rtype(result = "DeliveryReport")]
pub struct DeliverReserved(pub Vec<(Claim, OwnedSemaphorePermit, Held)>);

impl Handler<Deliver> for Sender {
    type Result = ResponseFuture<DeliveryReport>;

    fn handle(&mut self, Deliver(claims): Deliver, _: &mut Self::Context) -> Self::Result {
        let jobs = claims
            .into_iter()
            .map(|claim| {
                let held = self.deps.in_flight.hold(&claim);
                (claim, None, held)
            })
            .collect();
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
            .map(|(claim, slot, held)| (claim, Some(slot), held))
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

    /// Deliveries in flight per endpoint: a scheduler shares its claims by it.
    pub fn in_flight(&self) -> Arc<InFlight> {
        Arc::clone(&self.deps.in_flight)
    }
}

async fn deliver_all(
    deps: Arc<Deps>,
    jobs: Vec<(Claim, Option<OwnedSemaphorePermit>, Held)>,
) -> DeliveryReport {
    join_all(
        jobs.into_iter()
            .map(|(claim, slot, held)| deliver_one(&deps, claim, slot, held)),
    )
    .await
    .into_iter()
    .fold(DeliveryReport::default(), DeliveryReport::add)
}

#[path = "sender_record.rs"]
mod record;
use record::record;

#[tracing::instrument(skip_all, fields(message.id = %claim.id, attempt = claim.attempt))]
async fn deliver_one(
    deps: &Deps,
    claim: Claim,
    slot: Option<OwnedSemaphorePermit>,
    // Counted in flight for its endpoint until its HTTP call ends (or it is handed back).
    held: Held,
) -> DeliveryReport {
    let mut draining = deps.draining.subscribe();
    let outstanding = tokio::select! {
        biased;
        _ = draining.wait_for(|d| *d) => None,
        outstanding = Arc::clone(&deps.outstanding).acquire_owned() => outstanding.ok(),
    };
    if outstanding.is_none() {
        return hand_back(deps, claim).await;
    }
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
    let needed = deps.client.max_attempt_duration() + LEASE_MARGIN;
    if permit.is_none() || *deps.draining.borrow() || lease_left < needed {
        return hand_back(deps, claim).await;
    }
    let (endpoint, body) = match prepare(&deps.store, &deps.endpoints, &claim).await {
        Ok(found) => found,
        Err(outcome) => {
            let delivery = Delivery {
                outcome,
                started_at: chrono::Utc::now(),
                duration: Duration::ZERO,
            };
            return record(deps, claim, delivery).await;
        }
    };
    // A slot of the endpoint's rate is waited for only within what the lease leaves.
    let horizon = (lease_left - needed).min(MAX_WAIT);
    match deps.guard.admit(&endpoint, horizon).await {
        Admission::GoAt(at) => {
            if let Ok(wait) = (at - chrono::Utc::now()).to_std() {
                tokio::select! {
                    biased;
                    _ = draining.wait_for(|d| *d) => return hand_back(deps, claim).await,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        Admission::Defer { until, reason } => {
            deps.monitor
                .metrics
                .deferred
                .with_label_values(&[&endpoint.row.name, reason])
                .inc();
            return match deps
                .store
                .run(Op::Release, move |s| s.defer(&[(claim, until)]))
                .await
            {
                Ok(_) => DeliveryReport::DEFERRED,
                Err(_) => DeliveryReport::UNRECORDED,
            };
        }
    }
    let target = Target {
        url: &endpoint.row.url,
        key: endpoint.key.as_deref(),
        headers: &endpoint.row.headers,
        guarded: endpoint.row.id != DEFAULT_ENDPOINT_ID,
    };
    let delivery = deps
        .client
        .deliver(&target, &claim.event_id.to_string(), body)
        .await;
    // The endpoint's protection hears the answer while the delivery is still counted in
    // flight, so a disable (a `410`) is committed before this endpoint's next claim. Then its
    // slot and its place in flight serve the next delivery while this outcome waits for its
    // group to be written (the delivery itself stays `sending`, so it cannot start again
    // before its outcome is committed).
    deps.guard
        .observe(&claim, &endpoint, &delivery.outcome)
        .await;
    drop((permit, held));
    record(deps, claim, delivery).await
}

/// Hands a claim back unsent, due now, its attempt given back.
async fn hand_back(deps: &Deps, claim: Claim) -> DeliveryReport {
    match deps
        .store
        .run(Op::Release, move |s| {
            s.release(std::slice::from_ref(&claim))
        })
        .await
    {
        Ok(_) => DeliveryReport::RELEASED,
        // The lease expires and the message is reclaimed: nothing is lost.
        Err(_) => DeliveryReport::UNRECORDED,
    }
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
            let all = deps.outstanding.acquire_many(deps.outstanding_max);
            matches!(tokio::time::timeout_at(msg.deadline, all).await, Ok(Ok(_)))
        })
    }
}
