//! `GET /stats`: the queue at a glance, for people (Prometheus has `/metrics`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::responses::{Unauthorized, Unavailable};
use super::state::{AppState, DispatchSettingsView};
use crate::db::Op;

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Deliveries per status (with the one endpoint `default`, one per message).
    pub messages: StatusCountsView,
    /// Events per rolled-up status.
    pub events: crate::db::EventCounts,
    /// Seconds since the oldest due pending message became due (0 when none waits).
    pub oldest_due_age_seconds: f64,
    /// When this instance's scheduler last finished a tick.
    pub last_tick_at: Option<DateTime<Utc>>,
    /// `active` or `inactive` (shared by every instance).
    #[schema(example = "active")]
    pub dispatch: String,
    /// How the answering instance dispatches.
    pub dispatch_settings: DispatchSettingsView,
    pub last_minute: LastMinute,
    pub retention: RetentionView,
    /// Every event source, by name: its state here and its counts (as `GET /sources`).
    pub sources: Vec<super::source_views::SourceView>,
}

/// What retention keeps, and what it deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    /// `EVENT_RETENTION` in seconds; null when events are kept for good.
    pub keep_seconds: Option<u64>,
    /// When the oldest event kept was created.
    pub oldest_event_at: Option<DateTime<Utc>>,
    /// Rows deleted by this instance since it started.
    pub pruned: PrunedView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrunedView {
    pub events: u64,
    pub deliveries: u64,
    pub attempts: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCountsView {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

/// Delivery attempts in the last 60 seconds, across every instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMinute {
    /// Successful deliveries.
    pub deliveries: i64,
    /// Attempts that did not succeed (retryable or permanent).
    pub failures: i64,
}

/// Counts per status, the oldest due message, the last tick, the dispatch state, recent activity.
#[utoipa::path(
    get, path = "/stats", tag = "operations", operation_id = "stats",
    responses(
        (status = 200, body = Stats, description = "Queue statistics",
         example = json!({"messages": {"pending": 3, "sending": 0, "sent": 120, "failed": 1, "cancelled": 0},
                          "events": {"pending": 3, "sent": 118, "failed": 1, "cancelled": 0, "unrouted": 2},
                          "oldest_due_age_seconds": 12.5, "last_tick_at": "2026-11-22T10:00:00Z",
                          "dispatch": "active",
                          "dispatch_settings": {"mode": "interval", "interval_seconds": 120.0, "batch_size": 2,
                                                "concurrency": 16, "rate_per_second": null},
                          "last_minute": {"deliveries": 2, "failures": 0},
                          "retention": {"keep_seconds": 2592000, "oldest_event_at": "2026-11-01T10:00:00Z",
                                        "pruned": {"events": 1000, "deliveries": 1000, "attempts": 1200}},
                          "sources": []})),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (counts, active, oldest, sources) = state
        .store
        .run(Op::Counts, |s| {
            Ok((
                s.counts()?,
                s.dispatch_active()?,
                s.oldest_event()?,
                s.sources()?,
            ))
        })
        .await?;
    let sources = sources
        .iter()
        .map(|r| super::source_views::SourceView::of(r, state.sources.get(r.id).as_ref()))
        .collect();
    let pruned = |table: &str| {
        state
            .monitor
            .metrics
            .pruned
            .with_label_values(&[table])
            .get()
    };
    state.monitor.metrics.observe_counts(&counts);
    Ok(HttpResponse::Ok().json(Stats {
        messages: StatusCountsView {
            pending: counts.pending,
            sending: counts.sending,
            sent: counts.sent,
            failed: counts.failed,
            cancelled: counts.cancelled,
        },
        events: counts.events.clone(),
        oldest_due_age_seconds: counts.oldest_due_age_seconds,
        last_tick_at: state.monitor.last_tick(),
        dispatch: if active { "active" } else { "inactive" }.into(),
        dispatch_settings: state.dispatch.clone(),
        last_minute: LastMinute {
            deliveries: counts.deliveries_last_minute,
            failures: counts.failures_last_minute,
        },
        retention: RetentionView {
            keep_seconds: state.retention.map(|d| d.as_secs()),
            oldest_event_at: oldest,
            pruned: PrunedView {
                events: pruned("events"),
                deliveries: pruned("deliveries"),
                attempts: pruned("attempts"),
            },
        },
        sources,
    }))
}
