//! `GET /health` and `GET /metrics`: what operators and orchestrators look at.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::health_endpoints::{EndpointsCheck, observe};
use super::state::AppState;
use crate::db::Op;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`; `degraded` when the cache, the webhook or a source's broker is down or dispatch is
    /// stalled; `down` when the database is.
    #[schema(example = "ok")]
    pub status: &'static str,
    pub timestamp: DateTime<Utc>,
    pub checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub database: Check,
    pub cache: Check,
    /// The endpoint `default` (`WEBHOOK_URL`): `down` while its last delivery attempt failed in a
    /// retryable way (timeout, connection, 5xx, 429). Other endpoints do not count: one
    /// customer's receiver failing is that endpoint's state, not Herald's.
    pub webhook: Check,
    pub dispatcher: DispatcherCheck,
    pub endpoints: EndpointsCheck,
    pub sources: SourcesCheck,
}

/// The event sources' brokers, as this instance's readers see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourcesCheck {
    /// `up`, or `degraded` while a source's broker fails (Herald's status is then `degraded`
    /// too, never `down`: HTTP events and deliveries go on).
    #[schema(example = "up")]
    pub status: &'static str,
    /// Enabled sources.
    pub enabled: usize,
    /// The sources failing, with the cause.
    pub failing: Vec<FailingSource>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailingSource {
    pub name: String,
    pub error: String,
}

impl SourcesCheck {
    fn of(rows: &[crate::db::SourceRow], live: &crate::sources::Live) -> Self {
        let failing: Vec<FailingSource> = live
            .failures()
            .into_iter()
            .filter_map(|(id, error)| {
                let row = rows.iter().find(|r| r.id == id && r.enabled)?;
                Some(FailingSource {
                    name: row.name.clone(),
                    error,
                })
            })
            .collect();
        Self {
            status: if failing.is_empty() { "up" } else { "degraded" },
            enabled: rows.iter().filter(|r| r.enabled).count(),
            failing,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `up` or `down`.
    #[schema(example = "up")]
    pub status: &'static str,
    /// What is in use: `postgres` or `sqlite` for the database, `redis` or `memory` for the
    /// cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "postgres")]
    pub backend: Option<&'static str>,
    /// The cause, when down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DispatcherCheck {
    /// `active`, `inactive`, `stalled` (active, and due work has waited longer than
    /// 2 × `SCHEDULER_INTERVAL` + `WEBHOOK_TIMEOUT` + 0.5 s while this instance claimed and
    /// finished nothing), or `unknown` (the database cannot say).
    #[schema(example = "active")]
    pub status: &'static str,
    pub last_tick_at: Option<DateTime<Utc>>,
    /// When this instance last claimed a message or recorded an outcome.
    pub last_progress_at: Option<DateTime<Utc>>,
}

impl Check {
    fn of(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self {
                status: "up",
                backend: None,
                error: None,
            },
            Err(error) => Self {
                status: "down",
                backend: None,
                error: Some(error),
            },
        }
    }

    fn on(self, backend: &'static str) -> Self {
        Self {
            backend: Some(backend),
            ..self
        }
    }
}

async fn within<T, E: ToString>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
    }
}

/// Liveness and the state of each dependency. 200 unless the database is down (503).
#[utoipa::path(
    get, path = "/health", tag = "operations", operation_id = "health", security(()),
    responses(
        (status = 200, description = "Up (possibly degraded)", body = Health,
         example = json!({"status":"ok","timestamp":"2026-11-22T10:00:00Z","checks":{"database":{"status":"up","backend":"postgres"},"cache":{"status":"up","backend":"redis"},"webhook":{"status":"up"},"dispatcher":{"status":"active","last_tick_at":"2026-11-22T09:59:00Z"}}})),
        (status = 503, description = "The database is down", body = Health),
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (db, active, cache, rows, source_rows) = tokio::join!(
        within(state.store.run(Op::Ping, |s| s.ping())),
        within(state.store.run(Op::DispatchState, |s| s.dispatch_active())),
        within(state.cache.ping()),
        within(state.store.run(Op::Read, |s| s.endpoints())),
        within(state.store.run(Op::Read, |s| s.sources())),
    );
    let sources = SourcesCheck::of(source_rows.as_deref().unwrap_or_default(), &state.sources);
    let endpoints = EndpointsCheck::of(
        rows.as_deref().unwrap_or_default(),
        state.protection.limiter(),
    );
    let now = Utc::now();
    let idle = state.monitor.is_idle_too_long(now, state.started_at);
    let window = state.monitor.stall_window;
    let overdue = match (&active, idle) {
        (Ok(true), true) => within(state.store.run(Op::Counts, move |s| s.overdue(window)))
            .await
            .unwrap_or(false),
        _ => false,
    };
    let dispatcher = match active {
        Ok(true) if overdue => "stalled",
        Ok(true) => "active",
        Ok(false) => "inactive",
        Err(_) => "unknown",
    };
    match &cache {
        Ok(()) => state.monitor.cache.succeeded(),
        Err(e) => state.monitor.cache.failed(e),
    }
    let webhook = match state.monitor.webhook.is_healthy() {
        true => Ok(()),
        false => Err(state.monitor.webhook.last_error().unwrap_or_default()),
    };
    let status = match (&db, &cache, &webhook) {
        (Err(_), _, _) => "down",
        (Ok(()), Err(_), _) | (Ok(()), _, Err(_)) => "degraded",
        _ if dispatcher == "stalled" || !sources.failing.is_empty() => "degraded",
        _ => "ok",
    };
    let body = Health {
        status,
        timestamp: now,
        checks: Checks {
            database: Check::of(db).on(state.store.backend()),
            cache: Check::of(cache).on(state.cache.backend()),
            webhook: Check::of(webhook),
            dispatcher: DispatcherCheck {
                status: dispatcher,
                last_tick_at: state.monitor.last_tick(),
                last_progress_at: state.monitor.last_progress(),
            },
            endpoints,
            sources,
        },
    };
    if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// Prometheus text exposition of Herald's metrics.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain",
               body = String, example = "herald_deliveries_total{outcome=\"success\"} 42"))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.monitor.metrics;
    // A failure is already counted and, on the change to failing, logged by the store.
    if let Ok(counts) = state.store.run(Op::Counts, |s| s.counts()).await {
        metrics.observe_counts(&counts);
    }
    if let Ok(Ok(active)) = tokio::time::timeout(
        CHECK_TIMEOUT,
        state.store.run(Op::DispatchState, |s| s.dispatch_active()),
    )
    .await
    {
        metrics.dispatch_active.set(i64::from(active));
    }
    if let Ok(rows) = state.store.run(Op::Read, |s| s.endpoints()).await {
        observe(metrics, &rows);
    }
    if let Ok(rows) = state.store.run(Op::Read, |s| s.sources()).await {
        metrics.sources.observe(&rows, &state.sources);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
