//! [`decide`]: what one event does to the reminders of one (rule, subject), given the rows the
//! store holds for it. Pure: the store reads the rows under a lock, and writes the
//! [`Change`]s in order. Two keys in the store back it: one row per (rule, subject, offset,
//! target), so that a reminder is sent at most once for a given target date, and at most one
//! `current` row per (rule, subject, offset), so that at most one is pending.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

pub use super::row::{RowState, SlotRow, Summary};
use super::when::Outcome;
use crate::db::NewEvent;
use crate::domain::MessageStatus;

/// One reminder a rule wants for an event.
#[derive(Debug, Clone)]
pub struct Planned {
    pub offset: String,
    /// The time it falls at, before the past-due policy.
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    /// The reminder event, when the outcome is to send.
    pub event: Option<NewEvent>,
}

/// What an event wants of one (rule, subject).
#[derive(Debug, Clone)]
pub enum Want {
    Remind {
        target: DateTime<Utc>,
        planned: Vec<Planned>,
    },
    Cancel {
        reason: String,
    },
}

/// A write, in the order the store makes it.
#[derive(Debug, Clone)]
pub enum Change {
    /// Inserts the reminder event (and its one delivery).
    AddEvent(NewEvent),
    /// Inserts or replaces the row with this id.
    Write(SlotRow),
    /// Moves a pending reminder event to a new time and payload.
    MoveEvent {
        event: Uuid,
        send_at: DateTime<Utc>,
        payload: Value,
    },
    /// Cancels a pending reminder event's delivery.
    CancelEvent(Uuid),
}

struct Work<'a> {
    rows: Vec<SlotRow>,
    changes: Vec<Change>,
    summary: Summary,
    source: Uuid,
    rule_id: Uuid,
    subject: &'a str,
}

/// The changes `want` makes to `rows` (every row of one rule and subject), from the event
/// `source`.
pub fn decide(
    rows: Vec<SlotRow>,
    want: &Want,
    source: Uuid,
    rule_id: Uuid,
    subject: &str,
) -> (Vec<Change>, Summary) {
    let mut w = Work {
        rows,
        changes: Vec::new(),
        summary: Summary::default(),
        source,
        rule_id,
        subject,
    };
    match want {
        Want::Cancel { reason } => {
            for i in 0..w.rows.len() {
                if w.rows[i].live() {
                    w.cancel(i, reason);
                }
            }
        }
        Want::Remind { target, planned } => {
            for p in planned {
                w.remind(*target, p);
            }
            for i in 0..w.rows.len() {
                if w.rows[i].live() && !planned.iter().any(|p| p.offset == w.rows[i].offset) {
                    w.cancel(i, "the offset is no longer in the rule");
                }
            }
        }
    }
    (w.changes, w.summary)
}

impl Work<'_> {
    fn remind(&mut self, target: DateTime<Utc>, p: &Planned) {
        let cur = self
            .rows
            .iter()
            .position(|r| r.offset == p.offset && r.current);
        let same = self
            .rows
            .iter()
            .position(|r| r.offset == p.offset && r.target == target);
        match same {
            Some(s) if self.rows[s].done() => {
                self.leave(cur, s, "the target moved back to a date already reminded");
                if !self.rows[s].current {
                    self.rows[s].current = true;
                    self.write(s);
                }
                self.summary.unchanged.push(p.offset.clone());
            }
            Some(s) if self.rows[s].live() => match (&p.outcome, &p.event) {
                (Outcome::Send(at), Some(event)) if *at != self.rows[s].send_at => {
                    self.shift(s, target, *at, event);
                }
                _ => self.summary.unchanged.push(p.offset.clone()),
            },
            Some(s) => {
                self.leave(cur, s, "the target moved");
                self.fill(Some(s), target, p);
            }
            None => match (cur, &p.outcome, &p.event) {
                (Some(c), Outcome::Send(at), Some(event)) if self.rows[c].live() => {
                    self.shift(c, target, *at, event);
                }
                (Some(c), _, _) => {
                    if self.rows[c].live() {
                        self.cancel(c, "the target moved");
                    }
                    self.retire(c);
                    self.fill(None, target, p);
                }
                (None, _, _) => self.fill(None, target, p),
            },
        }
    }

    /// Leaves the current row `cur` for the row `to`: cancelled if it is live, no longer
    /// current.
    fn leave(&mut self, cur: Option<usize>, to: usize, why: &str) {
        if let Some(c) = cur.filter(|&c| c != to) {
            if self.rows[c].live() {
                self.cancel(c, why);
            }
            self.retire(c);
        }
    }

    /// The row `at` (or a new one) becomes the current reminder for `target` as planned.
    fn fill(&mut self, at: Option<usize>, target: DateTime<Utc>, p: &Planned) {
        let (state, send_at, event_id, reason, delivery) = match (&p.outcome, &p.event) {
            (Outcome::Send(at), Some(event)) => {
                self.changes.push(Change::AddEvent(event.clone()));
                self.summary.scheduled.push(p.offset.clone());
                (
                    RowState::Scheduled,
                    *at,
                    Some(event.id),
                    None,
                    Some((MessageStatus::Pending, 0)),
                )
            }
            (Outcome::Skip(_), _) | (Outcome::Send(_), None) => {
                let why = match &p.outcome {
                    Outcome::Skip(why) => why.clone(),
                    Outcome::Send(_) => "no reminder event was made".to_owned(),
                };
                self.summary.skipped.push(format!("{} ({why})", p.offset));
                (RowState::Skipped, p.at, None, Some(why), None)
            }
        };
        let row = SlotRow {
            id: at.map_or_else(Uuid::now_v7, |i| self.rows[i].id),
            rule_id: self.rule_id,
            subject: self.subject.to_owned(),
            offset: p.offset.clone(),
            target,
            send_at,
            event_id,
            source_event_id: self.source,
            state,
            current: true,
            reason,
            delivery,
        };
        let i = match at {
            Some(i) => {
                self.rows[i] = row;
                i
            }
            None => {
                self.rows.push(row);
                self.rows.len() - 1
            }
        };
        self.write(i);
    }

    fn shift(&mut self, i: usize, target: DateTime<Utc>, send_at: DateTime<Utc>, event: &NewEvent) {
        let Some(id) = self.rows[i].event_id else {
            return;
        };
        self.changes.push(Change::MoveEvent {
            event: id,
            send_at,
            payload: event.payload.clone(),
        });
        let row = &mut self.rows[i];
        row.target = target;
        row.send_at = send_at;
        row.source_event_id = self.source;
        self.summary.moved.push(row.offset.clone());
        self.write(i);
    }

    fn cancel(&mut self, i: usize, why: &str) {
        if let Some(event) = self.rows[i].event_id {
            self.changes.push(Change::CancelEvent(event));
        }
        let row = &mut self.rows[i];
        row.state = RowState::Cancelled;
        row.reason = Some(why.to_owned());
        row.source_event_id = self.source;
        self.summary.cancelled.push(row.offset.clone());
        self.write(i);
    }

    fn retire(&mut self, i: usize) {
        self.rows[i].current = false;
        self.write(i);
    }

    fn write(&mut self, i: usize) {
        self.changes.push(Change::Write(self.rows[i].clone()));
    }
}

#[cfg(test)]
#[path = "slot_tests.rs"]
mod tests;
