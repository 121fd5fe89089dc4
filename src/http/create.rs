//! `POST /messages`: create a message through the API, with an optional `Idempotency-Key` so a
//! client can retry safely. The body is parsed into domain types before anything is stored.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use super::views::MessageView;
use crate::db::{Inserted, MessageRecord, NewMessage};
use crate::domain::{Content, Recipient};

const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"recipient": "+905551111111", "content": "Your code is 4721", "send_at": "2026-11-22T10:00:00Z"}))]
pub struct CreateMessage {
    /// E.164 phone number: `+`, then 7 to 15 digits, the first not 0. Spaces, dashes, dots and
    /// parentheses between them are removed.
    #[schema(
        example = "+905551111111",
        pattern = r"^\s*\+[ .()-]*[1-9](?:[ .()-]*[0-9]){6,14}[ .()-]*\s*$"
    )]
    pub recipient: String,
    /// 1 to `CONTENT_MAX_CHARS` (default 160) characters. Not blank (whitespace and invisible
    /// characters alone are refused), and no control characters but tab, LF and CR.
    #[schema(
        example = "Your code is 4721",
        min_length = 1,
        max_length = 160,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub content: String,
    /// RFC 3339 time before which the message is not sent. Default: now.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-22T10:00:00Z")]
    pub send_at: Option<String>,
}

pub(super) fn parse(body: &CreateMessage, max_chars: usize) -> Result<NewMessage, ApiError> {
    let recipient = Recipient::parse(&body.recipient).map_err(|e| ApiError::BadRequest(e.0))?;
    let content =
        Content::parse(&body.content, max_chars).map_err(|e| ApiError::BadRequest(e.0))?;
    let send_at = parse_send_at(body.send_at.as_deref()).map_err(ApiError::BadRequest)?;
    let mut message = NewMessage::new(recipient, content);
    message.send_at = send_at;
    Ok(message)
}

/// An optional RFC 3339 `send_at`, as `/messages` and `/events` take it.
pub(super) fn parse_send_at(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "send_at must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z".to_owned())
    })
    .transpose()
}

/// One fingerprint for a whole batch, from its items' fingerprints in order.
pub(super) fn batch_fingerprint(items: impl Iterator<Item = String>) -> String {
    let mut digest = Sha256::new();
    for print in items {
        digest.update(print);
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_MAX
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
        )));
    }
    Ok(Some(key.to_owned()))
}

/// What makes two requests "the same": the parsed values, not their spelling.
pub(super) fn fingerprint(m: &NewMessage) -> String {
    let send_at = m.send_at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let digest = Sha256::digest(format!(
        "{}\n{}\n{}",
        m.recipient,
        send_at,
        m.content.as_str()
    ));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Create a message. It is `pending` and is not claimed before `send_at`.
#[utoipa::path(
    post, path = "/messages", tag = "messages", operation_id = "createMessage",
    request_body(content = CreateMessage, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1 to 255 visible ASCII characters. Makes a retry of the same request return the first message (200) instead of creating another")),
    responses(
        (status = 201, body = MessageView, description = "Created"),
        (status = 200, body = MessageView, description = "Replay of an earlier request with the same Idempotency-Key"),
        (status = 400, body = ErrorBody, description = "Invalid body",
         example = json!({"error": "recipient must be an E.164 phone number starting with '+', e.g. +905551234567", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "Idempotency-Key reused with a different body",
         example = json!({"error": "Idempotency-Key was already used with a different request", "status": "error"})),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB",
         example = json!({"error": "request body is larger than 65536 bytes", "status": "error"})),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json",
         example = json!({"error": "Content-Type must be application/json", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateMessage>,
) -> Result<HttpResponse, ApiError> {
    let mut message = parse(&body, state.content_max_chars)?;
    if let Some(key) = idempotency_key(&req)? {
        let print = fingerprint(&message);
        message.idempotency = Some((key, print));
    }
    match state.create(message.to_event()).await? {
        Inserted::Created(record) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/messages/{}", record.id)))
            .json(MessageView::from(MessageRecord::of(&record)))),
        Inserted::Replayed(record) => Ok(HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(MessageView::from(MessageRecord::of(&record)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(recipient: &str, content: &str, send_at: Option<&str>) -> CreateMessage {
        CreateMessage {
            recipient: recipient.into(),
            content: content.into(),
            send_at: send_at.map(Into::into),
        }
    }

    #[test]
    fn the_same_message_spelled_differently_has_the_same_fingerprint() {
        let a = parse(
            &body("+90 555 111 11 11", "hi", Some("2026-11-22T13:00:00+03:00")),
            160,
        )
        .unwrap();
        let b = parse(
            &body("+905551111111", "hi", Some("2026-11-22T10:00:00Z")),
            160,
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = parse(
            &body("+905551111111", "hi!", Some("2026-11-22T10:00:00Z")),
            160,
        )
        .unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn a_bad_send_at_is_refused() {
        let err = parse(&body("+905551111111", "hi", Some("tomorrow")), 160).unwrap_err();
        assert!(err.to_string().starts_with("send_at"), "{err}");
    }
}
