//! The embedded store's rows, as SQLite keeps them (UUIDs as text, times as Unix milliseconds),
//! and their conversion to the values every store returns.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use uuid::Uuid;

use super::super::StoreError;
use super::super::events::{DeliveryRecord, EventRecord};
use super::super::models::AttemptRow;
use crate::domain::{EventStatus, MessageStatus};

/// The columns [`EventRow`] reads.
pub const EVENT_COLUMNS: &str =
    "id, type, payload, channels, status, sent_at, created_at, updated_at, request_fingerprint";

pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))
}

fn json(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))
}

#[derive(QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub r#type: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub channels: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sent_at: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    #[diesel(sql_type = BigInt)]
    pub updated_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub request_fingerprint: Option<String>,
}

impl EventRow {
    pub fn into_record(self, deliveries: Vec<DeliveryRecord>) -> Result<EventRecord, StoreError> {
        Ok(EventRecord {
            id: uuid(&self.id)?,
            event_type: self.r#type,
            payload: json(&self.payload)?,
            channels: self
                .channels
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default(),
            // A generated column that yields only known statuses.
            status: self.status.parse().unwrap_or(EventStatus::Failed),
            sent_at: self.sent_at.filter(|_| self.status == "sent").map(time),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
            deliveries,
        })
    }
}

/// The columns [`DeliveryRow`] reads, from `deliveries d JOIN endpoints p`.
pub const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.endpoint_id, p.name AS endpoint, d.status, \
     d.attempts, d.next_attempt_at, d.message_id, d.last_error, d.sent_at, d.created_at, d.updated_at, \
     d.replay_id, d.replay_after";

#[derive(QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub event_id: String,
    #[diesel(sql_type = Text)]
    pub endpoint_id: String,
    #[diesel(sql_type = Text)]
    pub endpoint: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = BigInt)]
    pub next_attempt_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub message_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sent_at: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    #[diesel(sql_type = BigInt)]
    pub updated_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub replay_id: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub replay_after: Option<i32>,
}

impl DeliveryRow {
    pub fn into_record(self) -> Result<DeliveryRecord, StoreError> {
        Ok(DeliveryRecord {
            id: uuid(&self.id)?,
            event_id: uuid(&self.event_id)?,
            endpoint_id: uuid(&self.endpoint_id)?,
            endpoint: self.endpoint,
            status: self.status.parse().unwrap_or(MessageStatus::Failed),
            attempts: self.attempts,
            next_attempt_at: time(self.next_attempt_at),
            message_id: self.message_id,
            last_error: self.last_error,
            sent_at: self.sent_at.map(time),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
            replay: match (self.replay_id, self.replay_after) {
                (Some(id), Some(after)) => Some((uuid(&id)?, after)),
                _ => None,
            },
        })
    }
}

#[derive(QueryableByName)]
pub struct StoredAttempt {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub delivery_id: String,
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = BigInt)]
    pub started_at: i64,
    #[diesel(sql_type = Integer)]
    pub duration_ms: i32,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub error_class: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub response_excerpt: Option<String>,
}

impl StoredAttempt {
    pub fn into_row(self) -> Result<AttemptRow, StoreError> {
        Ok(AttemptRow {
            id: self.id,
            delivery_id: uuid(&self.delivery_id)?,
            attempt: self.attempt,
            started_at: time(self.started_at),
            duration_ms: self.duration_ms,
            outcome: self.outcome,
            status_code: self.status_code,
            error_class: self.error_class,
            response_excerpt: self.response_excerpt,
        })
    }
}

/// What a claim returns of each row.
#[derive(QueryableByName)]
pub struct ClaimRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub attempt_seq: i32,
    #[diesel(sql_type = Text)]
    pub event_id: String,
    #[diesel(sql_type = Text)]
    pub endpoint_id: String,
    #[diesel(sql_type = BigInt)]
    pub next_attempt_at: i64,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
}
