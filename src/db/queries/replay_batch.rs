//! A replay job's batches on PostgreSQL: the events after its cursor that it may send, with
//! their deliveries; one batch written in one transaction with the job's cursor, under its
//! lease (so a crash or a lost lease writes nothing, and no event is enqueued twice); and the
//! dry run.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::Moved;
use super::super::replays::{Candidate, DryRun, Enqueue, ReplayBatch, ReplayRow};
use super::super::search::{Dialect, Sql, Target, replay_candidates, replay_dry_run};
use super::changes::{count, lock_events, parse_channels};
use super::search::bind_all;
use crate::domain::MessageStatus;

pub fn candidates(
    conn: &mut PgConnection,
    job: &ReplayRow,
    targets: &[Target<'_>],
    limit: u32,
) -> Result<Vec<Candidate>, StoreError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        r#type: String,
        #[diesel(sql_type = Text)]
        payload: String,
        #[diesel(sql_type = Nullable<Text>)]
        channels: Option<String>,
        #[diesel(sql_type = Timestamptz)]
        created_at: DateTime<Utc>,
    }
    #[derive(QueryableByName)]
    struct Delivery {
        #[diesel(sql_type = SqlUuid)]
        event_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        endpoint_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let mut sql = Sql::new(Dialect::Postgres);
    let text = replay_candidates(job, targets, limit, &mut sql);
    let rows: Vec<Row> = bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).load(conn)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let deliveries: Vec<Delivery> = diesel::sql_query(
        "SELECT event_id, endpoint_id, id, status FROM deliveries WHERE event_id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)?;
    let mut by_event: HashMap<Uuid, Vec<(Uuid, Uuid, MessageStatus)>> = HashMap::new();
    for d in deliveries {
        let status = d.status.parse().unwrap_or(MessageStatus::Failed);
        by_event
            .entry(d.event_id)
            .or_default()
            .push((d.endpoint_id, d.id, status));
    }
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            deliveries: by_event.remove(&r.id).unwrap_or_default(),
            id: r.id,
            event_type: r.r#type,
            payload: serde_json::from_str(&r.payload).unwrap_or_default(),
            channels: parse_channels(r.channels.as_deref()),
            created_at: r.created_at,
        })
        .collect())
}

/// Writes `batch` if `owner` still holds the running job, renewing the lease: the deliveries
/// it enqueues, their events' counters, and the job's cursor and counts, in one transaction.
/// `None` when the job is no longer `owner`'s to run (paused, cancelled, or leased elsewhere).
pub fn apply(
    conn: &mut PgConnection,
    job: Uuid,
    owner: &str,
    lease: Duration,
    batch: &ReplayBatch,
) -> Result<Option<i64>, StoreError> {
    conn.transaction(|conn| {
        let held = diesel::sql_query(
            "SELECT 1 FROM replays WHERE id = $1 AND lease_owner = $2 AND status = 'running'
             FOR UPDATE",
        )
        .bind::<SqlUuid, _>(job)
        .bind::<Text, _>(owner)
        .execute(conn)?;
        if held == 0 {
            return Ok(None);
        }
        let mut events: Vec<Uuid> = batch
            .enqueue
            .iter()
            .map(|e| match e {
                Enqueue::Insert { event, .. } | Enqueue::Reset { event, .. } => *event,
            })
            .collect();
        events.sort();
        events.dedup();
        lock_events(conn, &events)?;
        let inserted = insert(conn, job, &batch.enqueue)?;
        let reset = reset(conn, job, &batch.enqueue)?;
        let enqueued = (inserted + reset) as i64;
        diesel::sql_query(
            "UPDATE replays SET cursor_at = $2, cursor_id = $3, examined = examined + $4,
                    enqueued = enqueued + $5, updated_at = now(),
                    lease_expires_at = now() + $6 * interval '1 millisecond'
             WHERE id = $1",
        )
        .bind::<SqlUuid, _>(job)
        .bind::<Timestamptz, _>(batch.cursor.0)
        .bind::<SqlUuid, _>(batch.cursor.1)
        .bind::<BigInt, _>(batch.examined)
        .bind::<BigInt, _>(enqueued)
        .bind::<BigInt, _>(lease.as_millis() as i64)
        .execute(conn)?;
        Ok(Some(enqueued))
    })
}

/// A replay of one event, done at once: the job's row (already `done`) and what it enqueues,
/// in one transaction; the deliveries enqueued.
pub fn replay_event(
    conn: &mut PgConnection,
    job: &ReplayRow,
    enqueue: &[Enqueue],
) -> Result<i64, StoreError> {
    conn.transaction(|conn| {
        super::replays::create(conn, job)?;
        let mut events: Vec<Uuid> = enqueue
            .iter()
            .map(|e| match e {
                Enqueue::Insert { event, .. } | Enqueue::Reset { event, .. } => *event,
            })
            .collect();
        events.dedup();
        lock_events(conn, &events)?;
        let enqueued = (insert(conn, job.id, enqueue)? + reset(conn, job.id, enqueue)?) as i64;
        diesel::sql_query(
            "UPDATE replays SET examined = 1, enqueued = $2, finished_at = now() WHERE id = $1",
        )
        .bind::<SqlUuid, _>(job.id)
        .bind::<BigInt, _>(enqueued)
        .execute(conn)?;
        Ok(enqueued)
    })
}

/// New deliveries (one per event and endpoint at most: the unique index has the last word),
/// and their events' counters.
fn insert(conn: &mut PgConnection, job: Uuid, enqueue: &[Enqueue]) -> Result<usize, StoreError> {
    let (mut events, mut endpoints, mut keys) = (vec![], vec![], vec![]);
    for e in enqueue {
        if let Enqueue::Insert {
            event,
            endpoint,
            ordering_key,
        } = e
        {
            events.push(*event);
            endpoints.push(*endpoint);
            keys.push(ordering_key.as_deref());
        }
    }
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    #[derive(QueryableByName)]
    struct Made {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let made: Made = diesel::sql_query(
        "WITH made AS (
             INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at, ordering_key,
                                     replay_id, replay_after)
             SELECT d, e, p, now(), k, $5, 0
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS t(d, e, p, k)
             ON CONFLICT (event_id, endpoint_id) DO NOTHING
             RETURNING event_id
         ), counted AS (
             UPDATE events ev SET deliveries = ev.deliveries + m.n, open = ev.open + m.n,
                    updated_at = now()
             FROM (SELECT event_id, count(*)::int4 AS n FROM made GROUP BY event_id) AS m
             WHERE ev.id = m.event_id
             RETURNING m.n
         )
         SELECT coalesce(sum(n), 0)::int8 AS n FROM counted",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&events)
    .bind::<Array<SqlUuid>, _>(&endpoints)
    .bind::<Array<Nullable<Text>>, _>(&keys)
    .bind::<SqlUuid, _>(job)
    .get_result(conn)?;
    Ok(made.n as usize)
}

/// Ended deliveries back to pending (only those still ended), history kept, and their events'
/// counters moved as a retry moves them.
fn reset(conn: &mut PgConnection, job: Uuid, enqueue: &[Enqueue]) -> Result<usize, StoreError> {
    let ids: Vec<Uuid> = enqueue
        .iter()
        .filter_map(|e| match e {
            Enqueue::Reset { delivery, .. } => Some(*delivery),
            Enqueue::Insert { .. } => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Was {
        #[diesel(sql_type = SqlUuid)]
        event_id: Uuid,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let was: Vec<Was> = diesel::sql_query(
        "WITH old AS (
             SELECT id, status FROM deliveries
             WHERE id = ANY($1) AND status IN ('sent', 'failed', 'cancelled') FOR UPDATE
         )
         UPDATE deliveries d
         SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now(),
             replay_id = $2, replay_after = d.attempt_seq
         FROM old WHERE d.id = old.id
         RETURNING d.event_id, old.status",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<SqlUuid, _>(job)
    .load(conn)?;
    let moves = was.iter().map(|w| {
        let from = w.status.parse().unwrap_or(MessageStatus::Failed);
        Moved::of(w.event_id, from, MessageStatus::Pending, false)
    });
    count(conn, &Moved::summed(moves))?;
    Ok(was.len())
}

pub fn dry_run(
    conn: &mut PgConnection,
    job: &ReplayRow,
    targets: &[Target<'_>],
) -> Result<DryRun, StoreError> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let plan = replay_dry_run(job, targets, Dialect::Postgres);
    let run = |conn: &mut PgConnection, (text, sql): (String, Sql)| -> Result<i64, StoreError> {
        let n: N = bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).get_result(conn)?;
        Ok(n.n)
    };
    let count = run(conn, plan.total)?;
    let mut by_endpoint = Vec::new();
    for (t, q) in targets.iter().zip(plan.per_target) {
        by_endpoint.push((t.id, run(conn, q)?));
    }
    let (text, sql) = plan.sample;
    let sample: Vec<Id> = bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).load(conn)?;
    Ok(DryRun {
        count,
        by_endpoint,
        sample: sample.into_iter().map(|i| i.id).collect(),
    })
}
