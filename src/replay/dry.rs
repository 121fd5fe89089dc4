//! A replay's dry run: what it would send, counted in SQL when every target's filter compiles
//! to SQL; otherwise by walking the window as the job would (the same candidates and the same
//! [`plan`](super::plan_event)), so that the count is always what the job then sends.

use std::collections::HashSet;
use std::sync::Arc;

use crate::db::{Backend, DryRun, Enqueue, ReplayRow, StoreError};
use crate::routing::Compiled;

use super::runner::{as_targets, plan};

/// Events examined per page when walking in process.
const PAGE: u32 = 1000;

/// Counts what `job` would send to `targets`; a walk stops once it has counted more than
/// `job.max_events` events (the job would be refused anyway).
pub fn dry_run(
    store: &dyn Backend,
    job: &ReplayRow,
    targets: &[Arc<Compiled>],
) -> Result<DryRun, StoreError> {
    let sql_targets = as_targets(targets);
    if sql_targets.iter().all(|t| t.exact()) {
        return store.replay_dry_run(job, &sql_targets);
    }
    let mut walk = job.clone();
    let mut out = DryRun {
        by_endpoint: targets.iter().map(|t| (t.row.id, 0)).collect(),
        ..DryRun::default()
    };
    loop {
        let page = store.replay_candidates(&walk, &sql_targets, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        walk.cursor = Some((last.created_at, last.id));
        for event in &page {
            let sends = plan(job.mode, event, targets);
            if sends.is_empty() {
                continue;
            }
            out.count += 1;
            if out.sample.len() < 20 {
                out.sample.push(event.id);
            }
            let to: HashSet<_> = sends
                .iter()
                .filter_map(|e| match e {
                    Enqueue::Insert { endpoint, .. } => Some(*endpoint),
                    Enqueue::Reset { delivery, .. } => event
                        .deliveries
                        .iter()
                        .find(|(_, d, _)| d == delivery)
                        .map(|(p, _, _)| *p),
                })
                .collect();
            for (id, n) in &mut out.by_endpoint {
                *n += i64::from(to.contains(id));
            }
        }
        if out.count > i64::from(job.max_events) {
            return Ok(out);
        }
    }
}
