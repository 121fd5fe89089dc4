//! One source's reading loop, the same for every broker: read a batch, make each entry an
//! event (or a dead entry), route the batch and store it in one commit, and only then
//! acknowledge it. Up to [`DEPTH`] commits are in flight at once, so that reading the next batch
//! does not wait for the database. A broker that fails is retried with [`backoff`], logged once
//! per outage; reading pauses while delivery is behind (the supervisor's backlog check).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::entry;
use super::live::Live;
use super::spec::Source;
use crate::actors::continuous::Wake;
use crate::config::SourceSettings;
use crate::db::{Ingested, Op, Store, StoreError, Tally};
use crate::monitor::Stop;
use crate::routing::Endpoints;

/// How often a reader asks its broker for the lag.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Batches a reader may have in their commit at once.
pub const DEPTH: usize = 3;

/// One entry as read: its id in the broker, and its content as JSON or why it has none.
pub struct Read {
    pub id: String,
    pub body: Result<serde_json::Value, String>,
}

/// A broker's side of the loop. A batch `read` returns is given back to `settle` after its
/// commit, or to `release` when it was not stored.
pub(crate) trait Reader: Sized {
    /// What the broker needs to acknowledge a batch.
    type Batch: 'static;
    async fn connect(source: &Source, runner: &Runner) -> Result<Self, String>;
    /// At most `n` entries: waiting about a second for some when `wait`, else at once.
    async fn read(&mut self, n: usize, wait: bool) -> Result<(Vec<Read>, Self::Batch), String>;
    /// After the batch's commit: the entries at `dead` (index, reason) moved aside, and every
    /// entry of the batch acknowledged.
    async fn settle(&mut self, batch: Self::Batch, dead: &[(usize, String)]) -> Result<(), String>;
    /// The batch was not stored: it is to be read again.
    async fn release(&mut self, batch: Self::Batch);
    /// Entries not yet delivered to the group.
    async fn lag(&mut self) -> Result<Option<u64>, String>;
}

/// A batch's commit under way: the batch, its dead entries, and what the store did.
type Commit<B> =
    Pin<Box<dyn Future<Output = (B, Vec<(usize, String)>, Result<Ingested, StoreError>)>>>;

/// What a reader shares with the rest of the instance.
#[derive(Clone)]
pub struct Runner {
    pub store: Store,
    pub endpoints: Endpoints,
    pub wake: Wake,
    pub live: Arc<Live>,
    pub settings: SourceSettings,
    pub metrics: super::SourceMetrics,
    /// This instance's name in every consumer group (`host-pid-random`): a reader that starts
    /// again reads what it left pending first.
    pub consumer: String,
    /// More deliveries are pending than `SOURCE_MAX_BACKLOG`: every reader of this instance
    /// waits. Set by the supervisor, off the readers' path.
    pub behind: Arc<std::sync::atomic::AtomicBool>,
}

enum Failure {
    Broker(String),
    Store,
    /// The source was deleted.
    Gone,
}

/// The wait before the `n`th retry in a row: 250 ms, doubling to 4 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(250 << n.clamp(1, 5).saturating_sub(1))
}

impl Runner {
    /// Reads `source` until `stop`; a paused source (`enabled` false) is only watched: its lag
    /// is looked at, nothing is read.
    pub(crate) async fn run<R: Reader>(self, source: Source, stop: Arc<Stop>) {
        let (id, name) = (source.id, source.name.clone());
        let mut reader: Option<R> = None;
        let mut commits: FuturesUnordered<Commit<R::Batch>> = FuturesUnordered::new();
        let mut failures = 0;
        let mut looked = Instant::now() - LOOK_EVERY;
        if source.enabled {
            self.live.reading(id, true);
        }
        while !stop.is_stopped() {
            let r = match &mut reader {
                Some(r) => r,
                None => match R::connect(&source, &self).await {
                    Ok(r) => reader.insert(r),
                    Err(e) => {
                        failures += 1;
                        self.failed(&source, e);
                        stop.wait(backoff(failures), None).await;
                        continue;
                    }
                },
            };
            if looked.elapsed() >= LOOK_EVERY {
                looked = Instant::now();
                match r.lag().await {
                    Ok(lag) => self.live.lag(id, lag),
                    Err(e) => {
                        failures += 1;
                        self.failed(&source, e);
                        reader = None;
                        stop.wait(backoff(failures), None).await;
                        continue;
                    }
                }
            }
            if !source.enabled {
                self.live.running(id);
                failures = 0;
                stop.wait(LOOK_EVERY, None).await;
                continue;
            }
            if self.behind.load(std::sync::atomic::Ordering::Relaxed) {
                stop.wait(Duration::from_millis(100), None).await;
                continue;
            }
            match self.step(&source, r, &stop, &mut commits).await {
                Ok(()) => {
                    failures = 0;
                    if self.live.running(id) {
                        tracing::info!(source = %name, "source reading again");
                    }
                }
                Err(Failure::Gone) => break,
                Err(Failure::Broker(e)) => {
                    failures += 1;
                    self.failed(&source, e);
                    self.finish(r, &mut commits).await;
                    reader = None;
                    stop.wait(backoff(failures), None).await;
                }
                Err(Failure::Store) => {
                    // The store logged it and /health shows it; the batch is read again.
                    failures += 1;
                    self.finish(r, &mut commits).await;
                    stop.wait(backoff(failures), None).await;
                }
            }
        }
        if let Some(r) = &mut reader {
            self.finish(r, &mut commits).await;
        }
        self.live.remove(id);
        if source.enabled {
            self.live.reading(id, false);
        }
    }

    fn failed(&self, source: &Source, error: String) {
        if self.live.failing(source.id, error.clone()) {
            tracing::warn!(source = %source.name, url = %super::spec::redacted(&source.url),
                error = %error, "source failing; retrying with back-off");
        }
    }

    /// Settles the next commit to end: its batch acknowledged, or given back.
    async fn settled<R: Reader>(
        &self,
        r: &mut R,
        commits: &mut FuturesUnordered<Commit<R::Batch>>,
    ) -> Result<(), Failure> {
        let Some((batch, dead, stored)) = commits.next().await else {
            return Ok(());
        };
        match stored {
            Ok(stored) => {
                r.settle(batch, &dead).await.map_err(Failure::Broker)?;
                if stored.stored > 0 {
                    self.wake.due();
                }
                Ok(())
            }
            Err(StoreError::NotFound) => Err(Failure::Gone),
            Err(_) => {
                r.release(batch).await;
                Err(Failure::Store)
            }
        }
    }

    /// Waits for every commit in flight, acknowledging what was stored (errors are left to the
    /// broker's redelivery: the keys make a second read harmless).
    async fn finish<R: Reader>(&self, r: &mut R, commits: &mut FuturesUnordered<Commit<R::Batch>>) {
        while !commits.is_empty() {
            let _ = self.settled(r, commits).await;
        }
    }

    /// Settles what has finished, then reads one batch and starts its commit.
    async fn step<R: Reader>(
        &self,
        source: &Source,
        r: &mut R,
        stop: &Stop,
        commits: &mut FuturesUnordered<Commit<R::Batch>>,
    ) -> Result<(), Failure> {
        if commits.len() >= DEPTH {
            return self.settled(r, commits).await;
        }
        // With commits in flight, a read does not wait: an empty one settles a commit instead.
        let (reads, batch) = r
            .read(self.settings.batch, commits.is_empty())
            .await
            .map_err(Failure::Broker)?;
        if reads.is_empty() {
            r.release(batch).await;
            return self.settled(r, commits).await;
        }
        if stop.is_stopped() {
            // Paused, changed or shutting down while the read waited: read again later.
            r.release(batch).await;
            return Ok(());
        }
        let last = reads.last().map(|e| e.id.clone());
        let read = reads.len();
        self.metrics
            .read_here
            .with_label_values(&[&source.name])
            .inc_by(read as u64);
        let (mut events, mut dead) = (Vec::with_capacity(read), Vec::new());
        for (i, entry) in reads.into_iter().enumerate() {
            match entry.body.and_then(|v| entry::event(source, &entry.id, v)) {
                Ok(event) => events.push(event),
                Err(why) => {
                    tracing::warn!(source = %source.name, entry = %entry.id, reason = %why,
                        "source entry moved aside: it cannot be an event");
                    dead.push((i, why));
                }
            }
        }
        let tally = Tally {
            read: read as i64,
            dead: dead.len() as i64,
            last_entry: last,
        };
        let events = crate::routing::route_all(&self.store, &self.endpoints, events).await;
        let (id, store) = (source.id, self.store.clone());
        commits.push(Box::pin(async move {
            let stored = store
                .run(Op::Insert, move |s| s.ingest(id, events, &tally))
                .await;
            (batch, dead, stored)
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_a_quarter_second_to_four_seconds() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
        assert_eq!(backoff(0), Duration::from_millis(250));
    }
}
