//! Delivery attempts per time bucket on SQLite: the attempts of the window are read through the
//! `started_at` index and bucketed in Rust (SQLite has no `percentile_cont`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel::sqlite::SqliteConnection;

use super::super::StoreError;
use super::super::models::{AttemptClass, HistoryBucket, bucketize};
use super::rows::millis;

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
         CROSS JOIN messages AS m ON m.id = a.message_id
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
