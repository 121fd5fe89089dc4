//! Endpoints on PostgreSQL: read all, create, replace, soft-delete (cancelling what is still
//! pending for it), recent activity, and the version every instance checks before use.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::StoreError;
use super::super::endpoints::{EndpointActivity, EndpointRow};
use super::super::events::Moved;
use super::changes::count;
use super::endpoint_rows::{COLUMNS, Row};
use crate::domain::MessageStatus;

type SqlUuid = diesel::sql_types::Uuid;

pub fn all(conn: &mut PgConnection) -> Result<Vec<EndpointRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM endpoints WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)?;
    Ok(rows.into_iter().map(Row::into_row).collect())
}

/// What an update resets: enabling a disabled endpoint clears why it was disabled, its failing
/// run, its breaker and its pause (its operator says it works again); a new rate restarts the
/// adaptive rate from it.
const RESET: &str = "\
    disabled_at = CASE WHEN $10 THEN NULL ELSE disabled_at END,
    disabled_reason = CASE WHEN $10 THEN NULL ELSE disabled_reason END,
    failing_since = CASE WHEN $10 AND NOT enabled THEN NULL ELSE failing_since END,
    breaker_state = CASE WHEN $10 AND NOT enabled THEN 'closed' ELSE breaker_state END,
    breaker_until = CASE WHEN $10 AND NOT enabled THEN NULL ELSE breaker_until END,
    breaker_reason = CASE WHEN $10 AND NOT enabled THEN NULL ELSE breaker_reason END,
    paused_until = CASE WHEN $10 AND NOT enabled THEN NULL ELSE paused_until END,
    pause_reason = CASE WHEN $10 AND NOT enabled THEN NULL ELSE pause_reason END,
    effective_rate = CASE WHEN rate_per_sec IS DISTINCT FROM $13 THEN NULL ELSE effective_rate END";

/// Writes every field of `e`: an insert when `insert`, else a replace of the live row.
fn write(
    conn: &mut PgConnection,
    e: &EndpointRow,
    insert: bool,
) -> Result<Option<Row>, StoreError> {
    let t = e.text();
    let sql = if insert {
        format!(
            "INSERT INTO endpoints (id, name, url, event_types, channels, filter, template, headers,
                                    secret, enabled, description, max_in_flight, rate_per_sec,
                                    burst, ordering_key, on_failure)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING {COLUMNS}"
        )
    } else {
        format!(
            "UPDATE endpoints SET name = $2, url = $3, event_types = $4, channels = $5, filter = $6,
                    template = $7, headers = $8, secret = $9, enabled = $10, description = $11,
                    max_in_flight = $12, rate_per_sec = $13, burst = $14, ordering_key = $15,
                    on_failure = $16, updated_at = now(),
                    {RESET}
             WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
        )
    };
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(e.id)
        .bind::<Text, _>(&e.name)
        .bind::<Text, _>(&e.url)
        .bind::<Nullable<Text>, _>(t.event_types)
        .bind::<Nullable<Text>, _>(t.channels)
        .bind::<Nullable<Text>, _>(t.filter)
        .bind::<Nullable<Text>, _>(t.template)
        .bind::<Text, _>(t.headers)
        .bind::<Nullable<Text>, _>(&e.secret)
        .bind::<Bool, _>(e.enabled)
        .bind::<Nullable<Text>, _>(&e.description)
        .bind::<diesel::sql_types::Integer, _>(e.max_in_flight as i32)
        .bind::<Nullable<Double>, _>(e.protection.rate_per_sec)
        .bind::<Nullable<diesel::sql_types::Integer>, _>(e.protection.burst.map(|b| b as i32))
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

pub fn create(conn: &mut PgConnection, e: &EndpointRow) -> Result<EndpointRow, StoreError> {
    write(conn, e, true)?
        .map(Row::into_row)
        .ok_or(StoreError::NotFound)
}

pub fn update(conn: &mut PgConnection, e: &EndpointRow) -> Result<EndpointRow, StoreError> {
    write(conn, e, false)?
        .map(Row::into_row)
        .ok_or(StoreError::NotFound)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        let deleted = diesel::sql_query(
            "UPDATE endpoints SET deleted_at = now(), updated_at = now(), enabled = FALSE
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind::<SqlUuid, _>(id)
        .execute(conn)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        #[derive(QueryableByName)]
        struct Cancelled {
            #[diesel(sql_type = SqlUuid)]
            event_id: Uuid,
        }
        let cancelled: Vec<Cancelled> = diesel::sql_query(
            "UPDATE deliveries SET status = 'cancelled', updated_at = now(),
                    last_error = 'the endpoint was deleted'
             WHERE endpoint_id = $1 AND status = 'pending' RETURNING event_id",
        )
        .bind::<SqlUuid, _>(id)
        .load(conn)?;
        let moves = cancelled.into_iter().map(|c| {
            Moved::of(
                c.event_id,
                MessageStatus::Pending,
                MessageStatus::Cancelled,
                true,
            )
        });
        count(conn, &Moved::summed(moves))
    })
}

pub fn activity(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
) -> Result<Vec<(Uuid, EndpointActivity)>, StoreError> {
    #[derive(QueryableByName)]
    struct Activity {
        #[diesel(sql_type = SqlUuid)]
        endpoint_id: Uuid,
        #[diesel(sql_type = BigInt)]
        succeeded: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let rows: Vec<Activity> = diesel::sql_query(
        "SELECT d.endpoint_id,
                count(*) FILTER (WHERE a.outcome = 'success') AS succeeded,
                count(*) FILTER (WHERE a.outcome <> 'success') AS failed,
                (array_agg(coalesce(a.error_class, 'HTTP ' || a.status_code::text)
                           ORDER BY a.started_at DESC)
                     FILTER (WHERE a.outcome <> 'success'))[1] AS last_error
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE a.started_at >= $1 GROUP BY d.endpoint_id",
    )
    .bind::<Timestamptz, _>(since)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.endpoint_id,
                EndpointActivity {
                    succeeded: r.succeeded,
                    failed: r.failed,
                    last_error: r.last_error,
                },
            )
        })
        .collect())
}

pub fn version(conn: &mut PgConnection) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let v: Version = diesel::sql_query(
        "SELECT (coalesce(EXTRACT(EPOCH FROM max(updated_at)) * 1000000, 0))::int8 + count(*)
                + (SELECT (coalesce(EXTRACT(EPOCH FROM max(updated_at)) * 1000000, 0))::int8
                          + count(*) FROM rules) AS v
         FROM endpoints",
    )
    .get_result(conn)?;
    Ok(v.v)
}
