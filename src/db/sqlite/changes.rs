//! Reading one event, and the API's state changes of deliveries (retry, cancel) on SQLite, each
//! moving its event's counters (its status is a generated column) in the same transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::{EventRecord, Moved, Scope};
use super::super::models::AttemptRow;
use super::events::load;
use super::rows::{StoredAttempt, millis};
use crate::domain::MessageStatus;

/// Moves each event's counters (as on PostgreSQL; one writer, so no lock is needed).
const COUNT_SQL: &str = "\
UPDATE events
SET open = max(events.open + d.open, 0), failed = max(events.failed + d.failed, 0),
    cancelled = max(events.cancelled + d.cancelled, 0),
    sent_at = CASE WHEN d.sent THEN ?2 ELSE events.sent_at END, updated_at = ?2
FROM (SELECT value ->> 'id' AS id, value ->> 'open' AS open, value ->> 'failed' AS failed,
             value ->> 'cancelled' AS cancelled, value ->> 'sent' AS sent
      FROM json_each(?1)) AS d
WHERE events.id = d.id";

pub fn count(conn: &mut SqliteConnection, moves: &[Moved]) -> Result<(), StoreError> {
    if moves.is_empty() {
        return Ok(());
    }
    let input: Vec<serde_json::Value> = moves
        .iter()
        .map(|m| {
            serde_json::json!({"id": m.event_id.to_string(), "open": m.open, "failed": m.failed,
                               "cancelled": m.cancelled, "sent": m.sent})
        })
        .collect();
    diesel::sql_query(COUNT_SQL)
        .bind::<Text, _>(serde_json::Value::from(input).to_string())
        .bind::<BigInt, _>(millis(Utc::now()))
        .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> Result<(EventRecord, Vec<AttemptRow>), StoreError> {
    let event = load(conn, &[id])?.pop().ok_or(StoreError::NotFound)?;
    let ids: Vec<String> = event.deliveries.iter().map(|d| d.id.to_string()).collect();
    let attempts: Vec<StoredAttempt> = diesel::sql_query(
        "SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.outcome,
                a.status_code, a.error_class, a.response_excerpt
         FROM json_each(?1) AS i CROSS JOIN delivery_attempts a ON a.delivery_id = i.value
         ORDER BY a.started_at, a.id",
    )
    .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
    .load(conn)?;
    let attempts = attempts
        .into_iter()
        .map(StoredAttempt::into_row)
        .collect::<Result<_, _>>()?;
    Ok((event, attempts))
}

fn transition(
    conn: &mut SqliteConnection,
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
    conn.immediate_transaction(|conn| {
        let changed = diesel::sql_query(
            "UPDATE deliveries
             SET status = ?4, updated_at = ?5,
                 attempts = CASE WHEN ?6 THEN 0 ELSE attempts END,
                 next_attempt_at = CASE WHEN ?6 THEN ?5 ELSE next_attempt_at END
             WHERE event_id = ?1 AND (?2 IS NULL OR id = ?2) AND status = ?3
               AND (NOT ?7 OR ordering_key IS NOT NULL AND EXISTS (
                   SELECT 1 FROM endpoints p WHERE p.id = endpoint_id AND p.on_failure = 'block'))",
        )
        .bind::<Text, _>(event.to_string())
        .bind::<Nullable<Text>, _>(delivery.map(|d| d.to_string()))
        .bind::<Text, _>(from.as_str())
        .bind::<Text, _>(to.as_str())
        .bind::<BigInt, _>(millis(Utc::now()))
        .bind::<Integer, _>(i32::from(reset))
        .bind::<Integer, _>(i32::from(holding))
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

pub fn retry(conn: &mut SqliteConnection, scope: Scope) -> Result<EventRecord, StoreError> {
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
pub fn cancel(conn: &mut SqliteConnection, scope: Scope) -> Result<EventRecord, StoreError> {
    super::super::events::cancel_by(|from, holding| {
        transition(conn, scope, from, MessageStatus::Cancelled, false, holding)
    })
}
