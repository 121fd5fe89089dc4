//! Events and their deliveries on PostgreSQL: creates, with their idempotency check (the insert
//! itself is in `insert`), and reads, a page of events, then their deliveries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::events::*;
use super::super::rules::apply;
use super::super::{Batch, Inserted, StoreError};
use super::insert::insert_all;
use super::slots::Slots;

type SqlUuid = diesel::sql_types::Uuid;

#[derive(QueryableByName)]
pub(super) struct EventRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub r#type: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub channels: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub request_fingerprint: Option<String>,
}

#[derive(QueryableByName)]
pub(super) struct DeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    pub endpoint: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub message_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub replay_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    pub replay_after: Option<i32>,
}

pub(super) const EVENT_COLUMNS: &str =
    "id, type, payload, channels, status, sent_at, created_at, updated_at, request_fingerprint";

pub fn channels_text(channels: &[String]) -> Option<String> {
    (!channels.is_empty()).then(|| serde_json::Value::from(channels.to_vec()).to_string())
}

/// Events by id, in the order asked, each with its deliveries.
pub fn load(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<EventRecord>, StoreError> {
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY($1)"
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)?;
    let mut by_id: HashMap<Uuid, EventRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    let ordered: Vec<EventRow> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    with_deliveries(conn, ordered)
}

pub(super) fn with_deliveries(
    conn: &mut PgConnection,
    rows: Vec<EventRow>,
) -> Result<Vec<EventRecord>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let deliveries: Vec<DeliveryRow> = diesel::sql_query(
        "SELECT d.id, d.event_id, d.endpoint_id, p.name AS endpoint, d.status, d.attempts,
                d.next_attempt_at, d.message_id, d.last_error, d.sent_at, d.created_at, d.updated_at,
                d.replay_id, d.replay_after
         FROM deliveries d JOIN endpoints p ON p.id = d.endpoint_id
         WHERE d.event_id = ANY($1) ORDER BY d.created_at, p.name",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)?;
    let mut grouped: HashMap<Uuid, Vec<DeliveryRecord>> = HashMap::new();
    for d in deliveries {
        grouped.entry(d.event_id).or_default().push(d.into_record());
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let deliveries = grouped.remove(&r.id).unwrap_or_default();
            r.into_record(deliveries)
        })
        .collect())
}

pub fn insert_event(conn: &mut PgConnection, new: &NewEvent) -> Result<Inserted, StoreError> {
    if new.idempotency.is_none() && new.reminders.is_empty() {
        // One statement, atomic on its own: no transaction to open and commit around it.
        return Ok(Inserted::Created(
            insert_all(conn, std::slice::from_ref(new))?.remove(0),
        ));
    }
    conn.transaction(|conn| {
        if let Some((key, fingerprint)) = &new.idempotency {
            // A key a batch took is not free for a single create.
            let batch_key =
                diesel::sql_query("SELECT 1 FROM batch_requests WHERE idempotency_key = $1")
                    .bind::<Text, _>(key)
                    .execute(conn)?;
            if batch_key > 0 {
                return Err(StoreError::IdempotencyMismatch);
            }
            let earlier: Option<EventRow> = diesel::sql_query(format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE idempotency_key = $1 FOR UPDATE"
            ))
            .bind::<Text, _>(key)
            .get_result(conn)
            .optional()?;
            if let Some(first) = earlier {
                if first.request_fingerprint.as_deref() != Some(fingerprint.as_str()) {
                    return Err(StoreError::IdempotencyMismatch);
                }
                return Ok(Inserted::Replayed(
                    with_deliveries(conn, vec![first])?.remove(0),
                ));
            }
        }
        let stored = insert_all(conn, std::slice::from_ref(new))?.remove(0);
        apply(&mut Slots(conn), std::slice::from_ref(new))?;
        Ok(Inserted::Created(stored))
    })
    .or_else(|e| match (&e, &new.idempotency) {
        // Two requests with one new key raced: the loser answers as a replay would.
        (
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )),
            Some(_),
        ) => insert_event(conn, new),
        _ => Err(e),
    })
}

pub fn insert_events(
    conn: &mut PgConnection,
    new: &[NewEvent],
    idempotency: Option<&(String, String)>,
) -> Result<Batch, StoreError> {
    let ids: Vec<Uuid> = new.iter().map(|e| e.id).collect();
    if idempotency.is_none() && new.iter().all(|e| e.reminders.is_empty()) {
        return Ok(Batch::Created(insert_all(conn, new)?));
    }
    conn.transaction(|conn| {
        if let Some((key, fingerprint)) = idempotency {
            #[derive(QueryableByName)]
            struct Earlier {
                #[diesel(sql_type = Text)]
                request_fingerprint: String,
                #[diesel(sql_type = Array<SqlUuid>)]
                event_ids: Vec<Uuid>,
            }
            // Claims the key, or finds who has it; a key used by a single create is taken too.
            let claimed = diesel::sql_query(
                "INSERT INTO batch_requests (idempotency_key, request_fingerprint, event_ids)
                 SELECT $1, $2, $3
                 WHERE NOT EXISTS (SELECT 1 FROM events WHERE idempotency_key = $1)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind::<Text, _>(key)
            .bind::<Text, _>(fingerprint)
            .bind::<Array<SqlUuid>, _>(&ids)
            .execute(conn)?;
            if claimed == 0 {
                let earlier: Option<Earlier> = diesel::sql_query(
                    "SELECT request_fingerprint, event_ids FROM batch_requests WHERE idempotency_key = $1",
                )
                .bind::<Text, _>(key)
                .get_result(conn)
                .optional()?;
                return match earlier {
                    Some(e) if &e.request_fingerprint == fingerprint => {
                        Ok(Batch::Replayed(load(conn, &e.event_ids)?))
                    }
                    _ => Err(StoreError::IdempotencyMismatch),
                };
            }
        }
        let stored = insert_all(conn, new)?;
        apply(&mut Slots(conn), new)?;
        Ok(Batch::Created(stored))
    })
}

/// The WHERE clause of a status filter (`$2` is bound to the status it returns). For
/// `/messages`, `sending` is a pending event with a delivery in flight and `pending` one
/// without.
fn status_sql(filter: &Option<StatusFilter>) -> (&'static str, Option<&'static str>) {
    use crate::domain::MessageStatus as M;
    match filter {
        None => ("TRUE", None),
        Some(StatusFilter::Event(s)) => ("status = $2", Some(s.as_str())),
        Some(StatusFilter::Message(M::Sending)) => (
            "status = $2 AND EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.event_id = events.id AND d.status = 'sending')",
            Some("pending"),
        ),
        Some(StatusFilter::Message(M::Pending)) => (
            "status = $2 AND NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.event_id = events.id AND d.status = 'sending')",
            Some("pending"),
        ),
        Some(StatusFilter::Message(m)) => ("status = $2", Some(m.as_str())),
    }
}

pub fn list(conn: &mut PgConnection, filter: &EventFilter) -> Result<EventPage, StoreError> {
    let (status_clause, status) = status_sql(&filter.status);
    let order = match status {
        Some("sent") => "sent_at DESC, id DESC",
        _ => "created_at DESC, id DESC",
    };
    let condition =
        format!("($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR {status_clause})");
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {condition} ORDER BY {order} LIMIT $3 OFFSET $4"
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
