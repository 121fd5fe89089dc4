//! [`Slots`]: the statements [`apply`](super::super::rules::apply) writes an event's reminders
//! with on PostgreSQL, inside the event's transaction. Two events for one subject take one
//! advisory lock in turn; the subject's pending reminder deliveries are locked too, so that a
//! claim cannot take one while it is being moved.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::{Moved, NewEvent};
use super::super::rules::{SlotConn, reminder_sql};
use super::changes::count;
use super::rules::Reminder;
use crate::domain::MessageStatus;
use crate::rules::slot::SlotRow;

type SqlUuid = diesel::sql_types::Uuid;

/// Cancels the pending deliveries of `events`, with their events' counters.
pub(super) fn cancel_events(conn: &mut PgConnection, events: &[Uuid]) -> Result<(), StoreError> {
    #[derive(QueryableByName)]
    struct Cancelled {
        #[diesel(sql_type = SqlUuid)]
        event_id: Uuid,
    }
    let cancelled: Vec<Cancelled> = diesel::sql_query(
        "UPDATE deliveries SET status = 'cancelled', updated_at = now()
         WHERE event_id = ANY($1) AND status = 'pending' RETURNING event_id",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(events)
    .load(conn)?;
    let moves: Vec<Moved> = cancelled
        .iter()
        .map(|c| {
            Moved::of(
                c.event_id,
                MessageStatus::Pending,
                MessageStatus::Cancelled,
                false,
            )
        })
        .collect();
    count(conn, &moves)
}

/// [`SlotConn`] on a PostgreSQL connection inside the event's transaction.
pub struct Slots<'a>(pub &'a mut PgConnection);

impl SlotConn for Slots<'_> {
    fn lock(&mut self, rule: Uuid, subject: &str) -> Result<(), StoreError> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7)) IS NULL")
            .bind::<Text, _>(format!("reminders/{rule}/{subject}"))
            .execute(self.0)?;
        // What is pending stays pending until this commits: a claim skips locked rows.
        diesel::sql_query(
            "SELECT 1 FROM deliveries WHERE status = 'pending' AND event_id IN (
                 SELECT event_id FROM reminders
                 WHERE rule_id = $1 AND subject = $2 AND \"current\" AND event_id IS NOT NULL)
             FOR UPDATE",
        )
        .bind::<SqlUuid, _>(rule)
        .bind::<Text, _>(subject)
        .execute(self.0)?;
        Ok(())
    }

    fn rows(&mut self, rule: Uuid, subject: &str) -> Result<Vec<SlotRow>, StoreError> {
        let rows: Vec<Reminder> = diesel::sql_query(reminder_sql(
            "r.rule_id = $1 AND r.subject = $2",
            "ORDER BY r.created_at, r.id",
        ))
        .bind::<SqlUuid, _>(rule)
        .bind::<Text, _>(subject)
        .load(self.0)?;
        Ok(rows.into_iter().map(|r| r.into_record().row).collect())
    }

    fn add_events(&mut self, events: &[NewEvent]) -> Result<(), StoreError> {
        super::insert::insert_all(self.0, events).map(|_| ())
    }

    fn write_row(&mut self, r: &SlotRow) -> Result<(), StoreError> {
        diesel::sql_query(
            "INSERT INTO reminders (id, rule_id, subject, offset_text, target, send_at, event_id,
                                    source_event_id, state, \"current\", reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET
                 target = excluded.target, send_at = excluded.send_at,
                 event_id = excluded.event_id, source_event_id = excluded.source_event_id,
                 state = excluded.state, \"current\" = excluded.\"current\",
                 reason = excluded.reason, updated_at = now()",
        )
        .bind::<SqlUuid, _>(r.id)
        .bind::<SqlUuid, _>(r.rule_id)
        .bind::<Text, _>(&r.subject)
        .bind::<Text, _>(&r.offset)
        .bind::<Timestamptz, _>(r.target)
        .bind::<Timestamptz, _>(r.send_at)
        .bind::<Nullable<SqlUuid>, _>(r.event_id)
        .bind::<SqlUuid, _>(r.source_event_id)
        .bind::<Text, _>(r.state.as_str())
        .bind::<Bool, _>(r.current)
        .bind::<Nullable<Text>, _>(r.reason.as_deref())
        .execute(self.0)?;
        Ok(())
    }

    fn move_event(
        &mut self,
        event: Uuid,
        send_at: DateTime<Utc>,
        payload: &serde_json::Value,
    ) -> Result<(), StoreError> {
        diesel::sql_query(
            "UPDATE events SET payload = $2, send_at = $3, updated_at = now() WHERE id = $1",
        )
        .bind::<SqlUuid, _>(event)
        .bind::<Text, _>(payload.to_string())
        .bind::<Timestamptz, _>(send_at)
        .execute(self.0)?;
        diesel::sql_query(
            "UPDATE deliveries SET next_attempt_at = $2, updated_at = now()
             WHERE event_id = $1 AND status = 'pending'",
        )
        .bind::<SqlUuid, _>(event)
        .bind::<Timestamptz, _>(send_at)
        .execute(self.0)?;
        Ok(())
    }

    fn cancel_events(&mut self, events: &[Uuid]) -> Result<(), StoreError> {
        cancel_events(self.0, events)
    }

    fn note(&mut self, event: Uuid, rule: Uuid, note: &str) -> Result<(), StoreError> {
        diesel::sql_query(
            "INSERT INTO rule_notes (event_id, rule_id, note) VALUES ($1, $2, $3)
             ON CONFLICT (event_id, rule_id) DO UPDATE SET note = excluded.note",
        )
        .bind::<SqlUuid, _>(event)
        .bind::<SqlUuid, _>(rule)
        .bind::<Text, _>(note)
        .execute(self.0)?;
        Ok(())
    }
}
