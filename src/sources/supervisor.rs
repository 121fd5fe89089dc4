//! [`Supervisor`]: each instance's one loop over the sources. About every second (and at once
//! when the API rings its bell) it reads the sources and makes the readers match: one for each
//! source, started again when the source changes (a pause or a resume is a change), stopped
//! when it is deleted. A paused source's reader only watches its lag. Stopping a reader leaves
//! its stream and group as they are.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use super::nats::NatsStream;
use super::redis_stream::RedisStream;
use super::runner::Runner;
use super::spec::{Kind, SourceInput};
use crate::db::{Op, SourceRow};
use crate::monitor::Stop;

const LOOK_EVERY: Duration = Duration::from_secs(1);

pub struct Supervisor {
    pub runner: Runner,
    /// Set at shutdown: every reader stops.
    pub stop: Arc<Stop>,
    /// Rung by the API after a change to a source.
    pub bell: Arc<Notify>,
}

/// A reader running: the version of its source it reads, and how to stop it.
struct Reading {
    updated_at: DateTime<Utc>,
    stop: Arc<Stop>,
}

impl Supervisor {
    pub fn spawn(self) {
        actix_rt::spawn(self.run());
    }

    async fn run(self) {
        let mut reading = HashMap::new();
        while !self.stop.is_stopped() {
            // A failure is logged by the store, and tried again a second later.
            if let Ok(rows) = self.runner.store.run(Op::Read, |s| s.sources()).await {
                self.sync(&rows, &mut reading);
                if rows.iter().any(|r| r.enabled) {
                    self.backlog().await;
                }
            }
            if self.stop.wait(LOOK_EVERY, Some(&self.bell)).await {
                break;
            }
        }
        for r in reading.values() {
            r.stop.stop();
        }
    }

    /// Whether more deliveries are pending than `SOURCE_MAX_BACKLOG`, for every reader here;
    /// logged when it changes. A failed count leaves it as it was.
    async fn backlog(&self) {
        let max = self.runner.settings.max_backlog;
        let Ok(counts) = self.runner.store.run(Op::Counts, |s| s.counts()).await else {
            return;
        };
        let now = u64::try_from(counts.pending).unwrap_or(0) > max;
        if self.runner.behind.swap(now, Ordering::Relaxed) != now {
            tracing::info!(
                pending = counts.pending,
                max_backlog = max,
                reading = !now,
                "sources back-pressure (SOURCE_MAX_BACKLOG)"
            );
        }
    }

    fn sync(&self, rows: &[SourceRow], reading: &mut HashMap<Uuid, Reading>) {
        reading.retain(|id, r| {
            let keep = rows
                .iter()
                .any(|row| row.id == *id && row.updated_at == r.updated_at);
            if !keep {
                r.stop.stop();
            }
            keep
        });
        for row in rows {
            if reading.contains_key(&row.id) {
                continue;
            }
            let source = match SourceInput::of_row(row).parse(row.id) {
                Ok(source) => source,
                Err(e) => {
                    // Checked when written; a row that no longer parses is shown, not read.
                    if self.runner.live.failing(row.id, e.clone()) {
                        tracing::warn!(source = %row.name, error = %e, "source cannot be read");
                    }
                    continue;
                }
            };
            let stop = Arc::new(Stop::default());
            let runner = self.runner.clone();
            tracing::info!(source = %source.name, kind = source.kind.as_str(),
                url = %super::spec::redacted(&source.url), stream = %source.stream,
                group = %source.group, "source reader starting");
            match source.kind {
                Kind::RedisStream => {
                    actix_rt::spawn(runner.run::<RedisStream>(source, Arc::clone(&stop)))
                }
                Kind::NatsJetStream => {
                    actix_rt::spawn(runner.run::<NatsStream>(source, Arc::clone(&stop)))
                }
            };
            reading.insert(
                row.id,
                Reading {
                    updated_at: row.updated_at,
                    stop,
                },
            );
        }
    }
}
