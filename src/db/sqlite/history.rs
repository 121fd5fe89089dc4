//! Statistics on SQLite: the counts behind `/stats`, and delivery attempts per time bucket (the
//! window's attempts are read through the `started_at` index and bucketed in Rust: SQLite has
//! no `percentile_cont`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;

use super::super::StoreError;
use super::super::history::{AttemptClass, HistoryBucket, bucketize};
use super::super::models::StatusCounts;
use super::rows::{millis, time};

#[derive(QueryableByName)]
struct Sample {
    #[diesel(sql_type = BigInt)]
    offset: i64,
    /// 0 succeeded, 1 retried, 2 failed (as on PostgreSQL: the last retryable attempt of a
    /// `failed` message ended it).
    #[diesel(sql_type = Integer)]
    class: i32,
    #[diesel(sql_type = Integer)]
    duration_ms: i32,
}

pub fn history(
    conn: &mut SqliteConnection,
    since: DateTime<Utc>,
    bucket: Duration,
) -> Result<Vec<HistoryBucket>, StoreError> {
    let samples: Vec<Sample> = diesel::sql_query(
        "SELECT a.started_at - ?1 AS offset, a.duration_ms AS duration_ms,
                CASE WHEN a.outcome = 'success' THEN 0
                     WHEN a.outcome = 'permanent'
                       OR (m.status = 'failed' AND a.attempt = m.attempt_seq) THEN 2
                     ELSE 1 END AS class
         FROM delivery_attempts AS a INDEXED BY delivery_attempts_started
         CROSS JOIN deliveries AS m ON m.id = a.delivery_id
         WHERE a.started_at >= ?1",
    )
    .bind::<BigInt, _>(millis(since))
    .load(conn)?;
    let samples: Vec<(i64, AttemptClass, i32)> = samples
        .into_iter()
        .map(|s| {
            let class = match s.class {
                0 => AttemptClass::Succeeded,
                1 => AttemptClass::Retried,
                _ => AttemptClass::Failed,
            };
            (s.offset, class, s.duration_ms)
        })
        .collect();
    Ok(bucketize(
        &samples,
        bucket.as_millis().clamp(1, i64::MAX as u128) as i64,
    ))
}

pub fn counts(conn: &mut SqliteConnection) -> Result<StatusCounts, StoreError> {
    #[derive(QueryableByName)]
    struct StatusCount {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        oldest_due: Option<i64>,
    }
    let now = millis(Utc::now());
    let rows: Vec<StatusCount> = diesel::sql_query(
        "SELECT status, count(*) AS n,
                min(CASE WHEN status = 'pending' AND next_attempt_at <= ?1
                         THEN next_attempt_at END) AS oldest_due
         FROM deliveries GROUP BY status",
    )
    .bind::<BigInt, _>(now)
    .load(conn)?;
    let mut counts = StatusCounts::default();
    for row in rows {
        counts.set(&row.status, row.n);
        if let Some(due) = row.oldest_due {
            let age = (time(now) - time(due)).as_seconds_f64().max(0.0);
            counts.oldest_due_age_seconds = counts.oldest_due_age_seconds.max(age);
        }
    }
    #[derive(QueryableByName)]
    struct Recent {
        #[diesel(sql_type = BigInt)]
        ok: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
    }
    let recent: Recent = diesel::sql_query(
        "SELECT coalesce(sum(outcome = 'success'), 0) AS ok,
                coalesce(sum(outcome <> 'success'), 0) AS failed
         FROM delivery_attempts WHERE started_at > ?1",
    )
    .bind::<BigInt, _>(now - 60_000)
    .get_result(conn)?;
    counts.deliveries_last_minute = recent.ok;
    counts.failures_last_minute = recent.failed;
    #[derive(QueryableByName)]
    struct EventCount {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let events: Vec<EventCount> =
        diesel::sql_query("SELECT status, count(*) AS n FROM events GROUP BY status").load(conn)?;
    for e in events {
        counts.events.set(&e.status, e.n);
    }
    Ok(counts)
}
