//! Claiming on SQLite, the same protocol as on PostgreSQL: due rows become `sending` with a
//! claim token and a lease, expired leases first, then each endpoint's oldest due rows up to its
//! share, taken in turns. One process writes, so nothing moves between reading the candidates
//! and claiming them, and the whole claim is one transaction.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

use super::super::StoreError;
use super::super::models::Claim;
use super::rows::{ClaimRow, millis, time, uuid};

/// Expired leases first, then pending rows round-robin across endpoints, as on PostgreSQL:
/// each endpoint's oldest due rows are read from its part of the pending index (named: without
/// statistics SQLite would pick the status index and sort the whole backlog), up to its share;
/// they are taken in turns up to the limit, and claimed in one statement. One process writes,
/// so nothing moves between the read and the claim; it is one transaction (one commit). One
/// token serves the whole claim: a token is fresh for every claim, which is what the guard
/// needs.
const CLAIM_EXPIRED_SQL: &str = "\
UPDATE deliveries
SET status = 'sending', claim_token = ?3, claimed_by = ?4, lease_expires_at = ?1 + ?5,
    attempts = attempts + 1, attempt_seq = attempt_seq + 1, updated_at = ?1
WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_sending_lease
             WHERE status = 'sending' AND lease_expires_at < ?1
             ORDER BY lease_expires_at LIMIT ?2)
  AND (SELECT active FROM dispatch_state) = 1
RETURNING id, attempts, attempt_seq, event_id, endpoint_id, next_attempt_at, created_at";

/// An endpoint's oldest due rows, if it is enabled, not paused, and its breaker closed (or it
/// is this claim's probe, `?4`), skipping those held behind their ordering key's head.
const OLDEST_DUE_SQL: &str = concat!(
    "\
SELECT d.id AS id FROM deliveries AS d INDEXED BY deliveries_pending_due
WHERE d.endpoint_id = ?1 AND d.status = 'pending' AND d.next_attempt_at <= ?2
  AND (SELECT enabled = 1 AND coalesce(paused_until, 0) <= ?2 AND (breaker_state = 'closed' OR ?4)
       FROM endpoints WHERE id = ?1)
  AND ",
    unblocked!(
        "d",
        "(SELECT on_failure = 'block' FROM endpoints WHERE id = ?1)"
    ),
    "
ORDER BY d.next_attempt_at, d.created_at LIMIT ?3"
);

/// Breakers whose cool-down ended move to half-open; each gives this claim its one probe.
const PROBES_SQL: &str = "\
UPDATE endpoints SET breaker_state = 'half_open', breaker_since = ?2, breaker_until = ?2 + ?3
WHERE id IN (SELECT value FROM json_each(?1)) AND enabled = 1 AND breaker_state <> 'closed'
  AND coalesce(breaker_until, 0) <= ?2 AND coalesce(paused_until, 0) <= ?2
RETURNING id";

const CLAIM_PENDING_SQL: &str = "\
UPDATE deliveries
SET status = 'sending', claim_token = ?3, claimed_by = ?4, lease_expires_at = ?1 + ?5,
    attempts = attempts + 1, attempt_seq = attempt_seq + 1, updated_at = ?1
WHERE id IN (SELECT value FROM json_each(?2)) AND status = 'pending'
  AND (SELECT active FROM dispatch_state) = 1
RETURNING id, attempts, attempt_seq, event_id, endpoint_id, next_attempt_at, created_at";

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// What a delivery needs of its event, for the claimed ones: one index lookup per event.
const EVENTS_SQL: &str = "\
SELECT e.id AS id, e.type AS event_type, e.payload AS payload, e.deliveries > 1 AS shared
FROM json_each(?1) AS i CROSS JOIN events AS e ON e.id = i.value";

#[derive(QueryableByName)]
struct EventPart {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    shared: bool,
}

pub fn claim_due(
    conn: &mut SqliteConnection,
    shares: &[crate::db::Share],
    limit: u32,
    lease: Duration,
    worker: &str,
) -> Result<Vec<Claim>, StoreError> {
    let deadline = Instant::now() + lease;
    let token = uuid::Uuid::new_v4();
    let now = millis(Utc::now());
    let lease_ms = lease.as_millis().min(i64::MAX as u128) as i64;
    let (mut probes, mut probe_ids) = (HashSet::new(), HashSet::new());
    let mut rows: Vec<ClaimRow> = conn.immediate_transaction(|conn| {
        let mut rows: Vec<ClaimRow> = diesel::sql_query(CLAIM_EXPIRED_SQL)
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(i64::from(limit))
            .bind::<Text, _>(token.to_string())
            .bind::<Text, _>(worker)
            .bind::<BigInt, _>(lease_ms)
            .load(conn)?;
        let left = limit.saturating_sub(rows.len() as u32) as usize;
        if left == 0 || shares.is_empty() {
            return Ok::<_, StoreError>(rows);
        }
        let ids: Vec<String> = shares.iter().map(|s| s.endpoint_id.to_string()).collect();
        let probing: Vec<Id> = diesel::sql_query(PROBES_SQL)
            .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(lease_ms)
            .load(conn)?;
        probes.extend(probing.into_iter().map(|p| p.id));
        let mut lists = Vec::with_capacity(shares.len());
        for (s, id) in shares.iter().zip(ids) {
            let probe = probes.contains(&id);
            let share = if probe { 1 } else { s.share.min(left as u32) };
            let ids: Vec<Id> = diesel::sql_query(OLDEST_DUE_SQL)
                .bind::<Text, _>(id)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(i64::from(share))
                .bind::<diesel::sql_types::Bool, _>(probe)
                .load(conn)?;
            if probe {
                probe_ids.extend(ids.iter().map(|i| i.id.clone()));
            }
            lists.push(ids.into_iter().map(|i| i.id).collect::<Vec<_>>());
        }
        let picked = in_turns(lists, left);
        if !picked.is_empty() {
            rows.extend(
                diesel::sql_query(CLAIM_PENDING_SQL)
                    .bind::<BigInt, _>(now)
                    .bind::<Text, _>(serde_json::to_string(&picked).unwrap_or_default())
                    .bind::<Text, _>(token.to_string())
                    .bind::<Text, _>(worker)
                    .bind::<BigInt, _>(lease_ms)
                    .load::<ClaimRow>(conn)?,
            );
        }
        Ok(rows)
    })?;
    rows.sort_by_key(|r| (r.next_attempt_at, r.created_at));
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let events: Vec<EventPart> = diesel::sql_query(EVENTS_SQL)
        .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
        .load(conn)?;
    let mut events: std::collections::HashMap<String, EventPart> =
        events.into_iter().map(|e| (e.id.clone(), e)).collect();
    rows.into_iter()
        .map(|r| {
            let event = events.get(&r.event_id).ok_or(StoreError::NotFound)?;
            let (event_type, payload, shared) = (
                event.event_type.clone(),
                event.payload.clone(),
                event.shared,
            );
            if !shared {
                events.remove(&r.event_id);
            }
            Ok(Claim {
                id: uuid(&r.id)?,
                token,
                attempt: r.attempts as u32,
                number: r.attempt_seq as u32,
                event_id: uuid(&r.event_id)?,
                endpoint_id: uuid(&r.endpoint_id)?,
                event_type,
                payload,
                shared,
                // An expired lease is never a probe.
                probe: probe_ids.contains(&r.id),
                created_at: time(r.created_at),
                deadline,
            })
        })
        .collect()
}

/// Takes from the lists in turns (each one's first, then each one's second, …) up to `limit`:
/// how a claim shares its batch among endpoints.
fn in_turns<T>(lists: Vec<Vec<T>>, limit: usize) -> Vec<T> {
    let mut lists: Vec<std::vec::IntoIter<T>> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    while out.len() < limit {
        let before = out.len();
        for list in &mut lists {
            if out.len() == limit {
                break;
            }
            out.extend(list.next());
        }
        if out.len() == before {
            break;
        }
    }
    out
}
