//! The queue protocol on SQLite after the claim (`claim.rs`), the same as on PostgreSQL: `finish`
//! stores every attempt and applies each result only where the token still matches; `release`
//! hands claims back; the earliest due time. One process writes, through one connection, so a
//! statement needs no row locks; each group is one transaction, and a commit is on disk when it
//! returns.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use serde_json::json;

use super::super::StoreError;
use super::super::events::Moved;
use super::super::models::{Claim, FinishResult, Recorded};
use super::changes::count;
use super::rows::{millis, time};
use crate::domain::Finish;
use crate::domain::MessageStatus;

const INSERT_ATTEMPTS_SQL: &str = "\
INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome,
                               status_code, error_class, response_excerpt)
SELECT value ->> 'id', value ->> 'attempt', value ->> 'started_at', value ->> 'duration_ms',
       value ->> 'outcome', value ->> 'status_code', value ->> 'error_class', value ->> 'excerpt'
FROM json_each(?1)";

const FINISH_SQL: &str = "\
UPDATE deliveries
SET status = i.next_status, claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL,
    updated_at = ?2,
    next_attempt_at = CASE WHEN i.next_status = 'pending' THEN ?2 + i.after_ms
                           ELSE deliveries.next_attempt_at END,
    last_error = i.error,
    message_id = CASE WHEN i.next_status = 'sent' THEN i.message_id ELSE deliveries.message_id END,
    sent_at = CASE WHEN i.next_status = 'sent' THEN ?2 ELSE deliveries.sent_at END
FROM (SELECT value ->> 'id' AS id, value ->> 'token' AS token,
             value ->> 'next_status' AS next_status, value ->> 'after_ms' AS after_ms,
             value ->> 'error' AS error, value ->> 'message_id' AS message_id
      FROM json_each(?1)) AS i
WHERE deliveries.id = i.id AND deliveries.claim_token = i.token
  AND +deliveries.status = 'sending'";

/// The claims of the group that still own their rows (read in the same transaction, before the
/// update clears the tokens). Here and in the updates the group drives the join, row by row
/// through the primary key (`CROSS JOIN`, and `+status` keeps the status index out of it).
const OWNED_SQL: &str = "\
SELECT deliveries.id AS id, deliveries.claim_token AS token
FROM json_each(?1) AS i CROSS JOIN deliveries
  ON deliveries.id = i.value ->> 'id' AND deliveries.claim_token = i.value ->> 'token'
WHERE deliveries.status = 'sending'";

#[derive(QueryableByName)]
struct Owned {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    token: String,
}

/// One transaction for the group: every attempt row stored, every status updated where its
/// claim token still matches; a row taken over since is `Stale` and keeps its new owner's state.
pub fn finish(
    conn: &mut SqliteConnection,
    group: &[Recorded],
) -> Result<Vec<FinishResult>, StoreError> {
    if group.is_empty() {
        return Ok(Vec::new());
    }
    let input: Vec<serde_json::Value> = group.iter().map(as_json).collect();
    let input = serde_json::Value::from(input).to_string();
    let now = millis(Utc::now());
    let owned: Vec<Owned> = conn.immediate_transaction(|conn| {
        let owned = diesel::sql_query(OWNED_SQL)
            .bind::<Text, _>(&input)
            .load(conn)?;
        diesel::sql_query(INSERT_ATTEMPTS_SQL)
            .bind::<Text, _>(&input)
            .execute(conn)?;
        diesel::sql_query(FINISH_SQL)
            .bind::<Text, _>(&input)
            .bind::<BigInt, _>(now)
            .execute(conn)?;
        let owners: std::collections::HashMap<(String, String), &Recorded> = group
            .iter()
            .map(|r| ((r.claim.id.to_string(), r.claim.token.to_string()), r))
            .collect();
        let moves = owned.iter().filter_map(|o: &Owned| {
            let r = owners.get(&(o.id.clone(), o.token.clone()))?;
            let to = r
                .next_state()
                .status
                .parse()
                .unwrap_or(MessageStatus::Failed);
            Some(Moved::of(
                r.claim.event_id,
                MessageStatus::Sending,
                to,
                false,
            ))
        });
        count(conn, &Moved::summed(moves))?;
        Ok::<_, StoreError>(owned)
    })?;
    // By claim, not by message: one group can hold a stale claim's outcome and the current
    // claim's outcome for the same message.
    let owned: std::collections::HashSet<(String, String)> =
        owned.into_iter().map(|o| (o.id, o.token)).collect();
    let sent_at: DateTime<Utc> = time(now);
    Ok(group
        .iter()
        .map(
            |r| match owned.contains(&(r.claim.id.to_string(), r.claim.token.to_string())) {
                false => FinishResult::Stale,
                true => FinishResult::Applied {
                    sent_at: matches!(r.finish, Finish::Sent { .. }).then_some(sent_at),
                },
            },
        )
        .collect())
}

fn as_json(r: &Recorded) -> serde_json::Value {
    let next = r.next_state();
    json!({
        "id": r.claim.id.to_string(),
        "token": r.claim.token.to_string(),
        "attempt": r.attempt.attempt,
        "started_at": millis(r.attempt.started_at),
        "duration_ms": r.attempt.duration_ms,
        "outcome": r.attempt.kind.as_str(),
        "status_code": r.attempt.status_code,
        "error_class": r.attempt.error_class,
        "excerpt": r.attempt.excerpt,
        "next_status": next.status,
        "after_ms": next.after_ms,
        "error": next.error,
        "message_id": next.message_id,
    })
}

/// Back to `pending`, due now, the attempt it counted given back; each row guarded by its token.
pub fn release(conn: &mut SqliteConnection, claims: &[Claim]) -> Result<usize, StoreError> {
    let input: Vec<serde_json::Value> = claims
        .iter()
        .map(|c| json!({"id": c.id.to_string(), "token": c.token.to_string()}))
        .collect();
    Ok(diesel::sql_query(
        "UPDATE deliveries
         SET status = 'pending', attempts = attempts - 1, attempt_seq = attempt_seq - 1,
             claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL, updated_at = ?2
         FROM (SELECT value ->> 'id' AS id, value ->> 'token' AS token FROM json_each(?1)) AS c
         WHERE deliveries.id = c.id AND deliveries.claim_token = c.token
           AND +deliveries.status = 'sending'",
    )
    .bind::<Text, _>(serde_json::Value::from(input).to_string())
    .bind::<BigInt, _>(millis(Utc::now()))
    .execute(conn)?)
}

#[derive(QueryableByName)]
struct Earliest {
    #[diesel(sql_type = Nullable<BigInt>)]
    pending: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lease: Option<i64>,
}

/// The earliest time a pending delivery may go (after its endpoint's pause or cool-down, and
/// not held behind its ordering key's head) and the earliest lease to end.
fn earliest(conn: &mut SqliteConnection) -> Result<Earliest, StoreError> {
    Ok(diesel::sql_query(concat!(
        "SELECT (SELECT min(max((SELECT min(d.next_attempt_at)
                                 FROM deliveries AS d INDEXED BY deliveries_pending_due
                                 WHERE d.endpoint_id = e.id AND d.status = 'pending'
                                   AND ",
        unblocked!("d", "e.on_failure = 'block'"),
        "),
                                coalesce(e.paused_until, 0), coalesce(e.breaker_until, 0)))
                 FROM endpoints AS e WHERE e.enabled = 1) AS pending,
                (SELECT min(lease_expires_at) FROM deliveries INDEXED BY deliveries_sending_lease
                 WHERE status = 'sending') AS lease"
    ))
    .get_result(conn)?)
}

pub fn next_due(conn: &mut SqliteConnection) -> Result<Option<Duration>, StoreError> {
    let e = earliest(conn)?;
    let now = millis(Utc::now());
    // A lease is claimable once it has run out (`<`), a pending row once it is due (`<=`).
    Ok(e.pending
        .into_iter()
        .chain(e.lease.map(|at| at + 1))
        .min()
        .map(|at| Duration::from_millis(at.saturating_sub(now).max(0) as u64)))
}

#[derive(QueryableByName)]
struct Switched {
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
}

/// Whether something has waited unclaimed for longer than `by`, and dispatch has been on
/// (or off) for longer than that too.
pub fn overdue(conn: &mut SqliteConnection, by: Duration) -> Result<bool, StoreError> {
    let e = earliest(conn)?;
    let limit = millis(Utc::now()) - by.as_millis().min(i64::MAX as u128) as i64;
    // Waiting while dispatch was stopped is no stall: count from the last switch.
    let switched: Switched =
        diesel::sql_query("SELECT updated_at FROM dispatch_state").get_result(conn)?;
    Ok(switched.updated_at < limit && e.pending.into_iter().chain(e.lease).any(|at| at < limit))
}
