//! Protecting receivers on PostgreSQL: deferring deliveries that were claimed but held back,
//! and the state each endpoint keeps (breaker, pause, adaptive rate, failing run, disabling),
//! each written by one guarded statement so that two instances never both move it. The rate
//! limiter shared through PostgreSQL is one statement on the endpoint's row.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::StoreError;
use super::super::endpoint_state::{BreakerRecord, BreakerState};
use super::super::endpoints::EndpointRow;
use super::super::models::Claim;
use super::endpoint_rows::{COLUMNS, Row};
use crate::protect::{Decision, Rate};

type SqlUuid = diesel::sql_types::Uuid;

/// Back to `pending`, due at its time, the attempt it counted given back: not an attempt, and
/// the retry schedule (the attempt count) does not move. Each row is guarded by its token.
pub fn defer(
    conn: &mut PgConnection,
    deferred: &[(Claim, DateTime<Utc>)],
) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "UPDATE deliveries m
         SET status = 'pending', attempts = m.attempts - 1, attempt_seq = m.attempt_seq - 1,
             claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL,
             next_attempt_at = c.due, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS c(id, token, due)
         WHERE m.id = c.id AND m.claim_token = c.token",
    )
    .bind::<Array<SqlUuid>, _>(deferred.iter().map(|d| d.0.id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(deferred.iter().map(|d| d.0.token).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(deferred.iter().map(|d| d.1).collect::<Vec<_>>())
    .execute(conn)?)
}

/// Writes the breaker's record if it is still in state `from`; whether it was written.
pub fn set_breaker(
    conn: &mut PgConnection,
    id: Uuid,
    from: BreakerState,
    b: &BreakerRecord,
) -> Result<bool, StoreError> {
    Ok(diesel::sql_query(
        "UPDATE endpoints SET breaker_state = $3, breaker_since = $4, breaker_until = $5,
                breaker_reason = $6, breaker_cooldown_ms = $7
         WHERE id = $1 AND breaker_state = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(from.as_str())
    .bind::<Text, _>(b.state.as_str())
    .bind::<Nullable<Timestamptz>, _>(b.since)
    .bind::<Nullable<Timestamptz>, _>(b.until)
    .bind::<Nullable<Text>, _>(&b.reason)
    .bind::<BigInt, _>(b.cooldown_ms)
    .execute(conn)?
        == 1)
}

/// Pauses the endpoint until `until`, unless it is paused longer already.
pub fn pause(
    conn: &mut PgConnection,
    id: Uuid,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<(), StoreError> {
    diesel::sql_query(
        "UPDATE endpoints SET paused_until = $2, pause_reason = $3
         WHERE id = $1 AND coalesce(paused_until < $2, true)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(until)
    .bind::<Text, _>(reason)
    .execute(conn)?;
    Ok(())
}

pub fn set_effective_rate(
    conn: &mut PgConnection,
    id: Uuid,
    rate: Option<f64>,
) -> Result<(), StoreError> {
    diesel::sql_query("UPDATE endpoints SET effective_rate = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Double>, _>(rate)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Since {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    failing_since: Option<DateTime<Utc>>,
}

/// A failure at `at` starts a failing run unless one is on; `None` (an answer) ends it. The
/// start of the run after the change.
pub fn mark_failing(
    conn: &mut PgConnection,
    id: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row: Option<Since> = diesel::sql_query(
        "UPDATE endpoints
         SET failing_since = CASE WHEN $2::timestamptz IS NULL THEN NULL
                                  ELSE coalesce(failing_since, $2) END
         WHERE id = $1 RETURNING failing_since",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Timestamptz>, _>(at)
    .get_result(conn)
    .optional()?;
    Ok(row.and_then(|r| r.failing_since))
}

/// Disables an enabled endpoint, with its reason and time; with `failing_before`, only if its
/// failing run started by then. The endpoint when this call disabled it.
pub fn disable(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
    failing_before: Option<DateTime<Utc>>,
) -> Result<Option<EndpointRow>, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE endpoints SET enabled = FALSE, disabled_at = now(), disabled_reason = $2,
                updated_at = now()
         WHERE id = $1 AND enabled AND deleted_at IS NULL
           AND ($3::timestamptz IS NULL OR failing_since <= $3)
         RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(reason)
    .bind::<Nullable<Timestamptz>, _>(failing_before)
    .get_result(conn)
    .optional()?;
    Ok(row.map(Row::into_row))
}

#[derive(QueryableByName)]
struct Reserved {
    #[diesel(sql_type = Bool)]
    went: bool,
    /// Microseconds from now to the slot.
    #[diesel(sql_type = BigInt)]
    wait_us: i64,
}

/// GCRA on the endpoint's row (see [`crate::protect::Gcra`]): takes the next slot if it comes
/// within `horizon`, with the database's clock, so that every instance shares one limit.
pub fn reserve_rate(
    conn: &mut PgConnection,
    id: Uuid,
    rate: Rate,
    horizon: std::time::Duration,
) -> Result<Decision, StoreError> {
    let us = |d: std::time::Duration| d.as_micros().min(i64::MAX as u128) as i64;
    let r: Reserved = diesel::sql_query(
        // The update reads the row it locks (a concurrent taker waits, then sees the new
        // time), so two instances never take one slot.
        "WITH taken AS (
             UPDATE endpoints
             SET rate_tat = greatest(coalesce(rate_tat, now()), now()) + $2 * interval '1 microsecond'
             WHERE id = $1 AND greatest(coalesce(rate_tat, now()), now())
                               - $3 * interval '1 microsecond' <= now() + $4 * interval '1 microsecond'
             RETURNING greatest(rate_tat - ($2 + $3) * interval '1 microsecond', now()) AS at
         )
         SELECT true AS went, (EXTRACT(EPOCH FROM at - now()) * 1000000)::int8 AS wait_us
         FROM taken
         UNION ALL
         SELECT false, (EXTRACT(EPOCH FROM greatest(coalesce(rate_tat, now()), now())
                                        - $3 * interval '1 microsecond' - now()) * 1000000)::int8
         FROM endpoints WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM taken)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<BigInt, _>(us(rate.interval()))
    .bind::<BigInt, _>(us(rate.tolerance()))
    .bind::<BigInt, _>(us(horizon))
    .get_result(conn)?;
    let at = Utc::now() + chrono::Duration::microseconds(r.wait_us.max(0));
    Ok(if r.went {
        Decision::Go { at }
    } else {
        Decision::Wait { until: at }
    })
}
