//! Storing and reading events and their deliveries on SQLite. Idempotency checks and inserts run
//! in one write transaction; there is one writer, so no race between them.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use serde_json::json;
use uuid::Uuid;

use super::super::events::*;
use super::super::rules::apply;
use super::super::{Batch, HandOff, Inserted, StoreError};
use super::rows::{DELIVERY_COLUMNS, DeliveryRow, EVENT_COLUMNS, EventRow, millis, uuid};
use super::slots::Slots;
use crate::domain::MessageStatus;

/// Inserts the events and their deliveries, and returns them as stored, in the order given: this
/// process is the only writer, so what it wrote is what is there (no read after the write).
pub(super) fn insert_all(
    conn: &mut SqliteConnection,
    new: &[NewEvent],
) -> Result<Vec<EventRecord>, StoreError> {
    let now = millis(Utc::now());
    let at = super::rows::time(now);
    let events: Vec<serde_json::Value> = new
        .iter()
        .map(|e| {
            json!({
                "id": e.id.to_string(),
                "type": e.event_type,
                "payload": e.payload.to_string(),
                "channels": (!e.channels.is_empty()).then(|| serde_json::Value::from(e.channels.clone()).to_string()),
                "deliveries": e.routes.len(),
                "send_at": e.send_at.map(millis),
                "key": e.idempotency.as_ref().map(|(k, _)| k),
                "fingerprint": e.idempotency.as_ref().map(|(_, f)| f),
            })
        })
        .collect();
    diesel::sql_query(
        "INSERT INTO events (id, type, payload, channels, deliveries, open, send_at,
                             idempotency_key, request_fingerprint, created_at, updated_at)
         SELECT value ->> 'id', value ->> 'type', value ->> 'payload', value ->> 'channels',
                value ->> 'deliveries', value ->> 'deliveries', value ->> 'send_at',
                value ->> 'key', value ->> 'fingerprint', ?2, ?2
         FROM json_each(?1)",
    )
    .bind::<Text, _>(serde_json::Value::from(events).to_string())
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    let (ids, planned) = plan(new);
    let deliveries: Vec<serde_json::Value> = planned
        .iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "event": p.event.id.to_string(),
                "endpoint": p.route.endpoint_id.to_string(),
                "due": p.event.send_at.map(millis),
                "key": p.route.ordering_key,
                "token": p.token.map(|t| t.to_string()),
            })
        })
        .collect();
    // One hand-off per statement: a single create's.
    let hand_off = new.iter().find_map(|e| e.hand_off.as_ref());
    let mut handed: Vec<Uuid> = Vec::new();
    if !deliveries.is_empty() {
        // A route with a token goes in `sending` under it when its endpoint can take it now,
        // by the claim's rule (see `HandOff`).
        let rows: Vec<Stored> = diesel::sql_query(
            "INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at, created_at, updated_at,
                                     ordering_key, status, claim_token, claimed_by, lease_expires_at,
                                     attempts, attempt_seq)
             SELECT id, ev, ep, due, ?2, ?2, k, CASE WHEN go THEN 'sending' ELSE 'pending' END,
                    CASE WHEN go THEN tok END, CASE WHEN go THEN ?3 END,
                    CASE WHEN go THEN ?2 + ?4 END, go, go
             FROM (SELECT value ->> 'id' AS id, value ->> 'event' AS ev, value ->> 'endpoint' AS ep,
                          coalesce(value ->> 'due', ?2) AS due, value ->> 'key' AS k,
                          value ->> 'token' AS tok,
                          (value ->> 'token') IS NOT NULL AND (SELECT active FROM dispatch_state) = 1
                          AND coalesce((SELECT enabled = 1 AND breaker_state = 'closed'
                                               AND coalesce(paused_until, 0) <= ?2
                                        FROM endpoints WHERE id = value ->> 'endpoint'), 0) AS go
                   FROM json_each(?1))
             RETURNING id, status",
        )
        .bind::<Text, _>(serde_json::Value::from(deliveries).to_string())
        .bind::<BigInt, _>(now)
        .bind::<Text, _>(hand_off.map_or("", |h| h.worker.as_str()))
        .bind::<BigInt, _>(hand_off.map_or(0, HandOff::lease_ms))
        .load(conn)?;
        handed = rows
            .iter()
            .filter(|r| r.status == "sending")
            .map(|r| uuid(&r.id))
            .collect::<Result<_, _>>()?;
    }
    Ok(new
        .iter()
        .zip(&ids)
        .map(|(e, ids)| e.stored(ids, at, &handed))
        .collect())
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    status: String,
}

/// Events by id, in the order asked, each with its deliveries.
pub fn load(conn: &mut SqliteConnection, ids: &[Uuid]) -> Result<Vec<EventRecord>, StoreError> {
    let list = ids_json(ids);
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?1))"
    ))
    .bind::<Text, _>(&list)
    .load(conn)?;
    let mut by_id: HashMap<String, EventRow> =
        rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    let ordered: Vec<EventRow> = ids
        .iter()
        .filter_map(|id| by_id.remove(&id.to_string()))
        .collect();
    with_deliveries(conn, ordered)
}

pub(super) fn ids_json(ids: &[Uuid]) -> String {
    serde_json::Value::from(ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()).to_string()
}

pub fn with_deliveries(
    conn: &mut SqliteConnection,
    rows: Vec<EventRow>,
) -> Result<Vec<EventRecord>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let deliveries: Vec<DeliveryRow> = diesel::sql_query(format!(
        "SELECT {DELIVERY_COLUMNS} FROM json_each(?1) AS i
         CROSS JOIN deliveries d ON d.event_id = i.value
         JOIN endpoints p ON p.id = d.endpoint_id
         ORDER BY d.created_at, p.name"
    ))
    .bind::<Text, _>(serde_json::Value::from(ids).to_string())
    .load(conn)?;
    let mut grouped: HashMap<String, Vec<DeliveryRecord>> = HashMap::new();
    for d in deliveries {
        grouped
            .entry(d.event_id.clone())
            .or_default()
            .push(d.into_record()?);
    }
    rows.into_iter()
        .map(|r| {
            let deliveries = grouped.remove(&r.id).unwrap_or_default();
            r.into_record(deliveries)
        })
        .collect()
}

fn by_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<EventRow>, StoreError> {
    Ok(diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE idempotency_key = ?1"
    ))
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()?)
}

#[derive(QueryableByName)]
struct Earlier {
    #[diesel(sql_type = Text)]
    request_fingerprint: String,
    #[diesel(sql_type = Text)]
    event_ids: String,
}

fn batch_by_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<Earlier>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT request_fingerprint, event_ids FROM batch_requests WHERE idempotency_key = ?1",
    )
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()?)
}

pub fn insert_event(conn: &mut SqliteConnection, new: &NewEvent) -> Result<Inserted, StoreError> {
    conn.immediate_transaction(|conn| {
        if let Some((key, fingerprint)) = &new.idempotency {
            // A key a batch took is not free for a single create.
            if batch_by_key(conn, key)?.is_some() {
                return Err(StoreError::IdempotencyMismatch);
            }
            match by_key(conn, key)? {
                Some(first) if first.request_fingerprint.as_deref() == Some(fingerprint) => {
                    return Ok(Inserted::Replayed(
                        with_deliveries(conn, vec![first])?.remove(0),
                    ));
                }
                Some(_) => return Err(StoreError::IdempotencyMismatch),
                None => {}
            }
        }
        let stored = insert_all(conn, std::slice::from_ref(new))?.remove(0);
        apply(&mut Slots(conn), std::slice::from_ref(new))?;
        Ok(Inserted::Created(stored))
    })
}

pub fn insert_events(
    conn: &mut SqliteConnection,
    new: &[NewEvent],
    idempotency: Option<&(String, String)>,
) -> Result<Batch, StoreError> {
    let ids: Vec<Uuid> = new.iter().map(|e| e.id).collect();
    conn.immediate_transaction(|conn| {
        if let Some((key, fingerprint)) = idempotency {
            if by_key(conn, key)?.is_some() {
                return Err(StoreError::IdempotencyMismatch);
            }
            if let Some(earlier) = batch_by_key(conn, key)? {
                if &earlier.request_fingerprint != fingerprint {
                    return Err(StoreError::IdempotencyMismatch);
                }
                let ids: Vec<Uuid> = serde_json::from_str::<Vec<String>>(&earlier.event_ids)
                    .map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))?
                    .iter()
                    .map(|id| uuid(id))
                    .collect::<Result<_, _>>()?;
                return Ok(Batch::Replayed(load(conn, &ids)?));
            }
            diesel::sql_query(
                "INSERT INTO batch_requests (idempotency_key, request_fingerprint, event_ids, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind::<Text, _>(key)
            .bind::<Text, _>(fingerprint)
            .bind::<Text, _>(ids_json(&ids))
            .bind::<BigInt, _>(millis(Utc::now()))
            .execute(conn)?;
        }
        let stored = insert_all(conn, new)?;
        apply(&mut Slots(conn), new)?;
        Ok(Batch::Created(stored))
    })
}

pub fn list(conn: &mut SqliteConnection, filter: &EventFilter) -> Result<EventPage, StoreError> {
    const IN_FLIGHT: &str =
        "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'sending')";
    let (status_sql, status) = match filter.status {
        None => ("TRUE".to_owned(), None),
        Some(StatusFilter::Event(s)) => ("status = ?2".to_owned(), Some(s.as_str())),
        Some(StatusFilter::Message(MessageStatus::Sending)) => {
            (format!("status = ?2 AND {IN_FLIGHT}"), Some("pending"))
        }
        Some(StatusFilter::Message(MessageStatus::Pending)) => {
            (format!("status = ?2 AND NOT {IN_FLIGHT}"), Some("pending"))
        }
        Some(StatusFilter::Message(m)) => ("status = ?2".to_owned(), Some(m.as_str())),
    };
    let order = if status == Some("sent") {
        "sent_at DESC, id DESC"
    } else {
        "created_at DESC, id DESC"
    };
    let condition = format!("(?1 IS NULL OR type = ?1) AND (?2 IS NULL OR {status_sql})");
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {condition} ORDER BY {order} LIMIT ?3 OFFSET ?4"
    ))
    .bind::<Nullable<Text>, _>(filter.event_type.as_deref())
    .bind::<Nullable<Text>, _>(status)
    .bind::<BigInt, _>(i64::from(filter.limit))
    .bind::<BigInt, _>(i64::try_from(filter.offset).unwrap_or(i64::MAX))
    .load(conn)?;
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let total: Total = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM events WHERE {condition}"
    ))
    .bind::<Nullable<Text>, _>(filter.event_type.as_deref())
    .bind::<Nullable<Text>, _>(status)
    .get_result(conn)?;
    Ok(EventPage {
        events: with_deliveries(conn, rows)?,
        total: total.n,
    })
}
