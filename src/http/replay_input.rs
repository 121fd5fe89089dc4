//! `POST /replays` as a user writes it: every field parsed at the edge into a job row, with a
//! 400 that names the field, and nothing started.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::search_query::parse_filter;
use crate::db::{ReplayRow, ReplayStatus};
use crate::domain::EventType;
use crate::replay::Mode;

pub const DEFAULT_MAX_EVENTS: u64 = 100_000;
pub const MAX_EVENTS: u64 = 1_000_000;
const MAX_RATE: f64 = 100_000.0;

/// A replay: which events to send again, where, and how fast.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"endpoint": "crm", "from": "2026-12-01T09:00:00Z", "to": "2026-12-01T10:00:00Z", "mode": "missing", "dry_run": true}))]
pub struct CreateReplay {
    /// Endpoint id or name; absent: every enabled endpoint.
    pub endpoint: Option<String>,
    /// RFC 3339: events created at or after it.
    #[schema(format = DateTime)]
    pub from: String,
    /// RFC 3339: events created before it. Default: now.
    #[schema(format = DateTime)]
    pub to: Option<String>,
    /// Only events of these types.
    pub types: Option<Vec<String>>,
    /// A filter in the routing language over the payload (not `regex`).
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// `failed`: deliveries that ended failed; `missing`: events the endpoint takes now but
    /// never got; `all`: every event it takes now (needs `confirm`).
    #[schema(value_type = super::event_views::ReplayModeName, example = "failed")]
    pub mode: String,
    /// Count, and send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Deliveries enqueued per second, at most. The endpoint's own rate limit and breaker
    /// apply as well.
    #[schema(exclusive_minimum = 0.0, maximum = 100000.0)]
    pub rate_per_sec: Option<f64>,
    /// Refuse the replay if it would send more events than this. Default 100,000; at most
    /// 1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_events: Option<u64>,
    /// Required with `mode: all`.
    #[serde(default)]
    pub confirm: bool,
}

fn time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{field} must be an RFC 3339 time such as 2026-12-01T09:00:00Z, not '{raw}'"
            ))
        })
}

/// The job `input` asks for, to run on `endpoint` (already looked up), made `now`.
pub fn job(
    input: &CreateReplay,
    endpoint: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<ReplayRow, ApiError> {
    let from = time("from", &input.from)?;
    let to = input.to.as_deref().map(|t| time("to", t)).transpose()?;
    if let Some(to) = to
        && from > to
    {
        return Err(ApiError::BadRequest(format!(
            "from ({}) is after to ({})",
            from.to_rfc3339(),
            to.to_rfc3339()
        )));
    }
    let mode = Mode::parse(&input.mode).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "mode must be one of {}, not '{}'",
            Mode::NAMES,
            input.mode
        ))
    })?;
    if mode == Mode::All && !input.confirm {
        return Err(ApiError::BadRequest(
            "mode 'all' sends every matching event again: add \"confirm\": true".into(),
        ));
    }
    let types = input
        .types
        .iter()
        .flatten()
        .map(|t| {
            EventType::parse(t)
                .map(EventType::into_string)
                .map_err(|e| ApiError::BadRequest(format!("types: {}", e.0)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(filter) = &input.filter {
        parse_filter(&filter.to_string())?;
    }
    let max_events = input.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if !(1..=MAX_EVENTS).contains(&max_events) {
        return Err(ApiError::BadRequest(format!(
            "max_events must be from 1 to {MAX_EVENTS}, not {max_events}"
        )));
    }
    if let Some(rate) = input.rate_per_sec
        && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE)
    {
        return Err(ApiError::BadRequest(format!(
            "rate_per_sec must be above 0 and at most {MAX_RATE}, not {rate}"
        )));
    }
    Ok(ReplayRow {
        id: Uuid::now_v7(),
        endpoint_id: endpoint,
        from,
        // The window ends when the job is made: a replay never chases live events.
        to: Some(to.unwrap_or(now)),
        types,
        filter: input.filter.clone(),
        mode,
        rate_per_sec: input.rate_per_sec,
        max_events: max_events as u32,
        status: ReplayStatus::Running,
        planned: 0,
        examined: 0,
        enqueued: 0,
        cursor: None,
        error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    })
}
