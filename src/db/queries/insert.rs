//! Storing events on PostgreSQL: an event and its deliveries (handed off or not) in one
//! statement, answered from what was written.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::events::*;
use super::super::{HandOff, StoreError};
use super::events::channels_text;
use super::prepared::Prepared;

type SqlUuid = diesel::sql_types::Uuid;

#[derive(QueryableByName)]
struct StoredAt {
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    /// The deliveries stored `sending` for a hand-off.
    #[diesel(sql_type = Array<SqlUuid>)]
    handed: Vec<Uuid>,
}

/// Inserts the events and their deliveries in one statement (atomic on its own) and returns
/// them as stored, in the order given, built from what was written: the deliveries' ids are
/// made here, and every time is the statement's `now()`, the one row it answers with, beside
/// the deliveries stored `sending` for a hand-off (a route with a token whose endpoint can take
/// it now, by the rule the claim applies: see [`HandOff`]).
pub(super) fn insert_all(
    conn: &mut PgConnection,
    new: &[NewEvent],
) -> Result<Vec<EventRecord>, StoreError> {
    fn column<'a, T>(new: &'a [NewEvent], f: impl Fn(&'a NewEvent) -> T) -> Vec<T> {
        new.iter().map(f).collect()
    }
    let (ids, routes) = plan(new);
    // One hand-off per statement: a single create's.
    let hand_off = new.iter().find_map(|e| e.hand_off.as_ref());
    let stored: StoredAt = Prepared(
        diesel::sql_query(
            "WITH stored AS (
                 INSERT INTO events (id, type, payload, channels, deliveries, open, send_at,
                                     idempotency_key, request_fingerprint)
                 SELECT id, t, p, c, n, n, s, k, f
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[],
                             $6::timestamptz[], $7::text[], $8::text[]) AS u(id, t, p, c, n, s, k, f)
             ), routes AS MATERIALIZED (
                 -- Whether each route goes in handed off, by the claim's rule. The endpoints that
                 -- can take a delivery now are read once (a test per row made the generic plan
                 -- look dear, and PostgreSQL planned the statement again at every call).
                 SELECT t.*, tok IS NOT NULL AND (SELECT active FROM dispatch_state)
                        AND t.p = ANY((SELECT array_agg(x.id) FROM endpoints x
                                       WHERE x.enabled AND x.breaker_state = 'closed'
                                         AND coalesce(x.paused_until <= now(), true))::uuid[]) AS go
                 FROM unnest($9::uuid[], $10::uuid[], $11::uuid[], $12::timestamptz[],
                             $13::text[], $14::uuid[]) AS t(d, e, p, s, k, tok)
             ), routed AS (
                 INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at, ordering_key,
                                         status, claim_token, claimed_by, lease_expires_at,
                                         attempts, attempt_seq)
                 SELECT d, e, p, coalesce(s, now()), k,
                        CASE WHEN go THEN 'sending' ELSE 'pending' END,
                        CASE WHEN go THEN tok END, CASE WHEN go THEN $15 END,
                        CASE WHEN go THEN now() + $16 * interval '1 millisecond' END,
                        go::int4, go::int4
                 FROM routes
                 RETURNING id, status
             )
             SELECT now() AS at,
                    coalesce((SELECT array_agg(id) FROM routed WHERE status = 'sending'),
                             '{}') AS handed",
        )
        .bind::<Array<SqlUuid>, _>(column(new, |e| e.id))
        .bind::<Array<Text>, _>(column(new, |e| e.event_type.as_str()))
        .bind::<Array<Text>, _>(column(new, |e| e.payload.to_string()))
        .bind::<Array<Nullable<Text>>, _>(column(new, |e| channels_text(&e.channels)))
        .bind::<Array<diesel::sql_types::Integer>, _>(column(new, |e| e.routes.len() as i32))
        .bind::<Array<Nullable<Timestamptz>>, _>(column(new, |e| e.send_at))
        .bind::<Array<Nullable<Text>>, _>(column(new, |e| {
            e.idempotency.as_ref().map(|i| i.0.as_str())
        }))
        .bind::<Array<Nullable<Text>>, _>(column(new, |e| {
            e.idempotency.as_ref().map(|i| i.1.as_str())
        }))
        .bind::<Array<SqlUuid>, _>(routes.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(routes.iter().map(|r| r.event.id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(routes.iter().map(|r| r.route.endpoint_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            routes.iter().map(|r| r.event.send_at).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(
            routes
                .iter()
                .map(|r| r.route.ordering_key.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(routes.iter().map(|r| r.token).collect::<Vec<_>>())
        .bind::<Text, _>(hand_off.map_or("", |h| h.worker.as_str()))
        .bind::<BigInt, _>(hand_off.map_or(0, HandOff::lease_ms)),
    )
    .get_result(conn)?;
    Ok(new
        .iter()
        .zip(&ids)
        .map(|(e, ids)| e.stored(ids, stored.at, &stored.handed))
        .collect())
}
