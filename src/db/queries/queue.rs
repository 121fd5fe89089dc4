//! The queue protocol. A claim is a short transaction (`FOR UPDATE SKIP LOCKED`) that marks
//! rows `sending` with a fresh `claim_token` and a lease; the HTTP call happens outside any
//! transaction; `finish` applies the outcome only where the token still matches, so a worker
//! whose lease expired and was taken over cannot overwrite the newer owner's result.

use std::time::{Duration, Instant};

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};

use super::super::StoreError;
use super::super::models::{Claim, ClaimRow, FinishResult, Recorded};
use super::changes::lock_events;
use super::prepared::Prepared;

/// Expired leases first, then pending rows endpoint by endpoint (of the endpoints neither paused
/// nor cooling down; one row, the probe, of an endpoint whose breaker's cool-down ended): for each share, the
/// endpoint's part of the pending index is walked from its oldest due row, skipping rows
/// another claimer holds, and the walk stops at the share (no scan or sort of the backlog,
/// however long one endpoint's is). The shares add up to about the limit (see
/// `actors::isolation`), so little is locked and left. One statement, however many endpoints.
const CLAIM_SQL: &str = concat!(
    "\
WITH expired AS (
    SELECT id FROM deliveries
    WHERE status = 'sending' AND lease_expires_at < now() AND (SELECT active FROM dispatch_state)
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), shares AS (
    -- Enabled endpoints that are neither paused nor cooling down.
    SELECT s.endpoint_id, s.share, p.breaker_state <> 'closed' AS probing,
           p.on_failure = 'block' AS block
    FROM unnest($4::uuid[], $5::int4[]) AS s(endpoint_id, share)
    JOIN endpoints p ON p.id = s.endpoint_id AND p.enabled
         AND coalesce(p.paused_until <= now(), true) AND coalesce(p.breaker_until <= now(), true)
    WHERE (SELECT active FROM dispatch_state)
), probes AS (
    -- A breaker whose cool-down ended gives out one probe, to the claimer that moves it to
    -- half-open: the others see it half-open until the probe's lease ends.
    UPDATE endpoints p
    SET breaker_state = 'half_open', breaker_since = now(),
        breaker_until = now() + $3 * interval '1 millisecond'
    FROM shares s
    WHERE p.id = s.endpoint_id AND s.probing AND p.breaker_state <> 'closed'
      AND coalesce(p.breaker_until <= now(), true)
    RETURNING p.id
), pending AS (
    SELECT c.id, s.probing FROM shares s CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries d
        WHERE d.endpoint_id = s.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= now()
          AND ",
    unblocked!("d", "s.block"),
    "
        ORDER BY d.next_attempt_at, d.created_at
        LIMIT CASE WHEN s.probing THEN 1 ELSE s.share END
        FOR UPDATE SKIP LOCKED
    ) c
    WHERE NOT s.probing OR s.endpoint_id IN (SELECT id FROM probes)
), due AS (
    SELECT id, false AS probe FROM expired UNION ALL SELECT id, probing FROM pending LIMIT $1
), picked AS (
    -- As arrays, so that the update finds its rows by the primary key whatever the planner
    -- thinks `due` holds: joined to `due`, a generic plan on an analysed table guessed a tenth
    -- of the limit and hashed the whole table (O(backlog) per claim).
    SELECT array_agg(id) AS ids, array_agg(id) FILTER (WHERE probe) AS probes FROM due
), claimed AS (
    UPDATE deliveries m
    SET status = 'sending',
        claim_token = gen_random_uuid(),
        claimed_by = $2,
        lease_expires_at = now() + $3 * interval '1 millisecond',
        attempts = m.attempts + 1,
        attempt_seq = m.attempt_seq + 1,
        updated_at = now()
    WHERE m.id = ANY((SELECT ids FROM picked)::uuid[])
    RETURNING m.id, m.claim_token, m.attempts, m.attempt_seq, m.event_id, m.endpoint_id,
              m.next_attempt_at, m.created_at
)
SELECT c.id, c.claim_token, c.attempts, c.attempt_seq, c.event_id, c.endpoint_id,
       e.type AS event_type, e.payload, e.deliveries > 1 AS shared,
       coalesce(c.id = ANY((SELECT probes FROM picked)::uuid[]), false) AS probe,
       c.next_attempt_at, c.created_at
FROM claimed c JOIN events e ON e.id = c.event_id"
);

pub fn claim_due(
    conn: &mut PgConnection,
    shares: &[crate::db::Share],
    limit: u32,
    lease: Duration,
    worker: &str,
) -> Result<Vec<Claim>, StoreError> {
    // Taken before the claim: the local deadline can only be earlier than the database's lease.
    let deadline = Instant::now() + lease;
    let mut rows: Vec<ClaimRow> = Prepared(
        diesel::sql_query(CLAIM_SQL)
            .bind::<BigInt, _>(i64::from(limit))
            .bind::<Text, _>(worker)
            .bind::<BigInt, _>(lease.as_millis() as i64)
            .bind::<Array<diesel::sql_types::Uuid>, _>(
                shares.iter().map(|s| s.endpoint_id).collect::<Vec<_>>(),
            )
            .bind::<Array<Integer>, _>(
                shares
                    .iter()
                    .map(|s| s.share.min(i32::MAX as u32) as i32)
                    .collect::<Vec<_>>(),
            ),
    )
    .load(conn)?;
    rows.sort_by_key(|r| (r.next_attempt_at, r.created_at));
    Ok(rows
        .into_iter()
        .map(|r| Claim {
            id: r.id,
            token: r.claim_token,
            attempt: r.attempts as u32,
            number: r.attempt_seq as u32,
            event_id: r.event_id,
            endpoint_id: r.endpoint_id,
            event_type: r.event_type,
            payload: r.payload,
            shared: r.shared,
            probe: r.probe,
            created_at: r.created_at,
            deadline,
        })
        .collect())
}

const FINISH_SQL: &str = "\
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::timestamptz[], $5::int4[],
                         $6::text[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::int8[],
                         $12::text[], $13::text[])
        AS t(id, token, attempt, started_at, duration_ms, outcome, status_code, error_class,
             excerpt, next_status, after_ms, error, message_id)
), attempts AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome,
                                   status_code, error_class, response_excerpt)
    SELECT id, attempt, started_at, duration_ms, outcome, status_code, error_class, excerpt
    FROM input
), applied AS (
    UPDATE deliveries m
    SET status = i.next_status,
        claim_token = NULL,
        claimed_by = NULL,
        lease_expires_at = NULL,
        updated_at = now(),
        next_attempt_at = CASE WHEN i.next_status = 'pending'
                               THEN now() + i.after_ms * interval '1 millisecond'
                               ELSE m.next_attempt_at END,
        last_error = i.error,
        message_id = CASE WHEN i.next_status = 'sent' THEN i.message_id ELSE m.message_id END,
        sent_at = CASE WHEN i.next_status = 'sent' THEN now() ELSE m.sent_at END
    FROM input i
    -- A token is set only while `sending` (constraint deliveries_token_while_sending).
    WHERE m.id = i.id AND m.claim_token = i.token
    RETURNING m.id, i.token, m.sent_at, m.event_id, i.next_status
), moved AS (
    -- Each applied outcome leaves `sending` (open) for its next status, as `Moved::of` counts.
    SELECT event_id,
           sum(CASE WHEN next_status = 'pending' THEN 0 ELSE -1 END)::int4 AS open,
           sum((next_status = 'failed')::int4)::int4 AS failed,
           sum((next_status = 'cancelled')::int4)::int4 AS cancelled,
           bool_or(next_status = 'sent') AS sent
    FROM applied GROUP BY event_id
), counted AS (
    UPDATE events e
    SET open = greatest(e.open + d.open, 0), failed = greatest(e.failed + d.failed, 0),
        cancelled = greatest(e.cancelled + d.cancelled, 0),
        sent_at = CASE WHEN d.sent THEN now() ELSE e.sent_at END, updated_at = now()
    FROM moved d
    WHERE e.id = d.event_id AND (d.open <> 0 OR d.failed <> 0 OR d.cancelled <> 0 OR d.sent)
)
SELECT id, token, sent_at FROM applied";

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    token: uuid::Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One statement for the whole group (atomic on its own): every attempt row inserted, every
/// status updated where its claim token still matches. A row whose token no longer matches was
/// taken over: its result is `Stale` and nothing of it changes but its history.
pub fn finish(
    conn: &mut PgConnection,
    group: &[Recorded],
) -> Result<Vec<FinishResult>, StoreError> {
    if group.is_empty() {
        return Ok(Vec::new());
    }
    fn column<T>(group: &[Recorded], f: impl Fn(&Recorded) -> T) -> Vec<T> {
        group.iter().map(f).collect()
    }
    // Events shared by several deliveries are locked first, in id order, so that two groups
    // that share events never wait for each other in a circle; the counters of an event with
    // one delivery are moved by this group alone, in the statement itself.
    let shared: Vec<uuid::Uuid> = group
        .iter()
        .filter(|r| r.claim.shared)
        .map(|r| r.claim.event_id)
        .collect();
    let run = |conn: &mut PgConnection| -> Result<Vec<Applied>, StoreError> {
        Ok(Prepared(
            diesel::sql_query(FINISH_SQL)
                .bind::<Array<diesel::sql_types::Uuid>, _>(column(group, |r| r.claim.id))
                .bind::<Array<diesel::sql_types::Uuid>, _>(column(group, |r| r.claim.token))
                .bind::<Array<Integer>, _>(column(group, |r| r.attempt.attempt as i32))
                .bind::<Array<Timestamptz>, _>(column(group, |r| r.attempt.started_at))
                .bind::<Array<Integer>, _>(column(group, |r| r.attempt.duration_ms as i32))
                .bind::<Array<Text>, _>(column(group, |r| r.attempt.kind.as_str()))
                .bind::<Array<Nullable<Integer>>, _>(column(group, |r| {
                    r.attempt.status_code.map(i32::from)
                }))
                .bind::<Array<Nullable<Text>>, _>(column(group, |r| r.attempt.error_class))
                .bind::<Array<Nullable<Text>>, _>(column(group, |r| r.attempt.excerpt.clone()))
                .bind::<Array<Text>, _>(column(group, |r| r.next_state().status))
                .bind::<Array<BigInt>, _>(column(group, |r| r.next_state().after_ms))
                .bind::<Array<Nullable<Text>>, _>(column(group, |r| {
                    r.next_state().error.map(str::to_owned)
                }))
                .bind::<Array<Nullable<Text>>, _>(column(group, |r| {
                    r.next_state().message_id.map(str::to_owned)
                })),
        )
        .load(conn)?)
    };
    let applied: Vec<Applied> = if shared.is_empty() {
        run(conn)?
    } else {
        conn.transaction(|conn| {
            lock_events(conn, &shared)?;
            run(conn)
        })?
    };
    // By claim, not by message: one group can hold a stale claim's outcome and the current
    // claim's outcome for the same message.
    type Key = (uuid::Uuid, uuid::Uuid);
    let applied: std::collections::HashMap<Key, Option<chrono::DateTime<chrono::Utc>>> = applied
        .into_iter()
        .map(|a| ((a.id, a.token), a.sent_at))
        .collect();
    Ok(group
        .iter()
        .map(|r| match applied.get(&(r.claim.id, r.claim.token)) {
            Some(sent_at) => FinishResult::Applied { sent_at: *sent_at },
            None => FinishResult::Stale,
        })
        .collect())
}

#[derive(QueryableByName)]
struct NextDue {
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    ms: Option<f64>,
}

/// Both halves read the low end of a partial index; a paused or cooling endpoint's work is due
/// when its pause or cool-down ends, and a delivery waiting behind its ordering key's head is
/// not due (the head is). Rounded up: "due now" means claimable now
/// (a lease is claimable once it has run out, a pending row once it is due).
pub fn next_due(conn: &mut PgConnection) -> Result<Option<Duration>, StoreError> {
    let next: NextDue = Prepared(diesel::sql_query(concat!(
        "SELECT ceil(EXTRACT(EPOCH FROM least(
                    (SELECT min(greatest(d.at, e.paused_until, e.breaker_until))
                     FROM endpoints e CROSS JOIN LATERAL (
                         SELECT next_attempt_at AS at FROM deliveries d
                         WHERE d.endpoint_id = e.id AND d.status = 'pending'
                           AND ",
        unblocked!("d", "e.on_failure = 'block'"),
        "
                         ORDER BY next_attempt_at LIMIT 1) d
                     WHERE e.enabled),
                    (SELECT min(lease_expires_at) FROM deliveries WHERE status = 'sending')
                        + interval '1 microsecond')
                 - now()) * 1000)::float8 AS ms",
    )))
    .get_result(conn)?;
    Ok(next
        .ms
        .map(|ms| Duration::from_millis(ms.max(0.0).min(u64::MAX as f64) as u64)))
}

/// Back to `pending`, due now, the attempt it counted given back.
pub fn release(conn: &mut PgConnection, claims: &[Claim]) -> Result<usize, StoreError> {
    let ids: Vec<uuid::Uuid> = claims.iter().map(|c| c.id).collect();
    let tokens: Vec<uuid::Uuid> = claims.iter().map(|c| c.token).collect();
    // One statement for the whole set; each row is still guarded by its own token, which a row
    // holds only while `sending` (constraint deliveries_token_while_sending).
    Ok(diesel::sql_query(
        "UPDATE deliveries m
         SET status = 'pending', attempts = m.attempts - 1, attempt_seq = m.attempt_seq - 1,
             claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
         WHERE m.id = c.id AND m.claim_token = c.token",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(tokens)
    .execute(conn)?)
}

/// Tells every listening dispatcher that work may be due; the payload names the instance.
pub fn announce_due(conn: &mut PgConnection, from: &str) -> Result<(), StoreError> {
    Prepared(diesel::sql_query("SELECT pg_notify('herald_due', $1)").bind::<Text, _>(from))
        .execute(conn)?;
    Ok(())
}
