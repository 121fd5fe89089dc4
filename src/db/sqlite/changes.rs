//! Reading one event, and the API's state changes of deliveries (retry, cancel) on SQLite, each
//! followed by the roll-up of its events' statuses in the same write transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::{EventRecord, Scope};
use super::super::models::AttemptRow;
use super::events::load;
use super::rows::{StoredAttempt, millis};
use crate::domain::MessageStatus;

/// Writes each event's status from its deliveries, where it changed (as on PostgreSQL).
const ROLL_UP_SQL: &str = "\
UPDATE events
SET status = r.status, updated_at = ?2,
    sent_at = CASE WHEN r.status = 'sent' THEN r.last_sent END
FROM (SELECT event_id,
             CASE WHEN max(status IN ('pending', 'sending')) THEN 'pending'
                  WHEN min(status = 'cancelled') THEN 'cancelled'
                  WHEN max(status = 'failed') THEN 'failed'
                  ELSE 'sent' END AS status,
             max(sent_at) AS last_sent
      FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1)) GROUP BY event_id) AS r
WHERE events.id = r.event_id AND events.status <> r.status";

pub fn roll_up<'a>(
    conn: &mut SqliteConnection,
    events: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let ids: Vec<&str> = events.into_iter().collect();
    if !ids.is_empty() {
        diesel::sql_query(ROLL_UP_SQL)
            .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
            .bind::<BigInt, _>(millis(Utc::now()))
            .execute(conn)?;
    }
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
             WHERE event_id = ?1 AND (?2 IS NULL OR id = ?2) AND status = ?3",
        )
        .bind::<Text, _>(event.to_string())
        .bind::<Nullable<Text>, _>(delivery.map(|d| d.to_string()))
        .bind::<Text, _>(from.as_str())
        .bind::<Text, _>(to.as_str())
        .bind::<BigInt, _>(millis(Utc::now()))
        .bind::<Integer, _>(i32::from(reset))
        .execute(conn)?;
        let record = load(conn, &[event])?.pop().ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(super::super::events::conflict(&record, delivery, from));
        }
        roll_up(conn, [event.to_string().as_str()])?;
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
    )
}

pub fn cancel(conn: &mut SqliteConnection, scope: Scope) -> Result<EventRecord, StoreError> {
    transition(
        conn,
        scope,
        MessageStatus::Pending,
        MessageStatus::Cancelled,
        false,
    )
}
