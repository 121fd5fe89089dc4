//! `POST /events/{id}/replay?endpoint=`: one event sent again at once, to one endpoint (whatever
//! it takes now: the operator asked) or to every enabled endpoint that takes it now. It is kept
//! as a replay job of its own (already `done`), so its attempts say `replay` like any other.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpResponse, web};

use super::edge::parse_uuid;
use super::endpoints::current;
use super::error::{ApiError, ErrorBody};
use super::events::not_found;
use super::replay_views::ReplayView;
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::db::{Candidate, Enqueue, Op, ReplayProgress, ReplayRow, ReplayStatus};
use crate::domain::MessageStatus;
use crate::replay::{Mode, plan_event};
use crate::routing::Compiled;

/// Send one event again.
#[utoipa::path(
    post, path = "/events/{id}/replay", tag = "replays", operation_id = "replayEvent",
    params(
        ("id" = uuid::Uuid, Path, description = "Event id"),
        ("endpoint" = Option<String>, Query, description = "Endpoint id or name; absent: every enabled endpoint that takes the event now"),
    ),
    responses(
        (status = 202, body = ReplayView, description = "Enqueued; the job that did it (`done`)"),
        (status = 400, body = ErrorBody, description = "The id is not a UUID, or an unknown parameter"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No event, or no endpoint, with this id"),
        (status = 409, body = ErrorBody, description = "Its delivery is already on its way, or no endpoint takes it"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn replay(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    if let Some(unknown) = query.keys().find(|k| k.as_str() != "endpoint") {
        return Err(ApiError::BadRequest(format!(
            "unknown parameter '{unknown}'; expected endpoint"
        )));
    }
    let id = parse_uuid(&id, "an event id")?;
    let (event, _) = state
        .store
        .run(Op::Read, move |s| s.get_event(id))
        .await
        .map_err(not_found("event"))?;
    let endpoint = match query.get("endpoint") {
        Some(raw) => Some(current(&state, raw).await?),
        None => None,
    };
    let candidate = Candidate {
        id: event.id,
        event_type: event.event_type.clone(),
        payload: event.payload.clone(),
        channels: event.channels.clone(),
        created_at: event.created_at,
        deliveries: event
            .deliveries
            .iter()
            .map(|d| (d.endpoint_id, d.id, d.status))
            .collect(),
    };
    let enqueue = match &endpoint {
        Some(row) => vec![match candidate.delivery_to(row.id) {
            None => Enqueue::Insert {
                event: event.id,
                endpoint: row.id,
                ordering_key: Compiled::new(row.clone()).ordering_key(&event.payload),
            },
            Some((_, MessageStatus::Pending | MessageStatus::Sending)) => {
                return Err(ApiError::Conflict(format!(
                    "its delivery to {} is already on its way",
                    row.name
                )));
            }
            Some((delivery, _)) => Enqueue::Reset {
                event: event.id,
                delivery,
            },
        }],
        None => {
            let targets: Vec<Arc<Compiled>> = state
                .endpoints
                .all()
                .into_iter()
                .filter(|e| e.row.enabled)
                .collect();
            plan_event(Mode::All, &candidate, &targets)
        }
    };
    if enqueue.is_empty() {
        return Err(ApiError::Conflict(
            "no enabled endpoint takes this event now, or its deliveries are on their way".into(),
        ));
    }
    let now = chrono::Utc::now();
    let job = ReplayRow {
        id: uuid::Uuid::now_v7(),
        endpoint_id: endpoint.as_ref().map(|e| e.id),
        from: event.created_at,
        to: Some(event.created_at + chrono::Duration::milliseconds(1)),
        types: vec![event.event_type.clone()],
        filter: None,
        mode: Mode::All,
        rate_per_sec: None,
        max_events: 1,
        status: ReplayStatus::Done,
        planned: 1,
        examined: 1,
        enqueued: 0,
        cursor: Some((event.created_at, event.id)),
        error: None,
        created_at: now,
        updated_at: now,
        finished_at: Some(now),
    };
    let mut stored = job.clone();
    stored.enqueued = state
        .store
        .run(Op::Change, move |s| s.replay_event(&job, &enqueue))
        .await?;
    state.wake.due();
    let progress = ReplayProgress {
        open: stored.enqueued,
        ..Default::default()
    };
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/replays/{}", stored.id)))
        .json(ReplayView::of(&stored, progress, &state.endpoints)))
}
