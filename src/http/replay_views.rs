//! The JSON shapes of replays: a job with its progress, a dry run, and a list.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{DryRun, ReplayProgress, ReplayRow};
use crate::routing::Endpoints;

/// A replay job and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    pub id: Uuid,
    /// The endpoint's name; null: every enabled endpoint.
    pub endpoint: Option<String>,
    pub endpoint_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    pub types: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// `failed`, `missing` or `all`.
    pub mode: &'static str,
    pub rate_per_sec: Option<f64>,
    pub max_events: u32,
    /// `running`, `paused`, `done`, `cancelled` or `failed`.
    pub status: &'static str,
    /// Events the dry run counted when the job was made.
    pub planned: i64,
    /// Events examined so far.
    pub examined: i64,
    /// Deliveries put back on their way so far.
    pub enqueued: i64,
    /// Of those, sent since; failed since; still pending or sending.
    pub succeeded: i64,
    pub failed: i64,
    pub in_flight: i64,
    /// Why it failed, or how it stopped.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ReplayView {
    pub fn of(job: &ReplayRow, progress: ReplayProgress, endpoints: &Endpoints) -> Self {
        Self {
            id: job.id,
            endpoint: job
                .endpoint_id
                .and_then(|id| endpoints.get(id))
                .map(|e| e.row.name.clone()),
            endpoint_id: job.endpoint_id,
            from: job.from,
            to: job.to,
            types: job.types.clone(),
            filter: job.filter.clone(),
            mode: job.mode.as_str(),
            rate_per_sec: job.rate_per_sec,
            max_events: job.max_events,
            status: job.status.as_str(),
            planned: job.planned,
            examined: job.examined,
            enqueued: job.enqueued,
            succeeded: progress.succeeded,
            failed: progress.failed,
            in_flight: progress.open,
            error: job.error.clone(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
        }
    }
}

/// Replay jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayList {
    pub replays: Vec<ReplayView>,
    pub count: usize,
}

/// What a replay would send; nothing was sent or stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunView {
    /// Events it would send.
    pub count: i64,
    /// Per endpoint, the events it would send there.
    pub by_endpoint: Vec<EndpointCount>,
    /// The first (oldest) at most 20 of them.
    pub sample: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCount {
    pub endpoint: String,
    pub endpoint_id: Uuid,
    pub count: i64,
}

impl DryRunView {
    pub fn of(dry: DryRun, endpoints: &Endpoints) -> Self {
        Self {
            count: dry.count,
            by_endpoint: dry
                .by_endpoint
                .into_iter()
                .map(|(id, count)| EndpointCount {
                    endpoint: endpoints
                        .get(id)
                        .map(|e| e.row.name.clone())
                        .unwrap_or_default(),
                    endpoint_id: id,
                    count,
                })
                .collect(),
            sample: dry.sample,
        }
    }
}
