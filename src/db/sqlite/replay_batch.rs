//! A replay job's batches on SQLite, as on PostgreSQL (`db::queries::replay_batch`): the events
//! after its cursor with their deliveries, one batch and the job's cursor in one transaction,
//! and the dry run.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use serde_json::json;
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::Moved;
use super::super::replays::{Candidate, DryRun, Enqueue, ReplayBatch, ReplayRow};
use super::super::search::{Dialect, Sql, Target, replay_candidates, replay_dry_run};
use super::changes::count;
use super::rows::{millis, time, uuid};
use super::search::bind_all;
use crate::domain::MessageStatus;

pub fn candidates(
    conn: &mut SqliteConnection,
    job: &ReplayRow,
    targets: &[Target<'_>],
    limit: u32,
) -> Result<Vec<Candidate>, StoreError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        r#type: String,
        #[diesel(sql_type = Text)]
        payload: String,
        #[diesel(sql_type = Nullable<Text>)]
        channels: Option<String>,
        #[diesel(sql_type = BigInt)]
        created_at: i64,
    }
    #[derive(QueryableByName)]
    struct Delivery {
        #[diesel(sql_type = Text)]
        event_id: String,
        #[diesel(sql_type = Text)]
        endpoint_id: String,
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let mut sql = Sql::new(Dialect::Sqlite);
    let text = replay_candidates(job, targets, limit, &mut sql);
    let rows: Vec<Row> = bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let deliveries: Vec<Delivery> = diesel::sql_query(
        "SELECT d.event_id, d.endpoint_id, d.id, d.status
         FROM json_each(?1) AS i CROSS JOIN deliveries d ON d.event_id = i.value",
    )
    .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
    .load(conn)?;
    let mut by_event: HashMap<String, Vec<(Uuid, Uuid, MessageStatus)>> = HashMap::new();
    for d in deliveries {
        let status = d.status.parse().unwrap_or(MessageStatus::Failed);
        let entry = (uuid(&d.endpoint_id)?, uuid(&d.id)?, status);
        by_event.entry(d.event_id).or_default().push(entry);
    }
    rows.into_iter()
        .map(|r| {
            Ok(Candidate {
                deliveries: by_event.remove(&r.id).unwrap_or_default(),
                id: uuid(&r.id)?,
                event_type: r.r#type,
                payload: serde_json::from_str(&r.payload).unwrap_or_default(),
                channels: r
                    .channels
                    .and_then(|c| serde_json::from_str(&c).ok())
                    .unwrap_or_default(),
                created_at: time(r.created_at),
            })
        })
        .collect()
}

/// As on PostgreSQL: `None` when the job is no longer `owner`'s to run.
pub fn apply(
    conn: &mut SqliteConnection,
    job: Uuid,
    owner: &str,
    lease: Duration,
    batch: &ReplayBatch,
) -> Result<Option<i64>, StoreError> {
    conn.immediate_transaction(|conn| {
        #[derive(QueryableByName)]
        struct Held {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        // A count, read as a row: SQLite's `execute` of a SELECT reports the changes of the
        // last write, not rows found.
        let held: Held = diesel::sql_query(
            "SELECT count(*) AS n FROM replays
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
        )
        .bind::<Text, _>(job.to_string())
        .bind::<Text, _>(owner)
        .get_result(conn)?;
        if held.n == 0 {
            return Ok(None);
        }
        let now = millis(Utc::now());
        let inserted = insert(conn, job, &batch.enqueue, now)?;
        let reset = reset(conn, job, &batch.enqueue, now)?;
        let enqueued = (inserted + reset) as i64;
        diesel::sql_query(
            "UPDATE replays SET cursor_at = ?2, cursor_id = ?3, examined = examined + ?4,
                    enqueued = enqueued + ?5, updated_at = ?6, lease_expires_at = ?6 + ?7
             WHERE id = ?1",
        )
        .bind::<Text, _>(job.to_string())
        .bind::<BigInt, _>(millis(batch.cursor.0))
        .bind::<Text, _>(batch.cursor.1.to_string())
        .bind::<BigInt, _>(batch.examined)
        .bind::<BigInt, _>(enqueued)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(lease.as_millis() as i64)
        .execute(conn)?;
        Ok(Some(enqueued))
    })
}

/// As on PostgreSQL: one event's replay, its job row and what it enqueues, in one transaction.
pub fn replay_event(
    conn: &mut SqliteConnection,
    job: &ReplayRow,
    enqueue: &[Enqueue],
) -> Result<i64, StoreError> {
    conn.immediate_transaction(|conn| {
        super::replays::create(conn, job)?;
        let now = millis(Utc::now());
        let enqueued =
            (insert(conn, job.id, enqueue, now)? + reset(conn, job.id, enqueue, now)?) as i64;
        diesel::sql_query(
            "UPDATE replays SET examined = 1, enqueued = ?2, finished_at = ?3 WHERE id = ?1",
        )
        .bind::<Text, _>(job.id.to_string())
        .bind::<BigInt, _>(enqueued)
        .bind::<BigInt, _>(now)
        .execute(conn)?;
        Ok(enqueued)
    })
}

fn insert(
    conn: &mut SqliteConnection,
    job: Uuid,
    enqueue: &[Enqueue],
    now: i64,
) -> Result<usize, StoreError> {
    let rows: Vec<serde_json::Value> = enqueue
        .iter()
        .filter_map(|e| match e {
            Enqueue::Insert {
                event,
                endpoint,
                ordering_key,
            } => Some(
                json!({"id": Uuid::now_v7().to_string(), "event": event.to_string(),
                             "endpoint": endpoint.to_string(), "key": ordering_key}),
            ),
            Enqueue::Reset { .. } => None,
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Made {
        #[diesel(sql_type = Text)]
        event_id: String,
    }
    let made: Vec<Made> = diesel::sql_query(
        "INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at, created_at, updated_at,
                                 ordering_key, replay_id, replay_after)
         SELECT value ->> 'id', value ->> 'event', value ->> 'endpoint', ?2, ?2, ?2,
                value ->> 'key', ?3, 0
         FROM json_each(?1) WHERE true
         ON CONFLICT (event_id, endpoint_id) DO NOTHING
         RETURNING event_id",
    )
    .bind::<Text, _>(serde_json::Value::from(rows).to_string())
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(job.to_string())
    .load(conn)?;
    let mut per_event: HashMap<&str, i64> = HashMap::new();
    for m in &made {
        *per_event.entry(m.event_id.as_str()).or_default() += 1;
    }
    let counts: Vec<serde_json::Value> = per_event
        .iter()
        .map(|(id, n)| json!({"id": id, "n": n}))
        .collect();
    diesel::sql_query(
        "UPDATE events SET deliveries = deliveries + c.n, open = open + c.n, updated_at = ?2
         FROM (SELECT value ->> 'id' AS id, value ->> 'n' AS n FROM json_each(?1)) AS c
         WHERE events.id = c.id",
    )
    .bind::<Text, _>(serde_json::Value::from(counts).to_string())
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(made.len())
}

fn reset(
    conn: &mut SqliteConnection,
    job: Uuid,
    enqueue: &[Enqueue],
    now: i64,
) -> Result<usize, StoreError> {
    let ids: Vec<String> = enqueue
        .iter()
        .filter_map(|e| match e {
            Enqueue::Reset { delivery, .. } => Some(delivery.to_string()),
            Enqueue::Insert { .. } => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Was {
        #[diesel(sql_type = Text)]
        event_id: String,
        #[diesel(sql_type = Text)]
        status: String,
    }
    // The one writer: what is read here is what the update changes.
    let was: Vec<Was> = diesel::sql_query(
        "SELECT event_id, status FROM deliveries
         WHERE id IN (SELECT value FROM json_each(?1)) AND status IN ('sent', 'failed', 'cancelled')",
    )
    .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
    .load(conn)?;
    diesel::sql_query(
        "UPDATE deliveries
         SET status = 'pending', attempts = 0, next_attempt_at = ?2, updated_at = ?2,
             replay_id = ?3, replay_after = attempt_seq
         WHERE id IN (SELECT value FROM json_each(?1)) AND status IN ('sent', 'failed', 'cancelled')",
    )
    .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(job.to_string())
    .execute(conn)?;
    let moves = was
        .iter()
        .map(|w| {
            let from = w.status.parse().unwrap_or(MessageStatus::Failed);
            Ok(Moved::of(
                uuid(&w.event_id)?,
                from,
                MessageStatus::Pending,
                false,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    count(conn, &Moved::summed(moves))?;
    Ok(was.len())
}

pub fn dry_run(
    conn: &mut SqliteConnection,
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
        #[diesel(sql_type = Text)]
        id: String,
    }
    let plan = replay_dry_run(job, targets, Dialect::Sqlite);
    let run = |conn: &mut SqliteConnection,
               (text, sql): (String, Sql)|
     -> Result<i64, StoreError> {
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
        sample: sample
            .iter()
            .map(|i| uuid(&i.id))
            .collect::<Result<_, _>>()?,
    })
}
