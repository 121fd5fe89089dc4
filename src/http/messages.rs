//! Reading messages: `GET /messages` (query parsed into a typed filter at the edge) and
//! `GET /messages/{id}` (with its delivery history).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::edge::parse_id;
use super::error::{ApiError, ErrorBody};
use super::responses::{InvalidId, Unauthorized, Unavailable, UnknownId};
use super::state::AppState;
use super::views::{AttemptView, MessageDetail, MessageList, MessageView, StatusFilter};
use crate::db::{EventFilter, MessageRecord, Op, StatusFilter as ByStatus, StoreError};
use crate::domain::{EventType, MessageStatus};

/// Query parameters of `GET /messages` (documented; parsed by hand for precise errors).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Page size, 1 to 100.
    #[param(default = 10, minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Messages to skip, 0 or more.
    #[param(default = 0, minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    offset: Option<u64>,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled` or `all`.
    #[param(value_type = Option<StatusFilter>, default = "sent", example = "sent")]
    status: Option<String>,
}

/// Messages are the events of type `message`; their status is the queue's view of it.
pub fn parse_list_filter(query: &HashMap<String, String>) -> Result<EventFilter, ApiError> {
    let limit = match query.get("limit") {
        None => 10,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest("limit must be a whole number from 1 to 100".into())
            })?,
    };
    let offset = match query.get("offset") {
        None => 0,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| {
                ApiError::BadRequest("offset must be a whole number, 0 or more".into())
            })?,
    };
    let status = match query.get("status").map(String::as_str) {
        None => Some(MessageStatus::Sent),
        Some("all") => None,
        Some(raw) => Some(raw.parse::<MessageStatus>().map_err(|_| {
            ApiError::BadRequest(
                "status must be one of pending, sending, sent, failed, cancelled, all".into(),
            )
        })?),
    };
    Ok(EventFilter {
        event_type: Some(EventType::MESSAGE.to_owned()),
        status: status.map(ByStatus::Message),
        limit,
        offset,
    })
}

/// List messages, newest first (by `sent_at` for sent messages, `created_at` otherwise).
#[utoipa::path(
    get, path = "/messages", tag = "messages", operation_id = "listMessages",
    params(ListParams),
    responses(
        (status = 200, body = MessageList, description = "A page of messages"),
        (status = 400, body = ErrorBody, description = "A parameter is out of range",
         example = json!({"error": "limit must be a whole number from 1 to 100", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let filter = parse_list_filter(&query)?;
    let page = state
        .store
        .run(Op::Read, move |s| s.list_events(&filter))
        .await?;
    let messages: Vec<MessageView> = page
        .events
        .iter()
        .map(|e| MessageView::from(MessageRecord::of(e)))
        .collect();
    Ok(HttpResponse::Ok().json(MessageList {
        count: messages.len(),
        total: page.total,
        messages,
    }))
}

/// One message with every delivery attempt made for it.
#[utoipa::path(
    get, path = "/messages/{id}", tag = "messages", operation_id = "getMessage",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses(
        (status = 200, body = MessageDetail, description = "The message and its attempts"),
        (status = 400, response = InvalidId),
        (status = 401, response = Unauthorized),
        (status = 404, response = UnknownId),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let (event, attempts) = state.store.run(Op::Read, move |s| s.get_event(id)).await?;
    if event.event_type != EventType::MESSAGE {
        return Err(StoreError::NotFound.into());
    }
    Ok(HttpResponse::Ok().json(MessageDetail {
        message: MessageRecord::of(&event).into(),
        delivery_attempts: attempts.into_iter().map(AttemptView::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_ten_sent_from_the_start() {
        let f = parse_list_filter(&q(&[])).unwrap();
        assert_eq!(
            (f.limit, f.offset, f.status),
            (10, 0, Some(ByStatus::Message(MessageStatus::Sent)))
        );
    }

    #[test]
    fn out_of_range_parameters_name_themselves() {
        for (k, v) in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "x"),
            ("offset", "-1"),
            ("status", "done"),
        ] {
            match parse_list_filter(&q(&[(k, v)])) {
                Err(ApiError::BadRequest(msg)) => assert!(msg.starts_with(k), "{msg}"),
                other => panic!("{k}={v} gave {other:?}"),
            }
        }
        assert_eq!(
            parse_list_filter(&q(&[("status", "all")])).unwrap().status,
            None
        );
    }
}
