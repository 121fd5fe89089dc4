//! One source's reading loop, the same for every broker: read a batch, make each entry an
//! event (or a dead entry), route the batch and store it in one commit, and only then
//! acknowledge it. A broker that fails is retried with [`backoff`], logged once per outage;
//! reading pauses while delivery is [`behind`](Runner::behind).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::entry;
use super::live::Live;
use super::spec::Source;
use crate::actors::continuous::Wake;
use crate::config::SourceSettings;
use crate::db::{Op, Store, StoreError, Tally};
use crate::monitor::Stop;
use crate::routing::Endpoints;

/// How often a reader asks its broker for the lag, and the store for the backlog.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// One entry as read: its id in the broker, and its content as JSON or why it has none.
pub struct Read {
    pub id: String,
    pub body: Result<serde_json::Value, String>,
}

/// A broker's side of the loop. `settle` and `release` act on the batch `read` last returned.
pub(crate) trait Reader: Sized {
    async fn connect(source: &Source, runner: &Runner) -> Result<Self, String>;
    /// At most `n` entries; none when none came within about a second.
    async fn read(&mut self, n: usize) -> Result<Vec<Read>, String>;
    /// After the batch's commit: the entries at `dead` (index, reason) moved aside, and every
    /// entry of the batch acknowledged.
    async fn settle(&mut self, dead: &[(usize, String)]) -> Result<(), String>;
    /// The batch was not stored: it is to be read again.
    async fn release(&mut self);
    /// Entries not yet delivered to the group.
    async fn lag(&mut self) -> Result<Option<u64>, String>;
}

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
        let mut failures = 0;
        let mut looked = Instant::now() - LOOK_EVERY;
        let mut behind = false;
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
                if source.enabled {
                    behind = self.behind(&name, behind).await;
                }
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
            if behind {
                stop.wait(LOOK_EVERY, None).await;
                continue;
            }
            match self.step(&source, r, &stop).await {
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
                    reader = None;
                    stop.wait(backoff(failures), None).await;
                }
                Err(Failure::Store) => {
                    // The store logged it and /health shows it; the batch is read again.
                    failures += 1;
                    stop.wait(backoff(failures), None).await;
                }
            }
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

    /// Whether more deliveries are pending than `SOURCE_MAX_BACKLOG`; logged when it changes.
    async fn behind(&self, name: &str, was: bool) -> bool {
        let max = self.settings.max_backlog;
        let Ok(counts) = self.store.run(Op::Counts, |s| s.counts()).await else {
            return was;
        };
        let now = u64::try_from(counts.pending).unwrap_or(0) > max;
        if now != was {
            tracing::info!(source = %name, pending = counts.pending, max_backlog = max,
                reading = !now, "source back-pressure (SOURCE_MAX_BACKLOG)");
        }
        now
    }

    async fn step<R: Reader>(
        &self,
        source: &Source,
        r: &mut R,
        stop: &Stop,
    ) -> Result<(), Failure> {
        let reads = r.read(self.settings.batch).await.map_err(Failure::Broker)?;
        if stop.is_stopped() && !reads.is_empty() {
            // Paused, changed or shutting down while the read waited: read again later.
            r.release().await;
            return Ok(());
        }
        let Some(last) = reads.last().map(|e| e.id.clone()) else {
            return Ok(());
        };
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
            last_entry: Some(last),
        };
        let events = crate::routing::route_all(&self.store, &self.endpoints, events).await;
        let id = source.id;
        let stored = self
            .store
            .run(Op::Insert, move |s| s.ingest(id, events, &tally))
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(StoreError::NotFound) => return Err(Failure::Gone),
            Err(_) => {
                r.release().await;
                return Err(Failure::Store);
            }
        };
        r.settle(&dead).await.map_err(Failure::Broker)?;
        if stored.stored > 0 {
            self.wake.due();
        }
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
