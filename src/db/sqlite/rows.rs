//! The embedded store's rows, as SQLite keeps them (UUIDs as text, times as Unix milliseconds),
//! and their conversion to the values every store returns.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use uuid::Uuid;

use super::super::StoreError;
use super::super::models::{AttemptRow, MessageRecord};
use crate::domain::MessageStatus;

/// The columns [`MessageRow`] reads, in a `SELECT` or a `RETURNING`.
pub const MESSAGE_COLUMNS: &str = "id, recipient, content, status, attempts, next_attempt_at, \
     message_id, last_error, sent_at, created_at, updated_at, request_fingerprint";

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

#[derive(QueryableByName)]
pub struct MessageRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub content: String,
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
    pub request_fingerprint: Option<String>,
}

impl MessageRow {
    pub fn into_record(self) -> Result<MessageRecord, StoreError> {
        Ok(MessageRecord {
            id: uuid(&self.id)?,
            recipient: self.recipient,
            content: self.content,
            // The CHECK constraint admits only known statuses.
            status: self.status.parse().unwrap_or(MessageStatus::Failed),
            attempts: self.attempts,
            next_attempt_at: time(self.next_attempt_at),
            message_id: self.message_id,
            last_error: self.last_error,
            sent_at: self.sent_at.map(time),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        })
    }
}

pub fn records(rows: Vec<MessageRow>) -> Result<Vec<MessageRecord>, StoreError> {
    rows.into_iter().map(MessageRow::into_record).collect()
}

#[derive(QueryableByName)]
pub struct StoredAttempt {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub message_id: String,
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
            message_id: uuid(&self.message_id)?,
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
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub content: String,
    #[diesel(sql_type = BigInt)]
    pub next_attempt_at: i64,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
}
