//! State changes on one message: `POST /messages/{id}/retry` and `DELETE /messages/{id}`.

use actix_web::{HttpResponse, web};

use super::edge::parse_id;
use super::error::{ApiError, ErrorBody};
use super::responses::{InvalidId, Unauthorized, Unavailable, UnknownId};
use super::state::AppState;
use super::views::MessageView;
use crate::db::StoreError;

fn conflict(action: &str, allowed: &str) -> impl Fn(StoreError) -> ApiError {
    let (action, allowed) = (action.to_owned(), allowed.to_owned());
    move |e| match e {
        StoreError::Conflict(status) => ApiError::Conflict(format!(
            "message is {status}; only {allowed} messages can be {action}"
        )),
        other => other.into(),
    }
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
    let id = parse_id(&id)?;
    let record = state
        .store
        .run(move |s| s.retry(id))
        .await
        .map_err(conflict("retried", "failed"))?;
    tracing::info!(message.id = %id, "message queued for retry");
    Ok(HttpResponse::Ok().json(MessageView::from(record)))
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
    let id = parse_id(&id)?;
    let record = state
        .store
        .run(move |s| s.cancel(id))
        .await
        .map_err(conflict("cancelled", "pending"))?;
    tracing::info!(message.id = %id, "message cancelled");
    Ok(HttpResponse::Ok().json(MessageView::from(record)))
}
