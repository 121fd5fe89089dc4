//! Replay jobs' rows on SQLite, as on PostgreSQL (`db::queries::replays`): one process owns the
//! file, so a lease is only ever this instance's, but the job keeps the same protocol.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::replays::{ReplayProgress, ReplayRow, ReplayStatus};
use super::rows::{millis, time, uuid};
use crate::replay::Mode;

const COLUMNS: &str = "id, endpoint_id, from_at, to_at, types, filter, mode, rate_per_sec, \
    max_events, status, planned, examined, enqueued, cursor_at, cursor_id, error, created_at, \
    updated_at, finished_at";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    endpoint_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    from_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    to_at: Option<i64>,
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
    #[diesel(sql_type = Nullable<BigInt>)]
    cursor_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    error: Option<String>,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    finished_at: Option<i64>,
}

impl Row {
    fn into_job(self) -> Result<ReplayRow, StoreError> {
        let cursor = match (self.cursor_at, self.cursor_id) {
            (Some(at), Some(id)) => Some((time(at), uuid(&id)?)),
            _ => None,
        };
        Ok(ReplayRow {
            id: uuid(&self.id)?,
            endpoint_id: self.endpoint_id.as_deref().map(uuid).transpose()?,
            from: time(self.from_at),
            to: self.to_at.map(time),
            types: self
                .types
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            filter: self.filter.and_then(|f| serde_json::from_str(&f).ok()),
            mode: Mode::parse(&self.mode).unwrap_or(Mode::Failed),
            rate_per_sec: self.rate_per_sec,
            max_events: self.max_events.max(0) as u32,
            status: ReplayStatus::parse(&self.status).unwrap_or(ReplayStatus::Failed),
            planned: self.planned,
            examined: self.examined,
            enqueued: self.enqueued,
            cursor,
            error: self.error,
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
            finished_at: self.finished_at.map(time),
        })
    }
}

pub fn create(conn: &mut SqliteConnection, job: &ReplayRow) -> Result<ReplayRow, StoreError> {
    let now = millis(Utc::now());
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO replays (id, endpoint_id, from_at, to_at, types, filter, mode, rate_per_sec,
                              max_events, status, planned, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(job.id.to_string())
    .bind::<Nullable<Text>, _>(job.endpoint_id.map(|e| e.to_string()))
    .bind::<BigInt, _>(super::super::search::millis_up(job.from))
    .bind::<Nullable<BigInt>, _>(job.to.map(super::super::search::millis_up))
    .bind::<Nullable<Text>, _>(
        (!job.types.is_empty()).then(|| serde_json::Value::from(job.types.clone()).to_string()),
    )
    .bind::<Nullable<Text>, _>(job.filter.as_ref().map(|f| f.to_string()))
    .bind::<Text, _>(job.mode.as_str())
    .bind::<Nullable<Double>, _>(job.rate_per_sec)
    .bind::<Integer, _>(job.max_events as i32)
    .bind::<Text, _>(job.status.as_str())
    .bind::<BigInt, _>(job.planned)
    .bind::<BigInt, _>(now)
    .get_result(conn)?;
    row.into_job()
}

pub fn list(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<ReplayRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM replays ORDER BY created_at DESC, id DESC LIMIT ?1"
    ))
    .bind::<BigInt, _>(i64::from(limit))
    .load(conn)?;
    rows.into_iter().map(Row::into_job).collect()
}

pub fn get(conn: &mut SqliteConnection, id: Uuid) -> Result<ReplayRow, StoreError> {
    let row: Option<Row> =
        diesel::sql_query(format!("SELECT {COLUMNS} FROM replays WHERE id = ?1"))
            .bind::<Text, _>(id.to_string())
            .get_result(conn)
            .optional()?;
    row.ok_or(StoreError::NotFound)?.into_job()
}

pub fn set_status(
    conn: &mut SqliteConnection,
    id: Uuid,
    from: &[ReplayStatus],
    to: ReplayStatus,
) -> Result<ReplayRow, StoreError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE replays SET status = ?3, updated_at = ?4,
                lease_owner = CASE WHEN ?3 = 'running' THEN lease_owner END,
                lease_expires_at = CASE WHEN ?3 = 'running' THEN lease_expires_at END,
                finished_at = CASE WHEN ?3 IN ('done', 'cancelled', 'failed') THEN ?4 END
         WHERE id = ?1 AND status IN (SELECT value FROM json_each(?2)) RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(id.to_string())
    .bind::<Text, _>(serde_json::to_string(&from).unwrap_or_default())
    .bind::<Text, _>(to.as_str())
    .bind::<BigInt, _>(millis(Utc::now()))
    .get_result(conn)
    .optional()?;
    match row {
        Some(row) => row.into_job(),
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

pub fn lease(
    conn: &mut SqliteConnection,
    owner: &str,
    lease: Duration,
) -> Result<Option<ReplayRow>, StoreError> {
    let now = millis(Utc::now());
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE replays SET lease_owner = ?1, lease_expires_at = ?2 + ?3, updated_at = ?2
         WHERE id = (SELECT id FROM replays
                     WHERE status = 'running'
                       AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at < ?2)
                     ORDER BY created_at, id LIMIT 1)
         RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(owner)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(lease.as_millis() as i64)
    .get_result(conn)
    .optional()?;
    row.map(Row::into_job).transpose()
}

pub fn end(
    conn: &mut SqliteConnection,
    id: Uuid,
    owner: &str,
    status: ReplayStatus,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let n = diesel::sql_query(
        "UPDATE replays SET status = ?3, error = ?4, finished_at = ?5, updated_at = ?5,
                lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
    )
    .bind::<Text, _>(id.to_string())
    .bind::<Text, _>(owner)
    .bind::<Text, _>(status.as_str())
    .bind::<Nullable<Text>, _>(error)
    .bind::<BigInt, _>(millis(Utc::now()))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn progress(conn: &mut SqliteConnection, id: Uuid) -> Result<ReplayProgress, StoreError> {
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
        "SELECT coalesce(sum(status IN ('pending', 'sending')), 0) AS open,
                coalesce(sum(status = 'sent'), 0) AS sent,
                coalesce(sum(status = 'failed'), 0) AS failed
         FROM deliveries WHERE replay_id = ?1",
    )
    .bind::<Text, _>(id.to_string())
    .get_result(conn)?;
    Ok(ReplayProgress {
        open: c.open,
        succeeded: c.sent,
        failed: c.failed,
    })
}
