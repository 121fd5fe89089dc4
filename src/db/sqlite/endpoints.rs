//! Endpoints on SQLite, as on PostgreSQL: read all, create, replace, soft-delete (cancelling
//! what is still pending for it), recent activity, and the version the router checks before use.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::endpoints::{EndpointActivity, EndpointRow};
use super::super::events::Moved;
use super::changes::count;
use super::endpoint_rows::{COLUMNS, Row};
use super::rows::{millis, uuid};
use crate::domain::MessageStatus;

pub fn all(conn: &mut SqliteConnection) -> Result<Vec<EndpointRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM endpoints WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)?;
    rows.into_iter().map(Row::into_row).collect()
}

/// What an update resets, as on PostgreSQL: enabling a disabled endpoint clears why it was
/// disabled, its failing run, its breaker and its pause; a new rate restarts the adaptive rate.
const RESET: &str = "\
    disabled_at = CASE WHEN ?10 THEN NULL ELSE disabled_at END,
    disabled_reason = CASE WHEN ?10 THEN NULL ELSE disabled_reason END,
    failing_since = CASE WHEN ?10 AND NOT enabled THEN NULL ELSE failing_since END,
    breaker_state = CASE WHEN ?10 AND NOT enabled THEN 'closed' ELSE breaker_state END,
    breaker_until = CASE WHEN ?10 AND NOT enabled THEN NULL ELSE breaker_until END,
    breaker_reason = CASE WHEN ?10 AND NOT enabled THEN NULL ELSE breaker_reason END,
    paused_until = CASE WHEN ?10 AND NOT enabled THEN NULL ELSE paused_until END,
    pause_reason = CASE WHEN ?10 AND NOT enabled THEN NULL ELSE pause_reason END,
    effective_rate = CASE WHEN rate_per_sec IS ?14 THEN effective_rate ELSE NULL END";

/// Writes every field of `e`: an insert when `insert`, else a replace of the live row.
fn write(
    conn: &mut SqliteConnection,
    e: &EndpointRow,
    insert: bool,
) -> Result<Option<Row>, StoreError> {
    let t = e.text();
    let sql = if insert {
        format!(
            "INSERT INTO endpoints (id, name, url, event_types, channels, filter, template, headers,
                                    secret, enabled, description, created_at, updated_at,
                                    max_in_flight, rate_per_sec, burst, ordering_key, on_failure)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16,
                     ?17)
             RETURNING {COLUMNS}"
        )
    } else {
        format!(
            "UPDATE endpoints SET name = ?2, url = ?3, event_types = ?4, channels = ?5, filter = ?6,
                    template = ?7, headers = ?8, secret = ?9, enabled = ?10, description = ?11,
                    max_in_flight = ?13, rate_per_sec = ?14, burst = ?15, ordering_key = ?16,
                    on_failure = ?17, updated_at = max(?12, updated_at + 1),
                    {RESET}
             WHERE id = ?1 AND deleted_at IS NULL RETURNING {COLUMNS}"
        )
    };
    diesel::sql_query(sql)
        .bind::<Text, _>(e.id.to_string())
        .bind::<Text, _>(&e.name)
        .bind::<Text, _>(&e.url)
        .bind::<Nullable<Text>, _>(t.event_types)
        .bind::<Nullable<Text>, _>(t.channels)
        .bind::<Nullable<Text>, _>(t.filter)
        .bind::<Nullable<Text>, _>(t.template)
        .bind::<Text, _>(t.headers)
        .bind::<Nullable<Text>, _>(&e.secret)
        .bind::<Integer, _>(i32::from(e.enabled))
        .bind::<Nullable<Text>, _>(&e.description)
        .bind::<BigInt, _>(millis(Utc::now()))
        .bind::<Integer, _>(e.max_in_flight as i32)
        .bind::<Nullable<Double>, _>(e.protection.rate_per_sec)
        .bind::<Nullable<Integer>, _>(e.protection.burst.map(|b| b as i32))
        .bind::<Nullable<Text>, _>(&e.protection.ordering_key)
        .bind::<Text, _>(e.protection.on_failure.as_str())
        .get_result(conn)
        .optional()
        .map_err(|err| {
            StoreError::named(err, || {
                format!("an endpoint named '{}' exists already", e.name)
            })
        })
}

pub fn create(conn: &mut SqliteConnection, e: &EndpointRow) -> Result<EndpointRow, StoreError> {
    write(conn, e, true)?
        .ok_or(StoreError::NotFound)?
        .into_row()
}

pub fn update(conn: &mut SqliteConnection, e: &EndpointRow) -> Result<EndpointRow, StoreError> {
    write(conn, e, false)?
        .ok_or(StoreError::NotFound)?
        .into_row()
}

pub fn delete(conn: &mut SqliteConnection, id: Uuid) -> Result<(), StoreError> {
    let now = millis(Utc::now());
    conn.immediate_transaction(|conn| {
        let deleted = diesel::sql_query(
            "UPDATE endpoints SET deleted_at = ?2, updated_at = max(?2, updated_at + 1), enabled = 0
             WHERE id = ?1 AND deleted_at IS NULL",
        )
        .bind::<Text, _>(id.to_string())
        .bind::<BigInt, _>(now)
        .execute(conn)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        #[derive(QueryableByName)]
        struct Cancelled {
            #[diesel(sql_type = Text)]
            event_id: String,
        }
        let cancelled: Vec<Cancelled> = diesel::sql_query(
            "UPDATE deliveries SET status = 'cancelled', updated_at = ?2,
                    last_error = 'the endpoint was deleted'
             WHERE endpoint_id = ?1 AND status = 'pending' RETURNING event_id",
        )
        .bind::<Text, _>(id.to_string())
        .bind::<BigInt, _>(now)
        .load(conn)?;
        let moves = cancelled
            .iter()
            .map(|c| {
                Ok(Moved::of(
                    uuid(&c.event_id)?,
                    MessageStatus::Pending,
                    MessageStatus::Cancelled,
                    false,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        count(conn, &Moved::summed(moves))
    })
}

pub fn activity(
    conn: &mut SqliteConnection,
    since: DateTime<Utc>,
) -> Result<Vec<(Uuid, EndpointActivity)>, StoreError> {
    #[derive(QueryableByName)]
    struct Activity {
        #[diesel(sql_type = Text)]
        endpoint_id: String,
        #[diesel(sql_type = BigInt)]
        succeeded: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let rows: Vec<Activity> = diesel::sql_query(
        "SELECT d.endpoint_id AS endpoint_id,
                coalesce(sum(a.outcome = 'success'), 0) AS succeeded,
                coalesce(sum(a.outcome <> 'success'), 0) AS failed,
                (SELECT coalesce(b.error_class, 'HTTP ' || b.status_code)
                 FROM delivery_attempts b JOIN deliveries e ON e.id = b.delivery_id
                 WHERE e.endpoint_id = d.endpoint_id AND b.outcome <> 'success' AND b.started_at >= ?1
                 ORDER BY b.started_at DESC LIMIT 1) AS last_error
         FROM delivery_attempts AS a INDEXED BY delivery_attempts_started
         CROSS JOIN deliveries AS d ON d.id = a.delivery_id
         WHERE a.started_at >= ?1 GROUP BY d.endpoint_id",
    )
    .bind::<BigInt, _>(millis(since))
    .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok((
                uuid(&r.endpoint_id)?,
                EndpointActivity {
                    succeeded: r.succeeded,
                    failed: r.failed,
                    last_error: r.last_error,
                },
            ))
        })
        .collect()
}

pub fn version(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let v: Version = diesel::sql_query(
        "SELECT coalesce(max(updated_at), 0) * 1000 + count(*)
                + (SELECT coalesce(max(updated_at), 0) * 1000 + count(*) FROM rules) AS v
         FROM endpoints",
    )
    .get_result(conn)?;
    Ok(v.v)
}
