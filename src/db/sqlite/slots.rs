//! [`Slots`]: the statements [`apply`](super::super::rules::apply) writes an event's reminders
//! with on SQLite, inside the event's write transaction. There is one writer, so a subject
//! needs no lock of its own.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::{Moved, NewEvent};
use super::super::rules::{SlotConn, reminder_sql};
use super::changes::count;
use super::events::ids_json;
use super::rows::{millis, uuid};
use super::rules::Reminder;
use crate::domain::MessageStatus;
use crate::rules::slot::SlotRow;

/// Cancels the pending deliveries of `events`, with their events' counters.
pub(super) fn cancel_events(
    conn: &mut SqliteConnection,
    events: &[Uuid],
) -> Result<(), StoreError> {
    #[derive(QueryableByName)]
    struct Cancelled {
        #[diesel(sql_type = Text)]
        event_id: String,
    }
    let cancelled: Vec<Cancelled> = diesel::sql_query(
        "UPDATE deliveries SET status = 'cancelled', updated_at = ?2
         WHERE event_id IN (SELECT value FROM json_each(?1)) AND status = 'pending'
         RETURNING event_id",
    )
    .bind::<Text, _>(ids_json(events))
    .bind::<BigInt, _>(millis(Utc::now()))
    .load(conn)?;
    let moves: Vec<Moved> = cancelled
        .iter()
        .map(|c| {
            Ok(Moved::of(
                uuid(&c.event_id)?,
                MessageStatus::Pending,
                MessageStatus::Cancelled,
                false,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    count(conn, &moves)
}

/// [`SlotConn`] on the SQLite writer inside the event's transaction.
pub struct Slots<'a>(pub &'a mut SqliteConnection);

impl SlotConn for Slots<'_> {
    fn lock(&mut self, _rule: Uuid, _subject: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn rows(&mut self, rule: Uuid, subject: &str) -> Result<Vec<SlotRow>, StoreError> {
        let rows: Vec<Reminder> = diesel::sql_query(reminder_sql(
            "r.rule_id = ?1 AND r.subject = ?2",
            "ORDER BY r.created_at, r.id",
        ))
        .bind::<Text, _>(rule.to_string())
        .bind::<Text, _>(subject)
        .load(self.0)?;
        rows.into_iter().map(|r| Ok(r.into_record()?.row)).collect()
    }

    fn add_events(&mut self, events: &[NewEvent]) -> Result<(), StoreError> {
        super::events::insert_all(self.0, events).map(|_| ())
    }

    fn write_row(&mut self, r: &SlotRow) -> Result<(), StoreError> {
        diesel::sql_query(
            "INSERT INTO reminders (id, rule_id, subject, offset_text, target, send_at, event_id,
                                    source_event_id, state, \"current\", reason, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
             ON CONFLICT (id) DO UPDATE SET
                 target = excluded.target, send_at = excluded.send_at,
                 event_id = excluded.event_id, source_event_id = excluded.source_event_id,
                 state = excluded.state, \"current\" = excluded.\"current\",
                 reason = excluded.reason, updated_at = excluded.updated_at",
        )
        .bind::<Text, _>(r.id.to_string())
        .bind::<Text, _>(r.rule_id.to_string())
        .bind::<Text, _>(&r.subject)
        .bind::<Text, _>(&r.offset)
        .bind::<BigInt, _>(millis(r.target))
        .bind::<BigInt, _>(millis(r.send_at))
        .bind::<Nullable<Text>, _>(r.event_id.map(|u| u.to_string()))
        .bind::<Text, _>(r.source_event_id.to_string())
        .bind::<Text, _>(r.state.as_str())
        .bind::<Integer, _>(i32::from(r.current))
        .bind::<Nullable<Text>, _>(r.reason.as_deref())
        .bind::<BigInt, _>(millis(Utc::now()))
        .execute(self.0)?;
        Ok(())
    }

    fn move_event(
        &mut self,
        event: Uuid,
        send_at: DateTime<Utc>,
        payload: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = millis(Utc::now());
        diesel::sql_query(
            "UPDATE events SET payload = ?2, send_at = ?3, updated_at = ?4 WHERE id = ?1",
        )
        .bind::<Text, _>(event.to_string())
        .bind::<Text, _>(payload.to_string())
        .bind::<BigInt, _>(millis(send_at))
        .bind::<BigInt, _>(now)
        .execute(self.0)?;
        diesel::sql_query(
            "UPDATE deliveries SET next_attempt_at = ?2, updated_at = ?3
             WHERE event_id = ?1 AND status = 'pending'",
        )
        .bind::<Text, _>(event.to_string())
        .bind::<BigInt, _>(millis(send_at))
        .bind::<BigInt, _>(now)
        .execute(self.0)?;
        Ok(())
    }

    fn cancel_events(&mut self, events: &[Uuid]) -> Result<(), StoreError> {
        cancel_events(self.0, events)
    }

    fn note(&mut self, event: Uuid, rule: Uuid, note: &str) -> Result<(), StoreError> {
        diesel::sql_query(
            "INSERT INTO rule_notes (event_id, rule_id, note, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (event_id, rule_id) DO UPDATE SET note = excluded.note",
        )
        .bind::<Text, _>(event.to_string())
        .bind::<Text, _>(rule.to_string())
        .bind::<Text, _>(note)
        .bind::<BigInt, _>(millis(Utc::now()))
        .execute(self.0)?;
        Ok(())
    }
}
