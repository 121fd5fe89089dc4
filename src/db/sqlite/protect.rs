//! Protecting receivers on SQLite, as on PostgreSQL: deferring held-back deliveries and each
//! endpoint's state, each one guarded statement. One process dispatches, so its rate limiter
//! stays in process.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use serde_json::json;
use uuid::Uuid;

use super::super::StoreError;
use super::super::endpoint_state::{BreakerRecord, BreakerState};
use super::super::endpoints::EndpointRow;
use super::super::models::Claim;
use super::super::traits::ProtectStore;
use super::SqliteStore;
use super::endpoint_rows::{COLUMNS, Row};
use super::rows::{millis, time};

/// Back to `pending`, due at its time, the attempt it counted given back.
pub fn defer(
    conn: &mut SqliteConnection,
    deferred: &[(Claim, DateTime<Utc>)],
) -> Result<usize, StoreError> {
    let input: Vec<serde_json::Value> = deferred
        .iter()
        .map(|(c, due)| json!({"id": c.id.to_string(), "token": c.token.to_string(), "due": millis(*due)}))
        .collect();
    Ok(diesel::sql_query(
        "UPDATE deliveries
         SET status = 'pending', attempts = attempts - 1, attempt_seq = attempt_seq - 1,
             claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL,
             next_attempt_at = c.due, updated_at = ?2
         FROM (SELECT value ->> 'id' AS id, value ->> 'token' AS token, value ->> 'due' AS due
               FROM json_each(?1)) AS c
         WHERE deliveries.id = c.id AND deliveries.claim_token = c.token
           AND +deliveries.status = 'sending'",
    )
    .bind::<Text, _>(serde_json::Value::from(input).to_string())
    .bind::<BigInt, _>(millis(Utc::now()))
    .execute(conn)?)
}

pub fn set_breaker(
    conn: &mut SqliteConnection,
    id: Uuid,
    from: BreakerState,
    b: &BreakerRecord,
) -> Result<bool, StoreError> {
    Ok(diesel::sql_query(
        "UPDATE endpoints SET breaker_state = ?3, breaker_since = ?4, breaker_until = ?5,
                breaker_reason = ?6, breaker_cooldown_ms = ?7
         WHERE id = ?1 AND breaker_state = ?2",
    )
    .bind::<Text, _>(id.to_string())
    .bind::<Text, _>(from.as_str())
    .bind::<Text, _>(b.state.as_str())
    .bind::<Nullable<BigInt>, _>(b.since.map(millis))
    .bind::<Nullable<BigInt>, _>(b.until.map(millis))
    .bind::<Nullable<Text>, _>(&b.reason)
    .bind::<BigInt, _>(b.cooldown_ms)
    .execute(conn)?
        == 1)
}

pub fn pause(
    conn: &mut SqliteConnection,
    id: Uuid,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<(), StoreError> {
    diesel::sql_query(
        "UPDATE endpoints SET paused_until = ?2, pause_reason = ?3
         WHERE id = ?1 AND coalesce(paused_until, 0) < ?2",
    )
    .bind::<Text, _>(id.to_string())
    .bind::<BigInt, _>(millis(until))
    .bind::<Text, _>(reason)
    .execute(conn)?;
    Ok(())
}

pub fn set_effective_rate(
    conn: &mut SqliteConnection,
    id: Uuid,
    rate: Option<f64>,
) -> Result<(), StoreError> {
    diesel::sql_query("UPDATE endpoints SET effective_rate = ?2 WHERE id = ?1")
        .bind::<Text, _>(id.to_string())
        .bind::<Nullable<Double>, _>(rate)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Since {
    #[diesel(sql_type = Nullable<BigInt>)]
    failing_since: Option<i64>,
}

pub fn mark_failing(
    conn: &mut SqliteConnection,
    id: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row: Option<Since> = diesel::sql_query(
        "UPDATE endpoints
         SET failing_since = CASE WHEN ?2 IS NULL THEN NULL ELSE coalesce(failing_since, ?2) END
         WHERE id = ?1 RETURNING failing_since",
    )
    .bind::<Text, _>(id.to_string())
    .bind::<Nullable<BigInt>, _>(at.map(millis))
    .get_result(conn)
    .optional()?;
    Ok(row.and_then(|r| r.failing_since).map(time))
}

pub fn disable(
    conn: &mut SqliteConnection,
    id: Uuid,
    reason: &str,
    failing_before: Option<DateTime<Utc>>,
) -> Result<Option<EndpointRow>, StoreError> {
    let now = millis(Utc::now());
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE endpoints SET enabled = 0, disabled_at = ?4, disabled_reason = ?2,
                updated_at = max(?4, updated_at + 1)
         WHERE id = ?1 AND enabled = 1 AND deleted_at IS NULL
           AND (?3 IS NULL OR failing_since <= ?3)
         RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(id.to_string())
    .bind::<Text, _>(reason)
    .bind::<Nullable<BigInt>, _>(failing_before.map(millis))
    .bind::<BigInt, _>(now)
    .get_result(conn)
    .optional()?;
    row.map(Row::into_row).transpose()
}

impl ProtectStore for SqliteStore {
    fn defer(&self, deferred: &[(Claim, DateTime<Utc>)]) -> Result<usize, StoreError> {
        self.write(|c| defer(c, deferred))
    }

    fn set_breaker(
        &self,
        id: Uuid,
        from: BreakerState,
        record: &BreakerRecord,
    ) -> Result<bool, StoreError> {
        self.write(|c| set_breaker(c, id, from, record))
    }

    fn pause_endpoint(
        &self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.write(|c| pause(c, id, until, reason))
    }

    fn set_effective_rate(&self, id: Uuid, rate: Option<f64>) -> Result<(), StoreError> {
        self.write(|c| set_effective_rate(c, id, rate))
    }

    fn mark_failing(
        &self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.write(|c| mark_failing(c, id, at))
    }

    fn disable_endpoint(
        &self,
        id: Uuid,
        reason: &str,
        failing_before: Option<DateTime<Utc>>,
    ) -> Result<Option<EndpointRow>, StoreError> {
        self.write(|c| disable(c, id, reason, failing_before))
    }
}
