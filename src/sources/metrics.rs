//! The sources' Prometheus metrics: per source, its state here, its lag, and its entries by
//! outcome (the store's counts, so every instance reports the same).

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use super::live::{Live, state_of};
use crate::db::SourceRow;

const STATES: [&str; 4] = ["running", "paused", "failing", "starting"];

#[derive(Clone)]
pub struct SourceMetrics {
    /// 1 for the state a source is in here, 0 for the others.
    pub state: IntGaugeVec,
    pub lag: IntGaugeVec,
    /// Entries by outcome: read, stored, duplicate, dead.
    pub entries: IntGaugeVec,
    /// Entries this instance read (instances that share a group split them).
    pub read_here: IntCounterVec,
}

impl SourceMetrics {
    pub fn register(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("metric names are unique");
            g
        };
        let read_here = IntCounterVec::new(
            Opts::new("source_read_total", "Entries this instance read, by source"),
            &["source"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(read_here.clone()))
            .expect("metric names are unique");
        Self {
            read_here,
            state: gauge(
                "source_state",
                "1 for the state each source is in on this instance (running, paused, failing, starting)",
                &["source", "state"],
            ),
            lag: gauge(
                "source_lag",
                "Entries in the broker not yet delivered to the source's group",
                &["source"],
            ),
            entries: gauge(
                "source_entries",
                "Entries a source read, stored, skipped as duplicates, and moved aside (dead)",
                &["source", "outcome"],
            ),
        }
    }

    /// Sets every gauge from the stored sources and this instance's readers; a deleted
    /// source's series go.
    pub fn observe(&self, rows: &[SourceRow], live: &Live) {
        self.state.reset();
        self.lag.reset();
        self.entries.reset();
        for row in rows {
            let status = live.get(row.id);
            let now = state_of(row.enabled, status.as_ref());
            for state in STATES {
                self.state
                    .with_label_values(&[&row.name, state])
                    .set(i64::from(state == now));
            }
            if let Some(lag) = status.and_then(|s| s.lag) {
                self.lag
                    .with_label_values(&[&row.name])
                    .set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
            let c = &row.counts;
            for (outcome, n) in [
                ("read", c.read),
                ("stored", c.stored),
                ("duplicate", c.duplicates),
                ("dead", c.dead),
            ] {
                self.entries.with_label_values(&[&row.name, outcome]).set(n);
            }
        }
    }
}
