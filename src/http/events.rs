//! `POST /events`, `POST /events/batch` and `GET /events/{id}`: events are parsed at the edge,
//! routed to the enabled endpoints that match them, and stored with one delivery per endpoint in
//! one commit. Searching them (`GET /events`) is `search`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::create::{batch_fingerprint, idempotency_key};
use super::edge::parse_uuid;
use super::error::{ApiError, ErrorBody};
use super::event_input::{fingerprint, parse_event};
use super::event_views::{CreateEvent, CreateEvents, EventView, EventsCreated};
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::db::{Batch, Inserted, Op, StoreError};

pub use super::event_input::PAYLOAD_MAX;
/// A body a little over the largest payload, so that the payload's own limit speaks first.
pub const EVENT_BODY_LIMIT: usize = PAYLOAD_MAX + 16 * 1024;
pub const EVENTS_BATCH_LIMIT: usize = 8 * 1024 * 1024;
const MAX_BATCH: usize = 1000;

/// Store an event; it goes to every enabled endpoint whose types, channels and filter match.
#[utoipa::path(
    post, path = "/events", tag = "events", operation_id = "createEvent",
    request_body(content = CreateEvent, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "A retry of the same request returns the first event (200) and makes no new deliveries")),
    responses(
        (status = 201, body = EventView, description = "Stored and routed (`unrouted` when no endpoint matched)"),
        (status = 200, body = EventView, description = "Replay of an earlier request with the same Idempotency-Key"),
        (status = 400, body = ErrorBody, description = "Invalid body",
         example = json!({"error": "payload must be a JSON object", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "Idempotency-Key reused with a different body"),
        (status = 413, body = ErrorBody, description = "Body over 272 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateEvent>,
) -> Result<HttpResponse, ApiError> {
    let mut event = parse_event(&body).map_err(ApiError::BadRequest)?;
    if let Some(key) = idempotency_key(&req)? {
        event.idempotency = Some((key, fingerprint(&event)));
    }
    Ok(match state.create(event).await? {
        Inserted::Created(e) => HttpResponse::Created()
            .insert_header(("Location", format!("/events/{}", e.id)))
            .json(EventView::of(&e)),
        Inserted::Replayed(e) => HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(EventView::of(&e)),
    })
}

/// Store up to 1,000 events in one commit: all are valid and stored, or none is.
#[utoipa::path(
    post, path = "/events/batch", tag = "events", operation_id = "createEvents",
    request_body(content = CreateEvents, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "For the whole batch: a repeat returns the first request's events (200)")),
    responses(
        (status = 201, body = EventsCreated, description = "Stored, in request order"),
        (status = 200, body = EventsCreated, description = "Replay of an earlier batch with the same Idempotency-Key"),
        (status = 400, body = ErrorBody, description = "An item is invalid (named by its index), or there are 0 or more than 1,000",
         example = json!({"error": "events[3].type: type must be 1 to 128 characters from [A-Za-z0-9._:-], got ''", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "Idempotency-Key reused with a different body"),
        (status = 413, body = ErrorBody, description = "Body over 8 MiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create_batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateEvents>,
) -> Result<HttpResponse, ApiError> {
    if body.events.is_empty() || body.events.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "events must hold 1 to {MAX_BATCH} events, not {}",
            body.events.len()
        )));
    }
    let events = body
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            parse_event(e).map_err(|why| ApiError::BadRequest(format!("events[{i}].{why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events = state.routed_all(events).await;
    let key =
        idempotency_key(&req)?.map(|key| (key, batch_fingerprint(events.iter().map(fingerprint))));
    let stored = state
        .store
        .run(Op::Insert, move |s| s.insert_events(&events, key.as_ref()))
        .await?;
    state.wake.due();
    let (mut response, records) = match stored {
        Batch::Created(r) => (HttpResponse::Created(), r),
        Batch::Replayed(r) => {
            let mut response = HttpResponse::Ok();
            response.insert_header(("Idempotent-Replayed", "true"));
            (response, r)
        }
    };
    let events: Vec<EventView> = records.iter().map(EventView::of).collect();
    Ok(response.json(EventsCreated {
        count: events.len(),
        events,
    }))
}

/// One event, its deliveries, and every delivery's attempts.
#[utoipa::path(
    get, path = "/events/{id}", tag = "events", operation_id = "getEvent",
    params(("id" = uuid::Uuid, Path, description = "Event id")),
    responses(
        (status = 200, body = EventView, description = "The event, with `delivery_attempts` in each delivery, the reminders it scheduled and what each rule did with it"),
        (status = 400, body = ErrorBody, description = "The id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No event with this id"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid(&id, "an event id")?;
    let (event, attempts, reminders, notes) = state
        .store
        .run(Op::Read, move |s| {
            let (event, attempts) = s.get_event(id)?;
            let query = crate::db::ReminderQuery {
                event: Some(id),
                limit: 1000,
                ..Default::default()
            };
            Ok((event, attempts, s.reminders(&query)?, s.rule_notes(id)?))
        })
        .await
        .map_err(not_found("event"))?;
    let mut view = EventView::detail(&event, attempts);
    view.reminders = Some(
        reminders
            .iter()
            .map(super::rule_views::ReminderView::of)
            .collect(),
    );
    view.rules = Some(notes.into_iter().map(Into::into).collect());
    Ok(HttpResponse::Ok().json(view))
}

/// Maps `NotFound` to a 404 that names what was not found.
pub fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no {what} with this id")),
        other => other.into(),
    }
}
