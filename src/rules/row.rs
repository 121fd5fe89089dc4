//! A stored reminder row as the decisions see it ([`SlotRow`], with its [`RowState`] and its
//! delivery), and the [`Summary`] of what one event did to a subject's rows.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::MessageStatus;

/// What became of a reminder row, apart from its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// It has a reminder event; its delivery says where it stands.
    Scheduled,
    /// Its time had passed when it was planned.
    Skipped,
    /// Herald cancelled it before it was sent (`cancel_on`, a moved or absent target, a
    /// filter that no longer matches, a deleted rule).
    Cancelled,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "skipped" => Self::Skipped,
            "cancelled" => Self::Cancelled,
            _ => Self::Scheduled,
        }
    }
}

/// One reminder row, with its delivery's status and attempts when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRow {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub subject: String,
    pub offset: String,
    pub target: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    pub event_id: Option<Uuid>,
    pub source_event_id: Uuid,
    pub state: RowState,
    pub current: bool,
    pub reason: Option<String>,
    pub delivery: Option<(MessageStatus, i32)>,
}

impl SlotRow {
    /// Waiting and never tried: it may still be moved or cancelled.
    pub fn live(&self) -> bool {
        self.state == RowState::Scheduled
            && matches!(self.delivery, Some((MessageStatus::Pending, 0)))
    }

    /// Sent, being sent, tried, or cancelled by a user: this target has had its reminder.
    pub(super) fn done(&self) -> bool {
        self.state == RowState::Scheduled && !self.live()
    }
}

/// What the changes come to, for the event's note.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub scheduled: Vec<String>,
    pub moved: Vec<String>,
    pub cancelled: Vec<String>,
    pub skipped: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Summary {
    pub fn text(&self) -> String {
        let parts = [
            ("scheduled", &self.scheduled),
            ("moved", &self.moved),
            ("cancelled", &self.cancelled),
            ("skipped", &self.skipped),
            ("unchanged", &self.unchanged),
        ];
        let said: Vec<String> = parts
            .iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(what, list)| format!("{what} {}", list.join(", ")))
            .collect();
        if said.is_empty() {
            "nothing to do".into()
        } else {
            said.join("; ")
        }
    }
}
