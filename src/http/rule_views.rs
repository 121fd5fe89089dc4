//! How `/rules` answers: a rule as written with its id, endpoint, next reminder and counts; a
//! reminder; a preview line; what a rule did with an event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{ReminderRecord, RuleCounts, RuleNote, RuleRow};
use crate::rules::{QuietInput, RuleInput};

/// A rule, with every default filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: Uuid,
    pub name: String,
    pub event_type: String,
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    pub subject: String,
    pub target: String,
    pub offsets: Vec<String>,
    /// The endpoint's name now.
    pub endpoint: String,
    pub endpoint_id: Uuid,
    #[schema(value_type = Option<Object>)]
    pub template: Option<Value>,
    #[schema(example = "Europe/Istanbul")]
    pub timezone: String,
    pub quiet_hours: Option<QuietInput>,
    #[schema(example = "09:00")]
    pub at_time: String,
    /// `skip` or `send_now`.
    #[schema(example = "skip")]
    pub past_due: String,
    #[schema(example = "1h")]
    pub grace: String,
    pub cancel_on: Vec<String>,
    pub enabled: bool,
    /// Reminders waiting to be sent.
    pub pending: i64,
    /// Reminders sent.
    pub sent: i64,
    /// When the next pending reminder is due.
    pub next_reminder_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RuleView {
    pub fn of(row: &RuleRow, endpoint: Option<String>, counts: RuleCounts) -> Self {
        let spec: RuleInput = serde_json::from_value(row.spec.clone()).unwrap_or_default();
        Self {
            id: row.id,
            name: row.name.clone(),
            event_type: row.event_type.clone(),
            filter: spec.filter,
            subject: spec.subject.unwrap_or_default(),
            target: spec.target.unwrap_or_default(),
            offsets: spec.offsets.unwrap_or_default(),
            endpoint: endpoint.or(spec.endpoint).unwrap_or_default(),
            endpoint_id: row.endpoint_id,
            template: spec.template,
            timezone: spec.timezone.unwrap_or_else(|| "UTC".into()),
            quiet_hours: spec.quiet_hours,
            at_time: spec.at_time.unwrap_or_else(|| "09:00".into()),
            past_due: spec.past_due.unwrap_or_else(|| "skip".into()),
            grace: spec.grace.unwrap_or_else(|| "1h".into()),
            cancel_on: spec.cancel_on.unwrap_or_default(),
            enabled: row.enabled,
            pending: counts.pending,
            sent: counts.sent,
            next_reminder_at: counts.next_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<RuleView>,
    pub count: usize,
}

/// A reminder: one offset of one subject for one target date.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderView {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule: String,
    pub subject: String,
    #[schema(example = "-7d")]
    pub offset: String,
    pub target: DateTime<Utc>,
    /// When it goes (or went) out; for a skipped one, when it would have.
    pub send_at: DateTime<Utc>,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled`, `skipped`, or `pruned` (its event is
    /// gone with retention).
    #[schema(example = "pending")]
    pub status: String,
    /// Why it was skipped or cancelled.
    pub reason: Option<String>,
    /// The reminder event (type `reminder.<rule>`), and its delivery.
    pub event_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    /// The event that scheduled it, or last moved or cancelled it.
    pub source_event_id: Uuid,
    /// Whether it is the subject's reminder for this offset now (a row that is not was
    /// replaced when the target moved).
    pub current: bool,
}

impl ReminderView {
    pub fn of(r: &ReminderRecord) -> Self {
        Self {
            id: r.row.id,
            rule_id: r.row.rule_id,
            rule: r.rule.clone(),
            subject: r.row.subject.clone(),
            offset: r.row.offset.clone(),
            target: r.row.target,
            send_at: r.row.send_at,
            status: r.status.clone(),
            reason: r.row.reason.clone(),
            event_id: r.row.event_id,
            delivery_id: r.delivery_id,
            source_event_id: r.row.source_event_id,
            current: r.row.current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderList {
    pub reminders: Vec<ReminderView>,
    pub count: usize,
}

/// What a rule did with an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleNoteView {
    pub rule_id: Uuid,
    pub rule: String,
    #[schema(example = "scheduled -7d, -1d")]
    pub note: String,
}

impl From<RuleNote> for RuleNoteView {
    fn from(n: RuleNote) -> Self {
        Self {
            rule_id: n.rule_id,
            rule: n.rule,
            note: n.note,
        }
    }
}

/// A payload to preview a rule with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// A payload of the rule's event type.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The time to preview at (RFC 3339); default now. It decides what is past due.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub now: Option<String>,
}

/// One reminder the payload would schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    #[schema(example = "-7d")]
    pub offset: String,
    /// Null when it would not be sent.
    pub send_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// The reminder event's payload.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
}
