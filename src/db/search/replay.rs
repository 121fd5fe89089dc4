//! The SQL a replay job runs, the same on both stores: the events after its cursor that it may
//! send (oldest first), and its dry run (how many events, how many per endpoint, the first
//! ones). Built on [`condition`](super::condition) and the targets' conditions.

use super::sql::{Bind, Sql};
use super::targets::{Target, condition as target_condition};
use super::{Search, Where, condition};
use crate::db::ReplayRow;
use crate::routing::Filter;

/// The search part of a job: its window, types and filter.
pub fn job_search(job: &ReplayRow) -> Search {
    Search {
        from: Some(job.from),
        to: job.to,
        types: job.types.clone(),
        // It passed `check_filter` when the job was made.
        filter: job.filter.as_ref().and_then(|f| Filter::parse(f).ok()),
        ..Search::default()
    }
}

/// The job's window and targets: events any target may get.
fn selection(job: &ReplayRow, targets: &[Target<'_>], sql: &mut Sql) -> Where {
    let mut w = condition(&job_search(job), sql);
    let any: Vec<String> = targets
        .iter()
        .map(|t| target_condition(job.mode, t, &mut w, sql))
        .collect();
    w.parts.push(if any.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("({})", any.join(" OR "))
    });
    w
}

/// `SELECT id, type, payload, channels, created_at` of the next `limit` events after the job's
/// cursor that a target may get, oldest first.
pub fn candidates(job: &ReplayRow, targets: &[Target<'_>], limit: u32, sql: &mut Sql) -> String {
    let mut w = selection(job, targets, sql);
    if let Some((at, id)) = job.cursor {
        let at = sql.bind(Bind::Time(at));
        let id = sql.bind(Bind::Uuid(id));
        w.parts
            .push(format!("(events.created_at, events.id) > ({at}, {id})"));
    }
    let limit = sql.bind(Bind::Int(i64::from(limit)));
    format!(
        "SELECT events.id, events.type, events.payload, events.channels, events.created_at \
         FROM events{} WHERE {} ORDER BY events.created_at, events.id LIMIT {limit}",
        w.join,
        w.sql()
    )
}

/// The dry run's statements: the events it would send, those per target (in the order given),
/// and the ids of the first 20. Exact only when every target is (see [`Target::exact`]).
pub fn dry_run(job: &ReplayRow, targets: &[Target<'_>], dialect: super::Dialect) -> DryRunSql {
    let count = |targets: &[Target<'_>]| {
        let mut sql = Sql::new(dialect);
        let w = selection(job, targets, &mut sql);
        (
            format!(
                "SELECT count(*) AS n FROM events{} WHERE {}",
                w.join,
                w.sql()
            ),
            sql,
        )
    };
    let mut sample = Sql::new(dialect);
    let w = selection(job, targets, &mut sample);
    DryRunSql {
        total: count(targets),
        per_target: targets
            .iter()
            .map(|t| count(std::slice::from_ref(t)))
            .collect(),
        sample: (
            format!(
                "SELECT events.id AS id FROM events{} WHERE {} ORDER BY events.created_at, events.id LIMIT 20",
                w.join,
                w.sql()
            ),
            sample,
        ),
    }
}

/// Each statement with its binds.
pub struct DryRunSql {
    pub total: (String, Sql),
    pub per_target: Vec<(String, Sql)>,
    pub sample: (String, Sql),
}
