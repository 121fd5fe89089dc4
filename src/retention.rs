//! [`Pruner`]: retention. Every `RETENTION_INTERVAL` it deletes the events older than
//! `EVENT_RETENTION` (by the database's clock), with their deliveries and attempts, a thousand
//! at a time, resting nine times as long as each batch took, so that it never holds a long lock
//! nor crowds out the queue. An event with a delivery still on its way is kept (see `db::RetentionStore`).

use std::sync::Arc;
use std::time::Duration;

use crate::db::{Op, Pruned, Store, StoreError};
use crate::monitor::{Monitor, Stop};

/// Events per batch (one short statement each).
const BATCH: u32 = 1000;
/// The share of the time a pass spends deleting; it rests the rest. Measured: pruning flat
/// out (a 20 ms pause between batches) cost a concurrent drain 32 % (BENCHMARKS.md).
const DUTY: f64 = 0.1;

/// The rest after a batch that took `took`, so that deleting is `DUTY` of the pass's time.
pub fn rest_after(took: Duration) -> Duration {
    took.mul_f64((1.0 - DUTY) / DUTY)
        .clamp(Duration::from_millis(20), Duration::from_secs(10))
}

pub struct Pruner {
    pub store: Store,
    pub keep: Duration,
    pub every: Duration,
    pub monitor: Arc<Monitor>,
    pub stop: Arc<Stop>,
}

impl Pruner {
    pub fn spawn(self) {
        actix_rt::spawn(self.run());
    }

    async fn run(self) {
        let mut failing = false;
        while !self.stop.is_stopped() {
            match self.pass().await {
                Ok(pruned) => {
                    if failing {
                        tracing::info!("retention runs again");
                        failing = false;
                    }
                    if pruned.events > 0 {
                        tracing::info!(
                            events = pruned.events,
                            deliveries = pruned.deliveries,
                            attempts = pruned.attempts,
                            "old events pruned"
                        );
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %crate::monitor::chain(&e), "retention failed; retrying at the next interval");
                        failing = true;
                    }
                }
            }
            if self.stop.wait(self.every, None).await {
                return;
            }
        }
    }

    /// Prunes batch after batch until a batch comes back short.
    async fn pass(&self) -> Result<Pruned, StoreError> {
        let keep = chrono::Duration::from_std(self.keep).unwrap_or(chrono::Duration::MAX);
        let mut total = Pruned::default();
        loop {
            let started = std::time::Instant::now();
            let pruned = self
                .store
                .run(Op::Change, move |s| {
                    let before = s.now()?.checked_sub_signed(keep).unwrap_or_default();
                    s.prune(before, BATCH)
                })
                .await?;
            let metrics = &self.monitor.metrics;
            for (table, n) in [
                ("events", pruned.events),
                ("deliveries", pruned.deliveries),
                ("attempts", pruned.attempts),
            ] {
                metrics.pruned.with_label_values(&[table]).inc_by(n as u64);
            }
            total.events += pruned.events;
            total.deliveries += pruned.deliveries;
            total.attempts += pruned.attempts;
            if pruned.events < i64::from(BATCH) {
                return Ok(total);
            }
            tokio::time::sleep(rest_after(started.elapsed())).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_deletes_a_tenth_of_the_time_and_rests_within_bounds() {
        assert_eq!(
            rest_after(Duration::from_millis(50)),
            Duration::from_millis(450)
        );
        assert_eq!(rest_after(Duration::ZERO), Duration::from_millis(20));
        assert_eq!(rest_after(Duration::from_secs(5)), Duration::from_secs(10));
    }
}
