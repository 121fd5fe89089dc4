//! [`Replayer`]: each instance's replay loop. It leases the oldest running job whose lease is
//! free (so one instance runs a job at a time), takes one step of it (a batch, paced by
//! [`pace`](super::pace)), and goes back for a lease: a paused or cancelled job is simply not
//! leased again, and a job whose instance died is leased by another when its lease expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use uuid::Uuid;

use super::pace::{self, Step};
use super::plan::{Action, Mode, decide};
use crate::actors::continuous::Wake;
use crate::db::search::Target;
use crate::db::{Candidate, Enqueue, Op, ReplayBatch, ReplayRow, ReplayStatus, Store, StoreError};
use crate::monitor::{Monitor, Stop};
use crate::routing::{Compiled, Endpoints};

/// How long to wait for work when no job runs: a job made or resumed here rings `bell`, so this
/// poll only finds jobs whose instance died (their lease expired).
const IDLE: Duration = Duration::from_secs(10);

pub struct Replayer {
    pub store: Store,
    pub endpoints: Endpoints,
    pub wake: Wake,
    pub worker: String,
    pub lease: Duration,
    pub monitor: Arc<Monitor>,
    /// Rung when a job is made or resumed.
    pub bell: Arc<Notify>,
    pub stop: Arc<Stop>,
}

/// Where this instance's run of a job started, for its rate cap.
struct Run {
    since: Instant,
    enqueued: u64,
}

impl Replayer {
    pub fn spawn(self) {
        actix_rt::spawn(self.run());
    }

    async fn run(self) {
        let mut runs: HashMap<Uuid, Run> = HashMap::new();
        let mut failing = false;
        while !self.stop.is_stopped() {
            let wait = match self.step(&mut runs).await {
                Ok(wait) => {
                    if failing {
                        tracing::info!("replays run again");
                        failing = false;
                    }
                    wait
                }
                Err(e) => {
                    if !failing {
                        // The database being down is logged once by the store, with its cause.
                        if matches!(e, StoreError::Unavailable(_)) {
                            tracing::debug!(error = %crate::monitor::chain(&e), "replay step failed; retrying");
                        } else {
                            tracing::error!(error = %crate::monitor::chain(&e), "replay step failed; retrying");
                        }
                        failing = true;
                    }
                    Duration::from_secs(1)
                }
            };
            if self.stop.wait(wait, Some(&self.bell)).await {
                return;
            }
        }
    }

    /// One step of the oldest job this instance may run; how long to wait before the next.
    async fn step(&self, runs: &mut HashMap<Uuid, Run>) -> Result<Duration, StoreError> {
        let (worker, lease) = (self.worker.clone(), self.lease);
        let Some(job) = self
            .store
            .run(Op::Change, move |s| s.lease_replay(&worker, lease))
            .await?
        else {
            runs.clear();
            return Ok(IDLE);
        };
        let targets = match self.targets(&job) {
            Ok(t) => t,
            Err(why) => {
                self.end(&job, ReplayStatus::Failed, Some(why)).await?;
                return Ok(Duration::ZERO);
            }
        };
        let id = job.id;
        let open = self
            .store
            .run(Op::Read, move |s| s.replay_progress(id))
            .await?
            .open;
        let run = runs.entry(job.id).or_insert_with(|| Run {
            since: Instant::now(),
            enqueued: 0,
        });
        let n = match pace::next(
            job.rate_per_sec,
            run.enqueued,
            run.since.elapsed(),
            open as u64,
        ) {
            Step::Wait(d) => return Ok(d),
            Step::Go(n) => n,
        };
        if job.enqueued >= i64::from(job.max_events) {
            let why = format!("stopped at max_events ({})", job.max_events);
            self.end(&job, ReplayStatus::Done, Some(why)).await?;
            return Ok(Duration::ZERO);
        }
        let (job2, rows) = (job.clone(), targets.clone());
        let found = self
            .store
            .run(Op::Read, move |s| {
                s.replay_candidates(&job2, &as_targets(&rows), n)
            })
            .await?;
        let Some(last) = found.last() else {
            runs.remove(&job.id);
            self.end(&job, ReplayStatus::Done, None).await?;
            return Ok(Duration::ZERO);
        };
        let batch = ReplayBatch {
            enqueue: found
                .iter()
                .flat_map(|c| plan(job.mode, c, &targets))
                .collect(),
            cursor: (last.created_at, last.id),
            examined: found.len() as i64,
        };
        let (worker, lease) = (self.worker.clone(), self.lease);
        let applied = self
            .store
            .run(Op::Change, move |s| {
                s.apply_replay(id, &worker, lease, &batch)
            })
            .await?;
        match applied {
            // Paused, cancelled, or leased elsewhere meanwhile: nothing was written.
            None => {
                runs.remove(&job.id);
            }
            Some(enqueued) => {
                if let Some(run) = runs.get_mut(&job.id) {
                    run.enqueued += enqueued as u64;
                }
                if enqueued > 0 {
                    self.monitor.metrics.replayed.inc_by(enqueued as u64);
                    self.wake.due();
                }
            }
        }
        Ok(Duration::ZERO)
    }

    /// The endpoints the job sends to now: its own, or every enabled one.
    fn targets(&self, job: &ReplayRow) -> Result<Vec<Arc<Compiled>>, String> {
        match job.endpoint_id {
            Some(id) => self
                .endpoints
                .get(id)
                .map(|e| vec![e])
                .ok_or_else(|| "its endpoint was deleted".to_owned()),
            None => Ok(self
                .endpoints
                .all()
                .into_iter()
                .filter(|e| e.row.enabled)
                .collect()),
        }
    }

    async fn end(
        &self,
        job: &ReplayRow,
        status: ReplayStatus,
        why: Option<String>,
    ) -> Result<(), StoreError> {
        let (id, worker) = (job.id, self.worker.clone());
        let ended = self
            .store
            .run(Op::Change, move |s| {
                s.end_replay(id, &worker, status, why.as_deref())
            })
            .await?;
        if ended {
            tracing::info!(replay = %id, status = status.as_str(), enqueued = job.enqueued, "replay ended");
        }
        Ok(())
    }
}

/// The targets of `endpoints`, as the store's SQL reads them.
pub fn as_targets(endpoints: &[Arc<Compiled>]) -> Vec<Target<'_>> {
    endpoints
        .iter()
        .map(|e| Target {
            id: e.row.id,
            types: e.row.event_types.as_deref(),
            channels: e.row.channels.as_deref(),
            filter: e.filter.as_ref(),
        })
        .collect()
}

/// What a job enqueues for one event: for each target, by [`decide`].
pub fn plan(mode: Mode, event: &Candidate, targets: &[Arc<Compiled>]) -> Vec<Enqueue> {
    targets
        .iter()
        .filter_map(|t| {
            let existing = event.delivery_to(t.row.id);
            let takes = mode == Mode::Failed
                || t.matches(&event.event_type, &event.channels, &event.payload);
            match decide(mode, takes, existing.map(|(_, s)| s)) {
                Action::Insert => Some(Enqueue::Insert {
                    event: event.id,
                    endpoint: t.row.id,
                    ordering_key: t.ordering_key(&event.payload),
                }),
                Action::Reset => existing.map(|(delivery, _)| Enqueue::Reset {
                    event: event.id,
                    delivery,
                }),
                Action::Skip => None,
            }
        })
        .collect()
}
