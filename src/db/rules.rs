//! Reminder rules and their reminders as they cross the store boundary, and [`apply`]: what
//! an event's rule actions write, in the event's own transaction, through [`SlotConn`] (each
//! store's few statements). The decisions are [`decide`](crate::rules::slot::decide)'s.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{NewEvent, StoreError};
use crate::rules::slot::{Change, SlotRow, Want, decide};

/// A rule as stored: its spec is the input as written, normalised.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: Uuid,
    pub name: String,
    pub event_type: String,
    pub endpoint_id: Uuid,
    pub spec: Value,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What one rule does with one stored event.
#[derive(Debug, Clone)]
pub struct RuleAction {
    pub rule_id: Uuid,
    /// `None` when there is nothing to do but say why (`note`).
    pub subject: Option<String>,
    pub want: Option<Want>,
    /// Why nothing was scheduled, when that is all there is to say.
    pub note: Option<String>,
}

/// A reminder, as `GET /rules/{id}/reminders` lists it.
#[derive(Debug, Clone)]
pub struct ReminderRecord {
    pub row: SlotRow,
    pub rule: String,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled`, `skipped`, or `pruned` (its event
    /// is gone with retention).
    pub status: String,
    pub delivery_id: Option<Uuid>,
}

/// Which reminders to list.
#[derive(Debug, Clone, Default)]
pub struct ReminderQuery {
    pub rule: Option<Uuid>,
    pub subject: Option<String>,
    pub status: Option<String>,
    /// Reminders an event scheduled or moved, or the reminder that is this event.
    pub event: Option<Uuid>,
    pub limit: u32,
}

/// Per rule: its pending reminders, those sent, and the next one's time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleCounts {
    pub pending: i64,
    pub sent: i64,
    pub next_at: Option<DateTime<Utc>>,
}

/// What a rule did with an event, as its detail shows it.
#[derive(Debug, Clone)]
pub struct RuleNote {
    pub rule_id: Uuid,
    pub rule: String,
    pub note: String,
}

/// The statement of status every reminder listing uses, over `r` (reminders) and `d` (its
/// delivery, left-joined).
pub const STATUS_SQL: &str = "CASE WHEN r.state <> 'scheduled' THEN r.state \
     WHEN d.id IS NULL THEN 'pruned' ELSE d.status END";

/// The reminder listing both stores run: `condition` over `r` (reminders), `d` (its delivery)
/// and `u` (its rule), then `tail` (order and limit).
pub fn reminder_sql(condition: &str, tail: &str) -> String {
    format!(
        "SELECT r.id, r.rule_id, coalesce(u.name, '') AS rule, r.subject, r.offset_text, r.target,
                r.send_at, r.event_id, r.source_event_id, r.state, r.\"current\" AS current,
                r.reason, {STATUS_SQL} AS status, d.id AS delivery_id, d.attempts
         FROM reminders r LEFT JOIN deliveries d ON d.event_id = r.event_id
              LEFT JOIN rules u ON u.id = r.rule_id
         WHERE {condition} {tail}"
    )
}

/// What a store does for [`apply`], inside the transaction that stores the event.
pub trait SlotConn {
    /// Holds (rule, subject) until the transaction ends, so that two events for one subject
    /// decide one after the other.
    fn lock(&mut self, rule: Uuid, subject: &str) -> Result<(), StoreError>;
    /// Every row of (rule, subject), with its delivery.
    fn rows(&mut self, rule: Uuid, subject: &str) -> Result<Vec<SlotRow>, StoreError>;
    fn add_events(&mut self, events: &[NewEvent]) -> Result<(), StoreError>;
    /// Inserts the row, or replaces the one with its id.
    fn write_row(&mut self, row: &SlotRow) -> Result<(), StoreError>;
    fn move_event(
        &mut self,
        event: Uuid,
        send_at: DateTime<Utc>,
        payload: &Value,
    ) -> Result<(), StoreError>;
    /// Cancels the pending deliveries of these reminder events, moving the events' counters.
    fn cancel_events(&mut self, events: &[Uuid]) -> Result<(), StoreError>;
    fn note(&mut self, event: Uuid, rule: Uuid, note: &str) -> Result<(), StoreError>;
}

/// Applies the rule actions of `events` (just inserted): the (rule, subject) locks first, in
/// one order, then each event's actions in event order.
pub fn apply<C: SlotConn>(conn: &mut C, events: &[NewEvent]) -> Result<(), StoreError> {
    let mut keys: Vec<(Uuid, &str)> = events
        .iter()
        .flat_map(|e| &e.reminders)
        .filter_map(|a| Some((a.rule_id, a.subject.as_deref()?)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for (rule, subject) in &keys {
        conn.lock(*rule, subject)?;
    }
    for event in events {
        for action in &event.reminders {
            let note = match (&action.subject, &action.want) {
                (Some(subject), Some(want)) => {
                    let rows = conn.rows(action.rule_id, subject)?;
                    let (changes, summary) = decide(rows, want, event.id, action.rule_id, subject);
                    write(conn, changes)?;
                    let mut text = summary.text();
                    if let Some(extra) = &action.note {
                        text = format!("{extra}: {text}");
                    }
                    text
                }
                _ => action.note.clone().unwrap_or_default(),
            };
            conn.note(event.id, action.rule_id, &note)?;
        }
    }
    Ok(())
}

fn write<C: SlotConn>(conn: &mut C, changes: Vec<Change>) -> Result<(), StoreError> {
    for change in changes {
        match change {
            Change::AddEvent(event) => conn.add_events(std::slice::from_ref(&event))?,
            Change::Write(row) => conn.write_row(&row)?,
            Change::MoveEvent {
                event,
                send_at,
                payload,
            } => conn.move_event(event, send_at, &payload)?,
            Change::CancelEvent(event) => conn.cancel_events(&[event])?,
        }
    }
    Ok(())
}
