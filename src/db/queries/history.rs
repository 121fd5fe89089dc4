//! Statistics: the counts behind `/stats` and `/metrics`, the stall check's "overdue", and
//! delivery attempts per time bucket for `GET /stats/history` (aggregated in SQL over the
//! `started_at` index, with percentiles from `percentile_cont`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz};

use super::super::StoreError;
use super::super::history::HistoryBucket;
use super::super::models::StatusCounts;

/// A retryable attempt that is its message's last one, on a `failed` message, ended it: it
/// counts as failed, not retried.
const HISTORY_SQL: &str = "\
SELECT floor(EXTRACT(EPOCH FROM a.started_at - $1) * 1000 / $2)::int8 AS idx,
       count(*) FILTER (WHERE a.outcome = 'success') AS succeeded,
       count(*) FILTER (WHERE a.outcome = 'retryable'
                        AND NOT (m.status = 'failed' AND a.attempt = m.attempt_seq)) AS retried,
       count(*) FILTER (WHERE a.outcome = 'permanent'
                        OR (a.outcome = 'retryable' AND m.status = 'failed'
                            AND a.attempt = m.attempt_seq)) AS failed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms)::float8 AS p50_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY a.duration_ms)::float8 AS p99_ms
FROM delivery_attempts a JOIN deliveries m ON m.id = a.delivery_id
WHERE a.started_at >= $1
GROUP BY idx ORDER BY idx";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    idx: i64,
    #[diesel(sql_type = BigInt)]
    succeeded: i64,
    #[diesel(sql_type = BigInt)]
    retried: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = Nullable<Double>)]
    p50_ms: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p99_ms: Option<f64>,
}

pub fn history(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
    bucket: Duration,
) -> Result<Vec<HistoryBucket>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(HISTORY_SQL)
        .bind::<Timestamptz, _>(since)
        .bind::<BigInt, _>(bucket.as_millis().clamp(1, i64::MAX as u128) as i64)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryBucket {
            index: r.idx,
            succeeded: r.succeeded,
            retried: r.retried,
            failed: r.failed,
            p50_ms: r.p50_ms,
            p99_ms: r.p99_ms,
        })
        .collect())
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Double)]
    oldest_due_age: f64,
}

pub fn counts(conn: &mut PgConnection) -> Result<StatusCounts, StoreError> {
    let rows: Vec<StatusCount> = diesel::sql_query(
        "SELECT status, count(*) AS n,
                COALESCE(EXTRACT(EPOCH FROM now() - min(next_attempt_at)
                    FILTER (WHERE status = 'pending' AND next_attempt_at <= now())), 0)::float8
                    AS oldest_due_age
         FROM deliveries GROUP BY status",
    )
    .load(conn)?;
    let mut counts = StatusCounts::default();
    for row in rows {
        counts.set(&row.status, row.n);
        counts.oldest_due_age_seconds = counts.oldest_due_age_seconds.max(row.oldest_due_age);
    }
    #[derive(QueryableByName)]
    struct Recent {
        #[diesel(sql_type = BigInt)]
        ok: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
    }
    let recent: Recent = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE outcome = 'success') AS ok,
                count(*) FILTER (WHERE outcome <> 'success') AS failed
         FROM delivery_attempts WHERE started_at > now() - interval '1 minute'",
    )
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

pub fn overdue(conn: &mut PgConnection, by: std::time::Duration) -> Result<bool, StoreError> {
    #[derive(QueryableByName)]
    struct Overdue {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        overdue: bool,
    }
    // Both halves walk a partial index from its low end (the pending one per enabled
    // endpoint: a disabled endpoint's deliveries wait, they are not stalled).
    // Waiting on a pause, a breaker's cool-down or an ordering key's head is no stall either.
    let found: Overdue = diesel::sql_query(concat!(
        "SELECT (EXISTS (SELECT 1 FROM endpoints e CROSS JOIN LATERAL (
                             SELECT 1 FROM deliveries d
                             WHERE d.endpoint_id = e.id AND d.status = 'pending'
                               AND d.next_attempt_at < now() - $1 * interval '1 millisecond'
                               AND ", unblocked!("d", "e.on_failure = 'block'"), "
                             LIMIT 1) d
                         WHERE e.enabled
                           AND coalesce(e.paused_until, '-infinity') < now() - $1 * interval '1 millisecond'
                           AND coalesce(e.breaker_until, '-infinity') < now() - $1 * interval '1 millisecond')
                 OR EXISTS (SELECT 1 FROM deliveries WHERE status = 'sending'
                              AND lease_expires_at < now() - $1 * interval '1 millisecond'))
             -- Waiting while dispatch was stopped is no stall: count from the last switch.
             AND (SELECT updated_at FROM dispatch_state) < now() - $1 * interval '1 millisecond'
             AS overdue",
    ))
    .bind::<BigInt, _>(by.as_millis().min(i64::MAX as u128) as i64)
    .get_result(conn)?;
    Ok(found.overdue)
}
