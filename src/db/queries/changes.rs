//! Reading one event, and the API's state changes of deliveries (retry, cancel) on PostgreSQL,
//! each moving its event's counters (its status is a generated column of them) in the same
//! transaction.

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::*;
use super::super::models::AttemptRow;
use super::events::{DeliveryRow, EventRow, load};
use super::prepared::Prepared;
use crate::domain::{EventStatus, MessageStatus};

type SqlUuid = diesel::sql_types::Uuid;

/// Takes the rows of events another writer may move too, in id order, so that two groups that
/// share events never wait for each other in a circle.
const LOCK_SQL: &str = "SELECT 1 FROM events WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";

/// Moves each event's counters; its status is a generated column of them. Increments commute,
/// so concurrent writers need no more than the row lock the update takes. A counter never goes
/// below zero: rows written by hand could make it drift, and the event's status must never
/// stop a delivery's outcome from being recorded.
const COUNT_SQL: &str = "\
UPDATE events e
SET open = greatest(e.open + d.open, 0), failed = greatest(e.failed + d.failed, 0),
    cancelled = greatest(e.cancelled + d.cancelled, 0),
    sent_at = CASE WHEN d.sent THEN now() ELSE e.sent_at END, updated_at = now()
FROM unnest($1::uuid[], $2::int4[], $3::int4[], $4::int4[], $5::bool[])
     AS d(id, open, failed, cancelled, sent)
WHERE e.id = d.id";

/// Locks the rows of `events` (which may be moved by other writers too) in id order.
pub fn lock_events(conn: &mut PgConnection, events: &[Uuid]) -> Result<(), StoreError> {
    if !events.is_empty() {
        Prepared(diesel::sql_query(LOCK_SQL).bind::<Array<SqlUuid>, _>(events)).execute(conn)?;
    }
    Ok(())
}

pub fn count(conn: &mut PgConnection, moves: &[Moved]) -> Result<(), StoreError> {
    if moves.is_empty() {
        return Ok(());
    }
    let shared: Vec<Uuid> = moves
        .iter()
        .filter(|m| m.shared)
        .map(|m| m.event_id)
        .collect();
    lock_events(conn, &shared)?;
    let column = |f: fn(&Moved) -> i32| moves.iter().map(f).collect::<Vec<_>>();
    Prepared(
        diesel::sql_query(COUNT_SQL)
            .bind::<Array<SqlUuid>, _>(moves.iter().map(|m| m.event_id).collect::<Vec<_>>())
            .bind::<Array<diesel::sql_types::Integer>, _>(column(|m| m.open))
            .bind::<Array<diesel::sql_types::Integer>, _>(column(|m| m.failed))
            .bind::<Array<diesel::sql_types::Integer>, _>(column(|m| m.cancelled))
            .bind::<Array<diesel::sql_types::Bool>, _>(
                moves.iter().map(|m| m.sent).collect::<Vec<_>>(),
            ),
    )
    .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<(EventRecord, Vec<AttemptRow>), StoreError> {
    let event = load(conn, &[id])?.pop().ok_or(StoreError::NotFound)?;
    let ids: Vec<Uuid> = event.deliveries.iter().map(|d| d.id).collect();
    use super::super::schema::delivery_attempts as a;
    let attempts = a::table
        .filter(a::delivery_id.eq_any(&ids))
        .order((a::started_at, a::id))
        .select(AttemptRow::as_select())
        .load(conn)?;
    Ok((event, attempts))
}

/// `from` → `to` for the deliveries in `scope` that are in `from`; `Conflict` when there are
/// none, `NotFound` when the event or the delivery does not exist.
fn transition(
    conn: &mut PgConnection,
    scope: Scope,
    from: MessageStatus,
    to: MessageStatus,
    reset: bool,
    holding: bool,
) -> Result<EventRecord, StoreError> {
    let (event, delivery) = match scope {
        Scope::Event(e) => (e, None),
        Scope::Delivery { event, delivery } => (event, Some(delivery)),
    };
    conn.transaction(|conn| {
        let changed = diesel::sql_query(
            "UPDATE deliveries
             SET status = $4, updated_at = now(),
                 attempts = CASE WHEN $5 THEN 0 ELSE attempts END,
                 next_attempt_at = CASE WHEN $5 THEN now() ELSE next_attempt_at END
             WHERE event_id = $1 AND ($2::uuid IS NULL OR id = $2) AND status = $3
               AND (NOT $6 OR ordering_key IS NOT NULL AND EXISTS (
                   SELECT 1 FROM endpoints p WHERE p.id = endpoint_id AND p.on_failure = 'block'))",
        )
        .bind::<SqlUuid, _>(event)
        .bind::<Nullable<SqlUuid>, _>(delivery)
        .bind::<Text, _>(from.as_str())
        .bind::<Text, _>(to.as_str())
        .bind::<diesel::sql_types::Bool, _>(reset)
        .bind::<diesel::sql_types::Bool, _>(holding)
        .execute(conn)?;
        let record = load(conn, &[event])?.pop().ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(super::super::events::conflict(&record, delivery, from));
        }
        let moves = (0..changed).map(|_| Moved::of(event, from, to, false));
        count(conn, &Moved::summed(moves))?;
        load(conn, &[event])?.pop().ok_or(StoreError::NotFound)
    })
}

pub fn retry(conn: &mut PgConnection, scope: Scope) -> Result<EventRecord, StoreError> {
    transition(
        conn,
        scope,
        MessageStatus::Failed,
        MessageStatus::Pending,
        true,
        false,
    )
}

/// See [`cancel_by`](super::super::events::cancel_by).
pub fn cancel(conn: &mut PgConnection, scope: Scope) -> Result<EventRecord, StoreError> {
    super::super::events::cancel_by(|from, holding| {
        transition(conn, scope, from, MessageStatus::Cancelled, false, holding)
    })
}

impl EventRow {
    pub(super) fn into_record(self, deliveries: Vec<DeliveryRecord>) -> EventRecord {
        EventRecord {
            id: self.id,
            event_type: self.r#type,
            // Herald wrote it from a parsed object, and the table checks it is one.
            payload: serde_json::from_str(&self.payload).unwrap_or_default(),
            channels: parse_channels(self.channels.as_deref()),
            // A generated column that yields only known statuses.
            status: self.status.parse().unwrap_or(EventStatus::Failed),
            sent_at: self.sent_at.filter(|_| self.status == "sent"),
            created_at: self.created_at,
            updated_at: self.updated_at,
            deliveries,
        }
    }
}

impl DeliveryRow {
    pub(super) fn into_record(self) -> DeliveryRecord {
        DeliveryRecord {
            id: self.id,
            event_id: self.event_id,
            endpoint_id: self.endpoint_id,
            endpoint: self.endpoint,
            status: self.status.parse().unwrap_or(MessageStatus::Failed),
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            message_id: self.message_id,
            last_error: self.last_error,
            sent_at: self.sent_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            replay: self.replay_id.zip(self.replay_after),
        }
    }
}

pub fn parse_channels(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}
