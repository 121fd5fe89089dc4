//! State changes of an event's deliveries: `POST /events/{id}/retry` and `DELETE /events/{id}`
//! for all of them, and the same under `/events/{id}/deliveries/{delivery_id}` for one.

use actix_web::{HttpResponse, web};

use super::edge::parse_uuid;
use super::error::{ApiError, ErrorBody};
use super::event_views::EventView;
use super::events::not_found;
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::db::{Op, Scope};

async fn apply(
    state: web::Data<AppState>,
    scope: Scope,
    retry: bool,
) -> Result<HttpResponse, ApiError> {
    let what = if matches!(scope, Scope::Event(_)) {
        "event"
    } else {
        "delivery of this event"
    };
    let record = state
        .store
        .run(Op::Change, move |s| {
            if retry {
                s.retry(scope)
            } else {
                s.cancel(scope)
            }
        })
        .await
        .map_err(not_found(what))?;
    if retry {
        state.wake.due();
    }
    tracing::info!(event.id = %record.id, change = if retry { "retried" } else { "cancelled" }, "event changed");
    Ok(HttpResponse::Ok().json(EventView::of(&record)))
}

fn scope(path: &(String, String)) -> Result<Scope, ApiError> {
    Ok(Scope::Delivery {
        event: parse_uuid(&path.0, "an event id")?,
        delivery: parse_uuid(&path.1, "a delivery id")?,
    })
}

/// Put the event's failed deliveries back to `pending` (attempts reset, history kept).
#[utoipa::path(
    post, path = "/events/{id}/retry", tag = "events", operation_id = "retryEvent",
    params(("id" = uuid::Uuid, Path, description = "Event id")),
    responses(
        (status = 200, body = EventView, description = "The event, its failed deliveries pending again"),
        (status = 400, body = ErrorBody, description = "The id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No event with this id"),
        (status = 409, body = ErrorBody, description = "No delivery is failed",
         example = json!({"error": "event is sent; no delivery is failed", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid(&id, "an event id")?;
    apply(state, Scope::Event(id), true).await
}

/// Cancel the event's pending deliveries.
#[utoipa::path(
    delete, path = "/events/{id}", tag = "events", operation_id = "cancelEvent",
    params(("id" = uuid::Uuid, Path, description = "Event id")),
    responses(
        (status = 200, body = EventView, description = "The event, its pending deliveries cancelled"),
        (status = 400, body = ErrorBody, description = "The id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No event with this id"),
        (status = 409, body = ErrorBody, description = "No delivery is pending",
         example = json!({"error": "event is sent; no delivery is pending", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid(&id, "an event id")?;
    apply(state, Scope::Event(id), false).await
}

/// Put one failed delivery back to `pending`.
#[utoipa::path(
    post, path = "/events/{id}/deliveries/{delivery_id}/retry", tag = "events", operation_id = "retryDelivery",
    params(("id" = uuid::Uuid, Path, description = "Event id"), ("delivery_id" = uuid::Uuid, Path, description = "Delivery id")),
    responses(
        (status = 200, body = EventView, description = "The event, the delivery pending again"),
        (status = 400, body = ErrorBody, description = "An id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No such event, or no such delivery of it"),
        (status = 409, body = ErrorBody, description = "The delivery is not failed",
         example = json!({"error": "delivery is sent, not failed", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    apply(state, scope(&path)?, true).await
}

/// Cancel one pending delivery.
#[utoipa::path(
    delete, path = "/events/{id}/deliveries/{delivery_id}", tag = "events", operation_id = "cancelDelivery",
    params(("id" = uuid::Uuid, Path, description = "Event id"), ("delivery_id" = uuid::Uuid, Path, description = "Delivery id")),
    responses(
        (status = 200, body = EventView, description = "The event, the delivery cancelled"),
        (status = 400, body = ErrorBody, description = "An id is not a UUID"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No such event, or no such delivery of it"),
        (status = 409, body = ErrorBody, description = "The delivery is not pending",
         example = json!({"error": "delivery is sent, not pending", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn cancel_delivery(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    apply(state, scope(&path)?, false).await
}
