//! [`Pruner`]: retention. Every `RETENTION_INTERVAL` it deletes the events older than
//! `EVENT_RETENTION` (by the database's clock), with their deliveries and attempts, a thousand
//! at a time with a pause between batches, so that it never holds a long lock nor crowds out
//! the queue. An event with a delivery still on its way is kept (see `db::RetentionStore`).

use std::sync::Arc;
use std::time::Duration;

use crate::db::{Op, Pruned, Store, StoreError};
use crate::monitor::{Monitor, Stop};

/// Events per batch (one short statement each).
const BATCH: u32 = 1000;
/// The pause between two batches of one pass.
const BREATHE: Duration = Duration::from_millis(20);

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
            tokio::time::sleep(BREATHE).await;
        }
    }
}
