//! `/replays`: replay jobs. `POST` counts first (a dry run answers the count and sends
//! nothing), then makes the job, a row that the instances' replayers run batch by batch; the
//! job's own routes read it and pause, resume or cancel it.

use std::sync::Arc;

use actix_web::{HttpResponse, web};

use super::edge::parse_uuid;
use super::endpoints::current;
use super::error::{ApiError, ErrorBody};
use super::events::not_found;
use super::replay_input::{CreateReplay, MAX_EVENTS, job};
use super::replay_views::{DryRunView, ReplayList, ReplayView};
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::db::{Op, ReplayRow, ReplayStatus};
use crate::routing::Compiled;

/// Count what a replay would send, or start it.
#[utoipa::path(
    post, path = "/replays", tag = "replays", operation_id = "createReplay",
    request_body(content = CreateReplay, content_type = "application/json"),
    responses(
        (status = 202, body = ReplayView, description = "The job, running"),
        (status = 200, body = DryRunView, description = "`dry_run`: what it would send; nothing was sent or stored"),
        (status = 400, body = ErrorBody, description = "A field is malformed or out of range (named), `mode: all` without `confirm`, or more events than `max_events`",
         example = json!({"error": "mode 'all' sends every matching event again: add \"confirm\": true", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<CreateReplay>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = match &body.endpoint {
        Some(raw) => Some(current(&state, raw).await?),
        None => None,
    };
    let mut job = job(&body, endpoint.as_ref().map(|e| e.id), chrono::Utc::now())?;
    let targets: Vec<Arc<Compiled>> = match endpoint {
        Some(row) => vec![
            state
                .endpoints
                .get(row.id)
                .unwrap_or_else(|| Arc::new(Compiled::new(row))),
        ],
        None => state
            .endpoints
            .all()
            .into_iter()
            .filter(|e| e.row.enabled)
            .collect(),
    };
    let counted = job.clone();
    let dry = state
        .store
        .run(Op::Read, move |s| {
            crate::replay::dry_run(s, &counted, &targets)
        })
        .await?;
    if body.dry_run {
        return Ok(HttpResponse::Ok().json(DryRunView::of(dry, &state.endpoints)));
    }
    if dry.count > i64::from(job.max_events) {
        return Err(ApiError::BadRequest(format!(
            "this replay would send {}{} events, more than max_events ({}); narrow it, or raise \
             max_events (at most {MAX_EVENTS})",
            if dry.count > i64::from(job.max_events) + 1 {
                ""
            } else {
                "more than "
            },
            dry.count.min(i64::from(job.max_events) + 1),
            job.max_events
        )));
    }
    job.planned = dry.count;
    let made = state
        .store
        .run(Op::Change, move |s| s.create_replay(&job))
        .await?;
    state.replay_bell.notify_one();
    tracing::info!(replay = %made.id, mode = made.mode.as_str(), planned = made.planned, "replay started");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/replays/{}", made.id)))
        .json(ReplayView::of(&made, Default::default(), &state.endpoints)))
}

/// Replay jobs, newest first (the last 100).
#[utoipa::path(
    get, path = "/replays", tag = "replays", operation_id = "listReplays",
    responses(
        (status = 200, body = ReplayList, description = "Jobs with their progress"),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let jobs = state
        .store
        .run(Op::Read, |s| {
            s.replays(100)?
                .into_iter()
                .map(|j| Ok((s.replay_progress(j.id)?, j)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let replays: Vec<ReplayView> = jobs
        .iter()
        .map(|(p, j)| ReplayView::of(j, *p, &state.endpoints))
        .collect();
    Ok(HttpResponse::Ok().json(ReplayList {
        count: replays.len(),
        replays,
    }))
}

/// One job and its progress.
#[utoipa::path(
    get, path = "/replays/{id}", tag = "replays", operation_id = "getReplay",
    params(("id" = uuid::Uuid, Path, description = "Replay id")),
    responses(
        (status = 200, body = ReplayView, description = "The job"),
        (status = 400, body = ErrorBody, description = "The id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No replay with this id"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid(&id, "a replay id")?;
    let (job, progress) = state
        .store
        .run(Op::Read, move |s| {
            Ok((s.replay(id)?, s.replay_progress(id)?))
        })
        .await
        .map_err(not_found("replay"))?;
    Ok(HttpResponse::Ok().json(ReplayView::of(&job, progress, &state.endpoints)))
}

async fn transition(
    state: &AppState,
    id: &str,
    from: &'static [ReplayStatus],
    to: ReplayStatus,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid(id, "a replay id")?;
    let (job, progress): (ReplayRow, _) = state
        .store
        .run(Op::Change, move |s| {
            Ok((s.set_replay_status(id, from, to)?, s.replay_progress(id)?))
        })
        .await
        .map_err(not_found("replay"))?;
    if to == ReplayStatus::Running {
        state.replay_bell.notify_one();
    }
    Ok(HttpResponse::Ok().json(ReplayView::of(&job, progress, &state.endpoints)))
}

macro_rules! action {
    ($name:ident, $path:literal, $op:literal, $from:expr, $to:expr, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(
            post, path = $path, tag = "replays", operation_id = $op,
            params(("id" = uuid::Uuid, Path, description = "Replay id")),
            responses(
                (status = 200, body = ReplayView, description = "The job, moved"),
                (status = 400, body = ErrorBody, description = "The id is not a UUID"),
                (status = 401, response = Unauthorized),
                (status = 404, body = ErrorBody, description = "No replay with this id"),
                (status = 409, body = ErrorBody, description = "The job is not in a state that allows it"),
                (status = 503, response = Unavailable),
            )
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            id: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            transition(&state, &id, $from, $to).await
        }
    };
}

action!(
    pause,
    "/replays/{id}/pause",
    "pauseReplay",
    &[ReplayStatus::Running],
    ReplayStatus::Paused,
    "Pause a running job: it enqueues nothing more until resumed (what it enqueued is sent)."
);
action!(
    resume,
    "/replays/{id}/resume",
    "resumeReplay",
    &[ReplayStatus::Paused],
    ReplayStatus::Running,
    "Resume a paused job where its cursor stands."
);
action!(
    cancel,
    "/replays/{id}/cancel",
    "cancelReplay",
    &[ReplayStatus::Running, ReplayStatus::Paused],
    ReplayStatus::Cancelled,
    "Cancel a job for good (what it enqueued is sent)."
);
