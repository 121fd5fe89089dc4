//! Replay jobs as they cross the store boundary: the job's row, the events a batch examines
//! with their deliveries, and what a batch enqueues.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::MessageStatus;
use crate::replay::Mode;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStatus {
    Running,
    Paused,
    Done,
    Cancelled,
    Failed,
}

impl ReplayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => Self::Running,
            "paused" => Self::Paused,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Done, cancelled and failed jobs never move again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled | Self::Failed)
    }
}

/// A replay job: what it sends again, and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRow {
    pub id: Uuid,
    /// `None`: every enabled endpoint.
    pub endpoint_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    pub types: Vec<String>,
    /// The filter as the user wrote it (it passed `search::check_filter`).
    pub filter: Option<Value>,
    pub mode: Mode,
    /// Deliveries enqueued per second, at most.
    pub rate_per_sec: Option<f64>,
    pub max_events: u32,
    pub status: ReplayStatus,
    /// What the dry run counted when the job was made.
    pub planned: i64,
    /// Events examined, and deliveries enqueued, so far.
    pub examined: i64,
    pub enqueued: i64,
    /// The last event examined, in ascending (created_at, id) order.
    pub cursor: Option<(DateTime<Utc>, Uuid)>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job's deliveries by where they stand now (counted from the deliveries it enqueued).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Pending or sending.
    pub open: i64,
    pub succeeded: i64,
    pub failed: i64,
}

/// An event a batch examines, with its deliveries (endpoint, delivery, status).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Uuid,
    pub event_type: String,
    pub payload: Value,
    pub channels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deliveries: Vec<(Uuid, Uuid, MessageStatus)>,
}

impl Candidate {
    /// This event's delivery to `endpoint`, if it has one.
    pub fn delivery_to(&self, endpoint: Uuid) -> Option<(Uuid, MessageStatus)> {
        self.deliveries
            .iter()
            .find(|(e, _, _)| *e == endpoint)
            .map(|(_, d, s)| (*d, *s))
    }
}

/// One delivery a batch puts on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueue {
    /// A new delivery of `event` to `endpoint`.
    Insert {
        event: Uuid,
        endpoint: Uuid,
        ordering_key: Option<String>,
    },
    /// An ended delivery back to pending.
    Reset { event: Uuid, delivery: Uuid },
}

/// What one batch of a job writes, in one transaction with the job's cursor.
#[derive(Debug, Clone)]
pub struct ReplayBatch {
    pub enqueue: Vec<Enqueue>,
    /// The last event examined.
    pub cursor: (DateTime<Utc>, Uuid),
    pub examined: i64,
}

/// What a dry run counts: events, (event, endpoint) pairs per endpoint, and the first events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DryRun {
    pub count: i64,
    pub by_endpoint: Vec<(Uuid, i64)>,
    pub sample: Vec<Uuid>,
}
