//! Scheduler: claims due messages and hands them to the sender, in one of two modes.
//! State: the store, the sender's address, the batch size and lease, a one-permit lock that
//! keeps claims from overlapping, and whether claiming has been stopped (shutdown).
//! Receives: [`Tick`] (interval mode's timer: once at start, then every `SCHEDULER_INTERVAL`;
//! or a test), [`StopClaiming`].
//! Emits, in interval mode: [`Deliver`] to the sender, awaited (back-pressure: the tick ends
//! when its batch has been delivered, retried or handed back). In continuous mode the loop of
//! [`continuous`](super::continuous) takes delivery slots first and emits `DeliverReserved`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, Notify, Semaphore};

use super::continuous;
use super::isolation::Isolation;
use super::report::DeliveryReport;
use super::sender::{Deliver, DeliverReserved};
use crate::db::{Op, Store};
use crate::monitor::{Monitor, chain};

pub struct Scheduler {
    store: Store,
    isolation: Isolation,
    sender: Recipient<Deliver>,
    /// Continuous mode: what its loop needs besides the above.
    continuous: Option<Continuous>,
    stop: Arc<AtomicBool>,
    monitor: Arc<Monitor>,
    interval: Duration,
    batch_size: u32,
    lease: Duration,
    worker: String,
    in_tick: Arc<Mutex<()>>,
    stopped: bool,
    timer: Option<SpawnHandle>,
    continuous_wake: Option<Arc<Notify>>,
}

/// The parts only continuous dispatch uses.
pub struct Continuous {
    pub sender: Recipient<DeliverReserved>,
    pub slots: Arc<Semaphore>,
    /// Woken by new work (API inserts, retries, start) and by the LISTEN thread.
    pub wake: Arc<Notify>,
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        isolation: Isolation,
        sender: Recipient<Deliver>,
        monitor: Arc<Monitor>,
        settings: &crate::config::SchedulerSettings,
        worker: String,
        continuous: Option<Continuous>,
    ) -> Self {
        Self {
            store,
            isolation,
            sender,
            continuous,
            stop: Arc::new(AtomicBool::new(false)),
            monitor,
            interval: settings.interval,
            batch_size: settings.batch_size,
            lease: settings.lease,
            worker,
            in_tick: Arc::new(Mutex::new(())),
            stopped: false,
            timer: None,
            continuous_wake: None,
        }
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(c) = self.continuous.take() else {
            ctx.notify(Tick);
            self.timer = Some(ctx.run_interval(self.interval, |_, ctx| ctx.notify(Tick)));
            return;
        };
        self.store.listen(
            Arc::clone(&c.wake),
            Arc::clone(&self.stop),
            self.worker.clone(),
        );
        self.continuous_wake = Some(Arc::clone(&c.wake));
        actix_rt::spawn(continuous::run(continuous::Loop {
            store: self.store.clone(),
            isolation: self.isolation.clone(),
            sender: c.sender,
            monitor: Arc::clone(&self.monitor),
            slots: c.slots,
            wake: c.wake,
            stop: Arc::clone(&self.stop),
            busy: Arc::clone(&self.in_tick),
            batch_size: self.batch_size,
            lease: self.lease,
            fallback: self.interval,
            worker: self.worker.clone(),
        }));
    }
}

/// Claim and deliver one batch now.
#[derive(Message)]
#[rtype(result = "TickOutcome")]
pub struct Tick;

/// What a tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// Claimed this many messages; the report says what became of them.
    Claimed(DeliveryReport),
    /// Nothing was due.
    Idle,
    /// Dispatch is stopped (in the database).
    Inactive,
    /// The previous tick is still running; this one was skipped.
    Busy,
    /// Claiming was stopped for shutdown.
    Stopped,
    /// The database could not be reached or the sender was gone.
    Failed(String),
}

impl Handler<Tick> for Scheduler {
    type Result = ResponseFuture<TickOutcome>;

    fn handle(&mut self, _: Tick, _: &mut Self::Context) -> Self::Result {
        if self.stopped {
            return Box::pin(async { TickOutcome::Stopped });
        }
        let Ok(guard) = Arc::clone(&self.in_tick).try_lock_owned() else {
            return Box::pin(async { TickOutcome::Busy });
        };
        let (store, sender, monitor) = (
            self.store.clone(),
            self.sender.clone(),
            Arc::clone(&self.monitor),
        );
        let (limit, lease, worker) = (self.batch_size, self.lease, self.worker.clone());
        let isolation = self.isolation.clone();
        Box::pin(async move {
            let started = Instant::now();
            let outcome = tick(&store, &isolation, &sender, &monitor, limit, lease, worker).await;
            monitor
                .metrics
                .tick_duration
                .observe(started.elapsed().as_secs_f64());
            if !matches!(outcome, TickOutcome::Failed(_)) {
                monitor.tick_finished(chrono::Utc::now());
            }
            drop(guard);
            outcome
        })
    }
}

async fn tick(
    store: &Store,
    isolation: &Isolation,
    sender: &Recipient<Deliver>,
    monitor: &Monitor,
    limit: u32,
    lease: Duration,
    worker: String,
) -> TickOutcome {
    // One statement when there is work; the dispatch state is read only to tell an idle
    // queue from a stopped one.
    let shares = isolation.shares(store, limit).await;
    let asked = shares.clone();
    let claimed = store
        .run(Op::Claim, move |s| {
            let claims = s.claim(&shares, limit, lease, &worker)?;
            let active = !claims.is_empty() || s.dispatch_active()?;
            Ok((active, claims))
        })
        .await;
    let (active, claims) = match claimed {
        Ok(found) => found,
        Err(e) => return TickOutcome::Failed(chain(&e)),
    };
    monitor.metrics.dispatch_active.set(i64::from(active));
    isolation.in_flight.claimed(&asked, &claims);
    if !active {
        return TickOutcome::Inactive;
    }
    monitor.metrics.claim_batch.observe(claims.len() as f64);
    if claims.is_empty() {
        return TickOutcome::Idle;
    }
    monitor.progressed(chrono::Utc::now());
    tracing::info!(count = claims.len(), "claimed messages");
    match sender.send(Deliver(claims)).await {
        Ok(report) => TickOutcome::Claimed(report),
        // The claims stay `sending` until their lease expires, then any instance reclaims them.
        Err(e) => TickOutcome::Failed(format!("sender unavailable: {e}")),
    }
}

/// Stop claiming (shutdown). Resolves once the tick in progress, if any, has finished.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopClaiming;

impl Handler<StopClaiming> for Scheduler {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopClaiming, ctx: &mut Self::Context) -> Self::Result {
        self.stopped = true;
        self.stop.store(true, Ordering::Release);
        if let Some(wake) = &self.continuous_wake {
            wake.notify_one();
        }
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        let in_tick = Arc::clone(&self.in_tick);
        Box::pin(async move {
            drop(in_tick.lock().await);
        })
    }
}
