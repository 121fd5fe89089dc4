//! The JSON shapes of events: what `POST /events` takes, and what the event routes answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::views::AttemptView;
use crate::db::{AttemptRow, DeliveryRecord, EventRecord};

/// An event to route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "order.created", "payload": {"order_id": 42, "total": 120.5}, "channels": ["eu"]}))]
pub struct CreateEvent {
    /// 1 to 128 characters from `[A-Za-z0-9._:-]`.
    #[serde(rename = "type")]
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,128}$", example = "order.created")]
    pub event_type: String,
    /// A JSON object of at most 256 KiB.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// RFC 3339 time before which no delivery is attempted. Default: now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub send_at: Option<String>,
    /// At most 10 channels, each `[A-Za-z0-9._:-]{1,64}`.
    #[schema(max_items = 10, value_type = Option<Vec<ChannelName>>)]
    pub channels: Option<Vec<String>>,
}

/// A channel: 1 to 64 characters from `[A-Za-z0-9._:-]`.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = "^[A-Za-z0-9._:-]{1,64}$", example = "eu")]
#[allow(dead_code)]
pub struct ChannelName(String);

/// An event's status, rolled up from its deliveries.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum EventStatusName {
    Pending,
    Sent,
    Failed,
    Cancelled,
    Unrouted,
}

/// The state of an event's delivery to one endpoint, to search by; `none`: never routed to it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DeliveryStatusName {
    Pending,
    Sent,
    Failed,
    Cancelled,
    None,
}

/// How a replay chooses what to send again.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ReplayModeName {
    Failed,
    Missing,
    All,
}

/// An event status to list, or `all`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum EventStatusFilter {
    Pending,
    Sent,
    Failed,
    Cancelled,
    Unrouted,
    All,
}

/// Up to 1,000 events, stored in one commit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvents {
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<CreateEvent>,
}

/// One event on its way to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The endpoint's name.
    pub endpoint: String,
    /// `pending`, `sending`, `sent`, `failed` or `cancelled`.
    #[schema(value_type = super::views::StatusName)]
    pub status: String,
    /// Attempts made since it was created or last retried by hand.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The receiver's id for it, when its answer had a `messageId`.
    pub message_id: Option<String>,
    /// Every attempt (only in `GET /events/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_attempts: Option<Vec<AttemptView>>,
}

/// An event and its deliveries.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0b7c9f5e-3f64-4b8e-9a53-1c1f6f0f2a11", "type": "order.created",
    "payload": {"order_id": 42}, "channels": [], "status": "pending", "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z", "sent_at": null,
    "deliveries": [{"id": "5f0c1a8e-8d4f-4f57-b0f4-0d5a8d1f7e21", "endpoint_id": "00000000-0000-0000-0000-000000000001",
    "endpoint": "default", "status": "pending", "attempts": 0, "next_attempt_at": "2026-12-01T10:00:00Z",
    "last_error": null, "sent_at": null, "message_id": null}]}))]
pub struct EventView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub channels: Vec<String>,
    /// `pending`, `sent`, `failed`, `cancelled` or `unrouted`, rolled up from the deliveries.
    #[schema(value_type = EventStatusName)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the last delivery succeeded, once the event is `sent`.
    pub sent_at: Option<DateTime<Utc>>,
    pub deliveries: Vec<DeliveryView>,
    /// In `GET /events/{id}`: the reminders this event scheduled, moved or cancelled (or, for a
    /// reminder event, the reminder it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Vec<super::rule_views::ReminderView>>,
    /// In `GET /events/{id}`: what each reminder rule did with this event, and why when it
    /// scheduled nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<super::rule_views::RuleNoteView>>,
}

impl DeliveryView {
    fn of(d: &DeliveryRecord, attempts: Option<Vec<AttemptView>>) -> Self {
        Self {
            id: d.id,
            endpoint_id: d.endpoint_id,
            endpoint: d.endpoint.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error.clone(),
            sent_at: d.sent_at,
            message_id: d.message_id.clone(),
            delivery_attempts: attempts,
        }
    }
}

impl EventView {
    pub fn of(e: &EventRecord) -> Self {
        Self::with(e, None)
    }

    /// With every delivery's attempts.
    pub fn detail(e: &EventRecord, attempts: Vec<AttemptRow>) -> Self {
        Self::with(e, Some(attempts))
    }

    fn with(e: &EventRecord, attempts: Option<Vec<AttemptRow>>) -> Self {
        let deliveries = e
            .deliveries
            .iter()
            .map(|d| {
                let own = attempts.as_ref().map(|all| {
                    all.iter()
                        .filter(|a| a.delivery_id == d.id)
                        .cloned()
                        .map(|a| AttemptView::from(a).triggered_by(d.replay))
                        .collect()
                });
                DeliveryView::of(d, own)
            })
            .collect();
        Self {
            id: e.id,
            event_type: e.event_type.clone(),
            payload: e.payload.clone(),
            channels: e.channels.clone(),
            status: e.status.as_str().to_owned(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            sent_at: e.sent_at,
            deliveries,
            reminders: None,
            rules: None,
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    /// Events in this page.
    pub count: usize,
    /// Events matching the search, in all pages; left out on a page reached by `cursor`
    /// (`GET /events/count` counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The `cursor` of the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The events a batch stored, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsCreated {
    pub events: Vec<EventView>,
    pub count: usize,
}
