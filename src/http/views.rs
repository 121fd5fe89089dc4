//! The JSON shapes the API returns for messages.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{AttemptRow, MessageRecord};

/// A stored message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0b7c9f5e-3f64-4b8e-9a53-1c1f6f0f2a11", "recipient": "+905551234567",
    "content": "Your code is 4721", "status": "sent", "message_id": "67f2f8a8-ea58-4ed0-a6f9-ff217df4d849",
    "attempts": 1, "retry_count": 0, "last_error": null, "next_attempt_at": "2026-11-22T10:00:00Z",
    "sent_at": "2026-11-22T10:00:01Z", "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:01Z"
}))]
pub struct MessageView {
    pub id: Uuid,
    /// E.164 phone number.
    pub recipient: String,
    pub content: String,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled` or `unrouted`.
    #[schema(value_type = StatusName)]
    pub status: String,
    /// The webhook's id for the message, when it returned one.
    pub message_id: Option<String>,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// Attempts after the first (`attempts - 1`, at least 0).
    pub retry_count: i32,
    /// The last delivery error, while the message is not sent.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending messages).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MessageRecord> for MessageView {
    fn from(m: MessageRecord) -> Self {
        Self {
            id: m.id,
            recipient: m.recipient,
            content: m.content,
            status: m.status.as_str().to_owned(),
            message_id: m.message_id,
            attempts: m.attempts,
            retry_count: (m.attempts - 1).max(0),
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at,
            sent_at: m.sent_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A page of messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageView>,
    /// Messages in this page.
    pub count: usize,
    /// Messages matching the filter, in all pages.
    pub total: i64,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// `success`, `retryable` or `permanent`.
    #[schema(value_type = OutcomeName)]
    pub outcome: String,
    pub status_code: Option<i32>,
    /// `timeout`, `connect`, `request`, `transport` or `template` when there was no usable
    /// answer.
    pub error_class: Option<String>,
    /// The start of the response body, or the error.
    pub response_excerpt: Option<String>,
    /// `delivery`, or `replay` when a replay job put the delivery back on its way.
    #[schema(example = "delivery")]
    pub trigger: &'static str,
    /// The replay job, for an attempt it triggered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_id: Option<uuid::Uuid>,
}

impl AttemptView {
    /// Marks the attempt as a replay's when `replay` (the job and the attempt number it
    /// started after) covers it.
    pub fn triggered_by(mut self, replay: Option<(uuid::Uuid, i32)>) -> Self {
        if let Some((job, after)) = replay
            && self.attempt > after
        {
            self.trigger = "replay";
            self.replay_id = Some(job);
        }
        self
    }
}

impl From<AttemptRow> for AttemptView {
    fn from(a: AttemptRow) -> Self {
        Self {
            trigger: "delivery",
            replay_id: None,
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            outcome: a.outcome,
            status_code: a.status_code,
            error_class: a.error_class,
            response_excerpt: a.response_excerpt,
        }
    }
}

/// A message with its delivery history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub message: MessageView,
    pub delivery_attempts: Vec<AttemptView>,
}

/// The answer to start and stop.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "Automatic message sending started", "status": "active"}))]
pub struct DispatchState {
    pub message: String,
    /// `active` or `inactive`.
    #[schema(value_type = DispatchName)]
    pub status: String,
}

// Documentation types: the closed sets of values the API shows as text.

/// A message's status.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StatusName {
    Pending,
    Sending,
    Sent,
    Failed,
    Cancelled,
    /// No endpoint took the message (`WEBHOOK_URL=none` and no other endpoint for it).
    Unrouted,
}

/// A status to list, or `all`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StatusFilter {
    Pending,
    Sending,
    Sent,
    Failed,
    Cancelled,
    All,
}

/// How an attempt is classified.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum OutcomeName {
    Success,
    Retryable,
    Permanent,
}

/// The dispatch switch.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DispatchName {
    Active,
    Inactive,
}
