//! How `/sources` answers: a source as written (its URL's password hidden), with what its
//! reader here is doing and what it has done on every instance.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::SourceRow;
use crate::sources::{SourceInput, Status, spec::redacted, state_of};

/// A source, with every default filled in, its state and its counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    pub id: Uuid,
    pub name: String,
    /// `redis_stream` or `nats_jetstream`.
    #[schema(example = "redis_stream")]
    pub kind: String,
    /// The broker's URL, its password shown as `***`.
    #[schema(example = "redis://127.0.0.1:6379")]
    pub url: String,
    pub stream: String,
    pub subject: Option<String>,
    #[schema(example = "herald")]
    pub group: String,
    /// `new`, `all` or an RFC 3339 time: where the group began, if Herald made it.
    #[schema(example = "new")]
    pub start: String,
    #[serde(rename = "type")]
    #[schema(example = "$.type")]
    pub event_type: String,
    pub payload: Option<String>,
    pub enabled: bool,
    /// `running`, `paused`, `failing` (see `error`), or `starting` before this instance's reader
    /// has reached the broker.
    #[schema(example = "running")]
    pub state: &'static str,
    /// Why the source is failing.
    pub error: Option<String>,
    /// Entries in the broker not yet delivered to the group (Redis: the group's `lag`;
    /// JetStream: `num_pending`), as this instance last saw it.
    pub lag: Option<u64>,
    /// Entries read, a redelivery counted again.
    pub read: i64,
    /// Entries that became events.
    pub stored: i64,
    /// Entries read again whose event was stored already, skipped.
    pub duplicates: i64,
    /// Entries moved aside (Redis: to `<stream>:herald-dead`; JetStream: terminated).
    pub dead: i64,
    /// The id of the last entry read (a Redis stream id, or a JetStream stream sequence).
    pub last_entry: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SourceView {
    pub fn of(row: &SourceRow, live: Option<&Status>) -> Self {
        let spec = SourceInput::of_row(row);
        let failing = live.and_then(|s| s.error.clone()).filter(|_| row.enabled);
        Self {
            id: row.id,
            name: row.name.clone(),
            kind: row.kind.clone(),
            url: redacted(spec.url.as_deref().unwrap_or_default()),
            stream: spec.stream.unwrap_or_default(),
            subject: spec.subject,
            group: spec.group.unwrap_or_else(|| "herald".into()),
            start: spec.start.unwrap_or_else(|| "new".into()),
            event_type: spec.event_type.unwrap_or_default(),
            payload: spec.payload,
            enabled: row.enabled,
            state: state_of(row.enabled, live),
            error: failing,
            lag: live.and_then(|s| s.lag),
            read: row.counts.read,
            stored: row.counts.stored,
            duplicates: row.counts.duplicates,
            dead: row.counts.dead,
            last_entry: row.counts.last_entry.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Every source, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub sources: Vec<SourceView>,
    pub count: usize,
}
