//! `POST /messages/batch`: up to 1,000 messages in one request, validated all or nothing and
//! stored with one multi-row insert and one commit (so continuous dispatchers are woken once).
//! An `Idempotency-Key` applies to the whole batch.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::create::{CreateMessage, batch_fingerprint, fingerprint, idempotency_key, parse};
use super::error::{ApiError, ErrorBody};
use super::responses::{HeadTooLarge, Unauthorized, Unavailable};
use super::state::AppState;
use super::views::MessageView;
use crate::db::{Batch, MessageRecord, NewMessage, Op};

/// The most messages one batch may hold.
pub const BATCH_MAX: usize = 1000;
/// Request bodies of this route may be this large (1 MiB); others 64 KiB.
pub const BATCH_BODY_LIMIT: usize = 1024 * 1024;

/// Messages to create together.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"messages": [
    {"recipient": "+905551111111", "content": "Your code is 4721"},
    {"recipient": "+905552222222", "content": "See you at 10", "send_at": "2026-11-22T10:00:00Z"}
]}))]
pub struct CreateBatch {
    /// 1 to 1,000 messages.
    #[schema(min_items = 1, max_items = 1000)]
    pub messages: Vec<CreateMessage>,
}

/// The stored messages, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCreated {
    pub messages: Vec<MessageView>,
    pub count: usize,
}

fn parse_all(body: &CreateBatch, max_chars: usize) -> Result<Vec<NewMessage>, ApiError> {
    if body.messages.is_empty() || body.messages.len() > BATCH_MAX {
        return Err(ApiError::BadRequest(format!(
            "messages must hold 1 to {BATCH_MAX} items; it holds {}",
            body.messages.len()
        )));
    }
    body.messages
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse(item, max_chars).map_err(|e| {
                // Every item error starts with its field: recipient, content or send_at.
                let text = e.to_string();
                let field = text.split(' ').next().unwrap_or_default().to_owned();
                ApiError::BadRequest(format!("messages[{i}].{field}: {text}"))
            })
        })
        .collect()
}

/// Create up to 1,000 messages at once. All are valid and stored, or none is.
#[utoipa::path(
    post, path = "/messages/batch", tag = "messages", operation_id = "createMessages",
    request_body(content = CreateBatch, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1 to 255 visible ASCII characters, for the whole batch: a repeat returns the first request's messages (200)")),
    responses(
        (status = 201, body = BatchCreated, description = "Created, in request order"),
        (status = 200, body = BatchCreated, description = "Replay of an earlier batch with the same Idempotency-Key"),
        (status = 400, body = ErrorBody, description = "An item is invalid (named by its index), or there are 0 or more than 1,000",
         example = json!({"error": "messages[3].recipient: recipient must be an E.164 phone number starting with '+', e.g. +905551234567", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "Idempotency-Key reused with a different body",
         example = json!({"error": "Idempotency-Key was already used with a different request", "status": "error"})),
        (status = 413, body = ErrorBody, description = "Body over 1 MiB",
         example = json!({"error": "request body is larger than 1048576 bytes", "status": "error"})),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json",
         example = json!({"error": "Content-Type must be application/json", "status": "error"})),
        (status = 431, response = HeadTooLarge),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create_batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateBatch>,
) -> Result<HttpResponse, ApiError> {
    let messages = parse_all(&body, state.content_max_chars)?;
    let key = idempotency_key(&req)?
        .map(|key| (key, batch_fingerprint(messages.iter().map(fingerprint))));
    let events = state
        .routed_all(messages.iter().map(|m| m.to_event()).collect())
        .await;
    let stored = state
        .store
        .run(Op::Insert, move |s| s.insert_events(&events, key.as_ref()))
        .await?;
    state.wake.due();
    let (mut response, records) = match stored {
        Batch::Created(records) => (HttpResponse::Created(), records),
        Batch::Replayed(records) => {
            let mut response = HttpResponse::Ok();
            response.insert_header(("Idempotent-Replayed", "true"));
            (response, records)
        }
    };
    let messages: Vec<MessageView> = records
        .iter()
        .map(|r| MessageView::from(MessageRecord::of(r)))
        .collect();
    Ok(response.json(BatchCreated {
        count: messages.len(),
        messages,
    }))
}
