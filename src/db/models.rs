//! Values that cross the store boundary, and the diesel rows they are read from.

use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::events::NewEvent;
use super::schema::delivery_attempts;
use crate::domain::{AttemptOutcome, Content, Finish, MessageStatus, OutcomeKind, Recipient};

/// A message to create. `send_at` delays its first attempt.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    pub recipient: Recipient,
    pub content: Content,
    pub send_at: Option<DateTime<Utc>>,
    /// `(key, fingerprint of the request)` for idempotent creation.
    pub idempotency: Option<(String, String)>,
}

impl NewMessage {
    pub fn new(recipient: Recipient, content: Content) -> Self {
        Self {
            id: Uuid::now_v7(),
            recipient,
            content,
            send_at: None,
            idempotency: None,
        }
    }
}

impl NewMessage {
    /// The event a message is: type `message`, payload `{"to": recipient, "content": content}`
    /// (in that order, so that the default body is the same bytes as before routing). Its
    /// routes are left to the router.
    pub fn to_event(&self) -> NewEvent {
        let mut payload = serde_json::Map::new();
        payload.insert("to".into(), self.recipient.as_str().into());
        payload.insert("content".into(), self.content.as_str().into());
        NewEvent {
            id: self.id,
            event_type: crate::domain::EventType::MESSAGE.to_owned(),
            payload: serde_json::Value::Object(payload),
            channels: Vec::new(),
            send_at: self.send_at,
            idempotency: self.idempotency.clone(),
            routes: Vec::new(),
            hand_off: None,
            reminders: Vec::new(),
        }
    }
}

/// A claimed delivery: owned by this worker until `deadline` (a local monotonic instant, taken
/// before the claim was made, so it never outlives the lease held in the database).
#[derive(Debug, Clone)]
pub struct Claim {
    /// The delivery's id.
    pub id: Uuid,
    pub token: Uuid,
    /// The number of this attempt since the delivery was created or last retried by hand (1 for
    /// the first): what the retry schedule counts.
    pub attempt: u32,
    /// The number of this attempt in the delivery's whole history: never reused.
    pub number: u32,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_type: String,
    /// The event's payload as JSON text.
    pub payload: String,
    /// The event has several deliveries (its counters may move under another writer too).
    pub shared: bool,
    /// The one probe of its endpoint's half-open breaker: its answer closes the breaker or
    /// opens it again.
    pub probe: bool,
    pub created_at: DateTime<Utc>,
    pub deadline: Instant,
}

/// One delivery attempt, to be stored with the outcome.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u32,
    pub kind: OutcomeKind,
    pub status_code: Option<u16>,
    pub error_class: Option<&'static str>,
    pub excerpt: Option<String>,
}

impl AttemptRecord {
    /// The history row of attempt `number` (its place in the message's whole history), built
    /// once from what the attempt produced.
    pub fn new(
        number: u32,
        started_at: DateTime<Utc>,
        duration: std::time::Duration,
        outcome: &AttemptOutcome,
    ) -> Self {
        Self {
            attempt: number,
            started_at,
            duration_ms: duration.as_millis().min(i32::MAX as u128) as u32,
            kind: outcome.kind(),
            status_code: outcome.status_code(),
            error_class: outcome.error_class().map(|c| c.as_str()),
            excerpt: Some(outcome.excerpt().to_owned()).filter(|e| !e.is_empty()),
        }
    }
}

/// One attempt, ready to record: the claim it ran under, its history row, and what it does to
/// the message.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub claim: Claim,
    pub attempt: AttemptRecord,
    pub finish: Finish,
}

/// What a recorded outcome writes to its message row, as both stores' SQL takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NextState<'a> {
    /// `sent`, `pending` (a retry) or `failed`.
    pub status: &'static str,
    /// For a retry: due this long after the store's "now".
    pub after_ms: i64,
    pub error: Option<&'a str>,
    pub message_id: Option<&'a str>,
}

impl Recorded {
    pub fn next_state(&self) -> NextState<'_> {
        let (status, after_ms, error, message_id) = match &self.finish {
            Finish::Sent { message_id } => ("sent", 0, None, message_id.as_deref()),
            Finish::Retry { after, error } => (
                "pending",
                after.as_millis().min(i64::MAX as u128) as i64,
                Some(error.as_str()),
                None,
            ),
            Finish::Failed { error } => ("failed", 0, Some(error.as_str()), None),
        };
        NextState {
            status,
            after_ms,
            error,
            message_id,
        }
    }
}

/// Whether the guarded update applied, and the stored time of sending when it did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FinishResult {
    Applied {
        sent_at: Option<DateTime<Utc>>,
    },
    /// Another worker owns the row now (our lease expired): nothing was changed.
    Stale,
}

/// A stored attempt, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Queryable, Selectable)]
#[diesel(table_name = delivery_attempts)]
pub struct AttemptRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub outcome: String,
    pub status_code: Option<i32>,
    pub error_class: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Counts of deliveries per status (the queue), of events per status, and the age of the
/// oldest due delivery.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusCounts {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Seconds since the oldest pending message became due; 0 when none is due.
    pub oldest_due_age_seconds: f64,
    /// Successful attempts in the last minute, across every instance.
    pub deliveries_last_minute: i64,
    /// Unsuccessful attempts in the last minute, across every instance.
    pub failures_last_minute: i64,
    /// Events per status.
    pub events: EventCounts,
}

/// Events per rolled-up status.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct EventCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub unrouted: i64,
}

impl EventCounts {
    pub fn set(&mut self, status: &str, n: i64) {
        match status {
            "pending" => self.pending = n,
            "sent" => self.sent = n,
            "failed" => self.failed = n,
            "cancelled" => self.cancelled = n,
            _ => self.unrouted = n,
        }
    }
}

impl StatusCounts {
    /// Sets the count of the status a row names (the CHECK constraint admits only known ones).
    pub fn set(&mut self, status: &str, n: i64) {
        *match status.parse() {
            Ok(MessageStatus::Pending) => &mut self.pending,
            Ok(MessageStatus::Sending) => &mut self.sending,
            Ok(MessageStatus::Sent) => &mut self.sent,
            Ok(MessageStatus::Failed) => &mut self.failed,
            Ok(MessageStatus::Cancelled | MessageStatus::Unrouted) | Err(_) => &mut self.cancelled,
        } = n;
    }
}

/// What the claim returns of each row: only what a delivery needs.
#[derive(Debug, QueryableByName)]
pub(super) struct ClaimRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub claim_token: Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempt_seq: i32,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub event_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub payload: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub shared: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub probe: bool,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}
