//! Continuous dispatch, the scheduler's loop when `DISPATCH_MODE=continuous`: claim as soon as
//! delivery slots are free and work is due, hand the claims to the sender without waiting for
//! them, and sleep only when nothing is due: until a wake-up (a new message or a retry through
//! LISTEN/NOTIFY or in-process, `POST /messages/start`), the next known due time, or the
//! fallback poll every `SCHEDULER_INTERVAL`, whichever comes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::Recipient;
use tokio::sync::{Mutex, Notify, OwnedSemaphorePermit, Semaphore};

use super::isolation::{Held, Isolation};
use super::report::DeliveryReport;
use super::sender::DeliverReserved;
use crate::db::{Claim, Op, Store};
use crate::monitor::{Monitor, chain};

/// Wakes dispatchers when this instance makes work due (a message stored, a retry): its own
/// continuous loop at once, and every instance's through the database's `NOTIFY`, sent from a
/// task of its own with one in flight at a time, so a burst of inserts costs one or two.
#[derive(Clone)]
pub struct Wake {
    local: Arc<Notify>,
    ring: Arc<Notify>,
}

impl Wake {
    /// `worker` names this instance in its announcements, so that its own listener skips them.
    pub fn start(store: Store, local: Arc<Notify>, worker: String) -> Self {
        let ring = Arc::new(Notify::new());
        let bell = Arc::clone(&ring);
        let worker: Arc<str> = worker.into();
        actix_rt::spawn(async move {
            loop {
                bell.notified().await;
                let from = Arc::clone(&worker);
                let _ = store
                    .run(Op::DispatchState, move |s| s.announce_due(&from))
                    .await;
            }
        });
        Self { local, ring }
    }

    pub fn due(&self) {
        self.local.notify_one();
        self.ring.notify_one();
    }
}

/// How soon a loop that found due work it could not claim looks again.
const RECHECK: Duration = Duration::from_millis(20);

/// Everything the loop needs; built by the scheduler.
pub struct Loop {
    pub store: Store,
    pub isolation: Isolation,
    pub sender: Recipient<DeliverReserved>,
    pub monitor: Arc<Monitor>,
    pub slots: Arc<Semaphore>,
    pub wake: Arc<Notify>,
    pub stop: Arc<AtomicBool>,
    /// Held while a claim is being made and handed over, so that stopping waits for it.
    pub busy: Arc<Mutex<()>>,
    pub batch_size: u32,
    pub lease: Duration,
    pub fallback: Duration,
    pub worker: String,
}

/// What one round found.
enum Round {
    /// Claimed and handed over; look again at once.
    Claimed,
    /// Nothing due now; the next due time, if known.
    Idle(Option<Duration>),
    /// Dispatch is stopped (in the database): wait for a wake-up or the fallback poll.
    Inactive,
    /// The database failed; try again after a pause.
    Failed,
}

pub async fn run(l: Loop) {
    // Rounds in a row that found work due now and claimed none.
    let mut held = 0u32;
    while !l.stop.load(Ordering::Acquire) {
        // Waits while every slot is busy, then takes every slot free (the round): slots come
        // back a recorded group at a time, so claims stay large. It queues for one slot only:
        // queued for many, it would take every slot that came back until it had them all, and
        // no request could hand its event's deliveries off meanwhile (see `HandOffs`).
        let Ok(slots) = Arc::clone(&l.slots).acquire_owned().await else {
            return;
        };
        let round = round(&l, slots).await;
        let due_now = matches!(round, Round::Idle(Some(n)) if n.is_zero());
        held = if due_now { held + 1 } else { 0 };
        let pause = match round {
            Round::Claimed => continue,
            // Due now yet nothing claimed. Once, that is a race with a commit: look again at
            // once. Twice, the due work is held (by another claimer, or its endpoint has no
            // free place): look again shortly, or at the next wake-up, rather than spin.
            Round::Idle(Some(n)) if n.is_zero() && held > 1 => RECHECK.min(l.fallback),
            Round::Idle(next) => next.map_or(l.fallback, |n| n.min(l.fallback)),
            Round::Inactive => l.fallback,
            Round::Failed => l.fallback.min(Duration::from_secs(1)),
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            () = l.wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

async fn round(l: &Loop, first: OwnedSemaphorePermit) -> Round {
    let _busy = l.busy.lock().await;
    if l.stop.load(Ordering::Acquire) {
        return Round::Inactive;
    }
    // As many as there are slots free now, up to a batch. The slots are taken once the claims
    // are back: held through the claim, they would turn away every request's hand-off
    // meanwhile, whose deliveries would then wait for the next claim.
    let mut slots = first;
    let free = 1 + l.slots.available_permits() as u32;
    let want = free.min(l.batch_size);
    let (lease, worker) = (l.lease, l.worker.clone());
    let shares = l.isolation.shares(&l.store, want).await;
    let asked = shares.clone();
    let found = l
        .store
        .run(Op::Claim, move |s| {
            let claims = s.claim(&shares, want, lease, &worker)?;
            if !claims.is_empty() {
                return Ok((claims, true, None));
            }
            Ok((claims, s.dispatch_active()?, s.next_due()?))
        })
        .await;
    let now = chrono::Utc::now();
    l.monitor.tick_finished(now);
    let (claims, active, next) = match found {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(error = %chain(&e), "claim failed");
            return Round::Failed;
        }
    };
    l.monitor.metrics.dispatch_active.set(i64::from(active));
    l.isolation.in_flight.claimed(&asked, &claims);
    if claims.is_empty() {
        return if active {
            Round::Idle(next)
        } else {
            Round::Inactive
        };
    }
    l.monitor.metrics.claim_batch.observe(claims.len() as f64);
    l.monitor.progressed(now);
    // A slot for each claim: free ones first, then the ones still in flight, as they return,
    // one at a time: queued for them all at once, the loop would take every slot that came
    // back until it had them all, and turn away the requests' hand-offs queued behind it.
    while slots.num_permits() < claims.len() {
        let Ok(more) = Arc::clone(&l.slots).acquire_owned().await else {
            // The semaphore closed: the claims stay `sending` until their lease runs out.
            return Round::Failed;
        };
        slots.merge(more);
    }
    // One slot per claim; the rest go back when `slots` drops.
    let permits: Vec<OwnedSemaphorePermit> =
        (0..claims.len()).map_while(|_| slots.split(1)).collect();
    let jobs = claims
        .into_iter()
        .zip(permits)
        .map(|(claim, permit)| {
            let held = l.isolation.in_flight.hold(&claim);
            (claim, permit, held)
        })
        .collect();
    deliver_then_look(l.sender.clone(), jobs, Arc::clone(&l.wake));
    Round::Claimed
}

/// Hands claimed deliveries to the sender without waiting, and wakes the loop `wake` once they
/// are done if their outcomes made work due (a retry's time, a deferral, a hand-back).
pub(super) fn deliver_then_look(
    sender: Recipient<DeliverReserved>,
    jobs: Vec<(Claim, OwnedSemaphorePermit, Held)>,
    wake: Arc<Notify>,
) {
    actix_rt::spawn(async move {
        // The claims stay `sending` until their lease runs out if the sender is gone.
        let report = sender.send(DeliverReserved(jobs)).await;
        if report.as_ref().ok().is_none_or(DeliveryReport::makes_due) {
            wake.notify_one();
        }
    });
}
