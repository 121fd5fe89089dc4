//! The queue protocol. A claim is a short transaction (`FOR UPDATE SKIP LOCKED`) that marks
//! rows `sending` with a fresh `claim_token` and a lease; the HTTP call happens outside any
//! transaction; `finish` applies the outcome only where the token still matches, so a worker
//! whose lease expired and was taken over cannot overwrite the newer owner's result.

use std::time::{Duration, Instant};

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};

use super::super::StoreError;
use super::super::models::{AttemptRecord, Claim, ClaimRow, Finish, FinishResult, InsertAttempt};
use super::super::schema::{delivery_attempts, messages};
use crate::domain::MessageStatus;

const CLAIM_SQL: &str = "\
WITH due AS (
    SELECT id FROM messages
    WHERE ((status = 'pending' AND next_attempt_at <= now())
        OR (status = 'sending' AND lease_expires_at < now()))
      AND (SELECT active FROM dispatch_state)
    ORDER BY next_attempt_at, created_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE messages m
SET status = 'sending',
    claim_token = gen_random_uuid(),
    claimed_by = $2,
    lease_expires_at = now() + $3 * interval '1 millisecond',
    attempts = m.attempts + 1,
    attempt_seq = m.attempt_seq + 1,
    updated_at = now()
FROM due
WHERE m.id = due.id
RETURNING m.id, m.claim_token, m.attempts, m.attempt_seq, m.recipient, m.content,
          m.next_attempt_at, m.created_at";

pub fn claim_due(
    conn: &mut PgConnection,
    limit: u32,
    lease: Duration,
    worker: &str,
) -> Result<Vec<Claim>, StoreError> {
    // Taken before the claim: the local deadline can only be earlier than the database's lease.
    let deadline = Instant::now() + lease;
    let mut rows: Vec<ClaimRow> = diesel::sql_query(CLAIM_SQL)
        .bind::<BigInt, _>(i64::from(limit))
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(lease.as_millis() as i64)
        .load(conn)?;
    rows.sort_by_key(|r| (r.next_attempt_at, r.created_at));
    Ok(rows
        .into_iter()
        .map(|r| Claim {
            id: r.id,
            token: r.claim_token,
            attempt: r.attempts as u32,
            number: r.attempt_seq as u32,
            recipient: r.recipient,
            content: r.content,
            created_at: r.created_at,
            deadline,
        })
        .collect())
}

pub fn finish(
    conn: &mut PgConnection,
    claim: &Claim,
    attempt: &AttemptRecord,
    outcome: &Finish,
) -> Result<FinishResult, StoreError> {
    use messages::dsl as m;
    conn.transaction(|conn| {
        diesel::insert_into(delivery_attempts::table)
            .values(InsertAttempt::new(claim.id, attempt))
            .execute(conn)?;
        let owned = messages::table
            .filter(m::id.eq(claim.id))
            .filter(m::claim_token.eq(claim.token))
            .filter(m::status.eq(MessageStatus::Sending.as_str()));
        let release_claim = (
            m::claim_token.eq(None::<uuid::Uuid>),
            m::claimed_by.eq(None::<String>),
            m::lease_expires_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            m::updated_at.eq(diesel::dsl::now),
        );
        let updated: Option<Option<chrono::DateTime<chrono::Utc>>> = match outcome {
            Finish::Sent { message_id } => diesel::update(owned)
                .set((
                    release_claim,
                    m::status.eq(MessageStatus::Sent.as_str()),
                    m::message_id.eq(message_id),
                    m::last_error.eq(None::<String>),
                    m::sent_at.eq(diesel::dsl::now),
                ))
                .returning(m::sent_at)
                .get_result(conn)
                .optional()?,
            Finish::Retry { after, error } => diesel::update(owned)
                .set((
                    release_claim,
                    m::status.eq(MessageStatus::Pending.as_str()),
                    m::next_attempt_at.eq(now_plus(*after)),
                    m::last_error.eq(error),
                ))
                .returning(m::sent_at)
                .get_result(conn)
                .optional()?,
            Finish::Failed { error } => diesel::update(owned)
                .set((
                    release_claim,
                    m::status.eq(MessageStatus::Failed.as_str()),
                    m::last_error.eq(error),
                ))
                .returning(m::sent_at)
                .get_result(conn)
                .optional()?,
        };
        Ok(match updated {
            Some(sent_at) => FinishResult::Applied { sent_at },
            None => FinishResult::Stale,
        })
    })
}

/// `now() + after`, on the database's clock. The value is an integer we format: no injection.
fn now_plus(after: Duration) -> diesel::expression::SqlLiteral<Timestamptz> {
    diesel::dsl::sql::<Timestamptz>(&format!(
        "now() + interval '{} milliseconds'",
        after.as_millis()
    ))
}

/// Back to `pending`, due now, the attempt it counted given back.
pub fn release(conn: &mut PgConnection, claims: &[Claim]) -> Result<usize, StoreError> {
    let ids: Vec<uuid::Uuid> = claims.iter().map(|c| c.id).collect();
    let tokens: Vec<uuid::Uuid> = claims.iter().map(|c| c.token).collect();
    // One statement for the whole set; each row is still guarded by its own token.
    Ok(diesel::sql_query(
        "UPDATE messages m
         SET status = 'pending', attempts = m.attempts - 1, attempt_seq = m.attempt_seq - 1,
             claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
         WHERE m.id = c.id AND m.claim_token = c.token AND m.status = 'sending'",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(tokens)
    .execute(conn)?)
}
