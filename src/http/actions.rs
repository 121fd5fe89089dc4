//! State changes on one message: `POST /messages/{id}/retry` and `DELETE /messages/{id}`.

use actix_web::{HttpResponse, web};

use super::edge::parse_id;
use super::error::{ApiError, ErrorBody};
use super::responses::{InvalidId, Unauthorized, Unavailable, UnknownId};
use super::state::AppState;
use super::views::MessageView;
use crate::db::{Backend, EventRecord, MessageRecord, Op, Scope, StoreError};
use crate::domain::EventType;

/// A state change on one message, and what its 409 says when the message is elsewhere.
struct Change {
    /// Past participle for messages: "retried", "cancelled".
    done: &'static str,
    /// The only status the change applies to.
    allowed: &'static str,
    apply: fn(&dyn Backend, Scope) -> Result<EventRecord, StoreError>,
}

async fn change(
    state: web::Data<AppState>,
    raw_id: &str,
    change: Change,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(raw_id)?;
    // Only events of type `message` are messages; and a refused change names the message's
    // status as /messages shows it.
    let record = state
        .store
        .run(Op::Change, move |s| {
            let (event, _) = s.get_event(id)?;
            if event.event_type != EventType::MESSAGE {
                return Err(StoreError::NotFound);
            }
            (change.apply)(s, Scope::Event(id)).map_err(|e| match e {
                StoreError::Conflict(_) => {
                    let status = MessageRecord::of(&event).status;
                    StoreError::Conflict(format!(
                        "message is {status}; only {} messages can be {}",
                        change.allowed, change.done
                    ))
                }
                other => other,
            })
        })
        .await?;
    tracing::info!(message.id = %id, change = change.done, "message changed");
    state.wake.due();
    Ok(HttpResponse::Ok().json(MessageView::from(MessageRecord::of(&record))))
}

/// Send a failed message again: back to `pending`, attempts reset, history kept.
#[utoipa::path(
    post, path = "/messages/{id}/retry", tag = "messages", operation_id = "retryMessage",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses(
        (status = 200, body = MessageView, description = "The message, pending again"),
        (status = 400, response = InvalidId),
        (status = 401, response = Unauthorized),
        (status = 404, response = UnknownId),
        (status = 409, body = ErrorBody, description = "The message is not failed",
         example = json!({"error": "message is sent; only failed messages can be retried", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let retry = Change {
        done: "retried",
        allowed: "failed",
        apply: |s, id| s.retry(id),
    };
    change(state, &id, retry).await
}

/// Cancel a pending message: it becomes `cancelled` and is never sent.
#[utoipa::path(
    delete, path = "/messages/{id}", tag = "messages", operation_id = "cancelMessage",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses(
        (status = 200, body = MessageView, description = "The message, cancelled"),
        (status = 400, response = InvalidId),
        (status = 401, response = Unauthorized),
        (status = 404, response = UnknownId),
        (status = 409, body = ErrorBody, description = "The message is sending, sent, failed or cancelled",
         example = json!({"error": "message is sending; only pending messages can be cancelled", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cancel = Change {
        done: "cancelled",
        allowed: "pending",
        apply: |s, id| s.cancel(id),
    };
    change(state, &id, cancel).await
}
