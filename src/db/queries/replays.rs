//! Replay jobs' rows on PostgreSQL: made, read, moved by the API (pause, resume, cancel), leased
//! by one instance at a time, ended, and their progress counted from their deliveries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use uuid::Uuid;

use super::super::StoreError;
use super::super::replays::{ReplayProgress, ReplayRow, ReplayStatus};
use crate::replay::Mode;

const COLUMNS: &str = "id, endpoint_id, from_at, to_at, types, filter, mode, rate_per_sec, \
    max_events, status, planned, examined, enqueued, cursor_at, cursor_id, error, created_at, \
    updated_at, finished_at";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    endpoint_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    from_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    to_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    types: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    filter: Option<String>,
    #[diesel(sql_type = Text)]
    mode: String,
    #[diesel(sql_type = Nullable<Double>)]
    rate_per_sec: Option<f64>,
    #[diesel(sql_type = Integer)]
    max_events: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    planned: i64,
    #[diesel(sql_type = BigInt)]
    examined: i64,
    #[diesel(sql_type = BigInt)]
    enqueued: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    cursor_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    cursor_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
}

impl Row {
    fn into_job(self) -> ReplayRow {
        ReplayRow {
            id: self.id,
            endpoint_id: self.endpoint_id,
            from: self.from_at,
            to: self.to_at,
            types: self
                .types
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            filter: self.filter.and_then(|f| serde_json::from_str(&f).ok()),
            // The table's checks hold only known modes and statuses.
            mode: Mode::parse(&self.mode).unwrap_or(Mode::Failed),
            rate_per_sec: self.rate_per_sec,
            max_events: self.max_events.max(0) as u32,
            status: ReplayStatus::parse(&self.status).unwrap_or(ReplayStatus::Failed),
            planned: self.planned,
            examined: self.examined,
            enqueued: self.enqueued,
            cursor: self.cursor_at.zip(self.cursor_id),
            error: self.error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        }
    }
}

pub fn create(conn: &mut PgConnection, job: &ReplayRow) -> Result<ReplayRow, StoreError> {
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO replays (id, endpoint_id, from_at, to_at, types, filter, mode, rate_per_sec,
                              max_events, status, planned)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(job.id)
    .bind::<Nullable<SqlUuid>, _>(job.endpoint_id)
    .bind::<Timestamptz, _>(job.from)
    .bind::<Nullable<Timestamptz>, _>(job.to)
    .bind::<Nullable<Text>, _>(
        (!job.types.is_empty()).then(|| serde_json::Value::from(job.types.clone()).to_string()),
    )
    .bind::<Nullable<Text>, _>(job.filter.as_ref().map(|f| f.to_string()))
    .bind::<Text, _>(job.mode.as_str())
    .bind::<Nullable<Double>, _>(job.rate_per_sec)
    .bind::<Integer, _>(job.max_events as i32)
    .bind::<Text, _>(job.status.as_str())
    .bind::<BigInt, _>(job.planned)
    .get_result(conn)?;
    Ok(row.into_job())
}

pub fn list(conn: &mut PgConnection, limit: u32) -> Result<Vec<ReplayRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM replays ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind::<BigInt, _>(i64::from(limit))
    .load(conn)?;
    Ok(rows.into_iter().map(Row::into_job).collect())
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<ReplayRow, StoreError> {
    let row: Option<Row> =
        diesel::sql_query(format!("SELECT {COLUMNS} FROM replays WHERE id = $1"))
            .bind::<SqlUuid, _>(id)
            .get_result(conn)
            .optional()?;
    row.map(Row::into_job).ok_or(StoreError::NotFound)
}

/// `from` → `to`; a paused or final job lets its lease go.
pub fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    from: &[ReplayStatus],
    to: ReplayStatus,
) -> Result<ReplayRow, StoreError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE replays SET status = $3, updated_at = now(),
                lease_owner = CASE WHEN $3 = 'running' THEN lease_owner END,
                lease_expires_at = CASE WHEN $3 = 'running' THEN lease_expires_at END,
                finished_at = CASE WHEN $3 IN ('done', 'cancelled', 'failed') THEN now() END
         WHERE id = $1 AND status = ANY($2) RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Array<Text>, _>(&from)
    .bind::<Text, _>(to.as_str())
    .get_result(conn)
    .optional()?;
    match row {
        Some(row) => Ok(row.into_job()),
        None => {
            let now = get(conn, id)?;
            Err(StoreError::Conflict(format!(
                "the replay is {}; it cannot become {}",
                now.status.as_str(),
                to.as_str()
            )))
        }
    }
}

/// The oldest running job whose lease is free, expired or `owner`'s, leased to `owner`.
pub fn lease(
    conn: &mut PgConnection,
    owner: &str,
    lease: Duration,
) -> Result<Option<ReplayRow>, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE replays SET lease_owner = $1,
                lease_expires_at = now() + $2 * interval '1 millisecond', updated_at = now()
         WHERE id = (SELECT id FROM replays
                     WHERE status = 'running'
                       AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < now())
                     ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(owner)
    .bind::<BigInt, _>(lease.as_millis() as i64)
    .get_result(conn)
    .optional()?;
    Ok(row.map(Row::into_job))
}

/// Ends a running job that `owner` holds; whether it did.
pub fn end(
    conn: &mut PgConnection,
    id: Uuid,
    owner: &str,
    status: ReplayStatus,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let n = diesel::sql_query(
        "UPDATE replays SET status = $3, error = $4, finished_at = now(), updated_at = now(),
                lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(owner)
    .bind::<Text, _>(status.as_str())
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)?;
    Ok(n == 1)
}

pub fn progress(conn: &mut PgConnection, id: Uuid) -> Result<ReplayProgress, StoreError> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        open: i64,
        #[diesel(sql_type = BigInt)]
        sent: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
    }
    let c: Counts = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')) AS open,
                count(*) FILTER (WHERE status = 'sent') AS sent,
                count(*) FILTER (WHERE status = 'failed') AS failed
         FROM deliveries WHERE replay_id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(conn)?;
    Ok(ReplayProgress {
        open: c.open,
        succeeded: c.sent,
        failed: c.failed,
    })
}
