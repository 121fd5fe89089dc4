//! `GET /events` and `GET /events/count`: the event history, searched by time, type, status,
//! content filter and the state of a delivery to one endpoint, paged by keyset cursor or by
//! offset. The criteria are parsed in `search_query` and run as one SQL condition.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::event_views::{DeliveryStatusName, EventList, EventStatusFilter, EventView};
use super::responses::{Unauthorized, Unavailable};
use super::search_query::search;
use super::state::AppState;
use crate::db::Op;
use crate::db::search::Start;

/// How many events match.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventCount {
    pub count: i64,
}

/// Search events, newest first (sent events by when they were sent).
#[utoipa::path(
    get, path = "/events", tag = "events", operation_id = "listEvents",
    params(
        ("type" = Option<Vec<String>>, Query, description = "Only events of these types (repeat the parameter for several)"),
        ("status" = Option<EventStatusFilter>, Query, description = "pending, sent, failed, cancelled, unrouted, or all (the default)"),
        ("from" = Option<String>, Query, format = DateTime, description = "Created at or after this RFC 3339 time"),
        ("to" = Option<String>, Query, format = DateTime, description = "Created before this RFC 3339 time"),
        ("filter" = Option<String>, Query, description = "A filter in the routing language (JSON, URL-encoded) over the payload; `regex` is not allowed here",
         example = r#"{"path":"$.total","op":"gte","value":100}"#),
        ("endpoint" = Option<String>, Query, description = "Only events with a delivery to this endpoint (id or name), in `delivery_status` when given"),
        ("delivery_status" = Option<DeliveryStatusName>, Query, description = "With `endpoint`: pending (in flight included), sent, failed, cancelled, or none (never routed to it)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, default 20"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page: the page after it (not with `offset`)"),
        ("offset" = Option<u64>, Query, minimum = 0, description = "Events to skip"),
    ),
    responses(
        (status = 200, body = EventList, description = "A page of events; `next_cursor` is null on the last page"),
        (status = 400, body = ErrorBody, description = "A parameter is malformed, unknown, out of range, or repeated; the filter cannot be searched; the cursor is not Herald's",
         example = json!({"error": "from (2026-12-02T00:00:00+00:00) is after to (2026-12-01T00:00:00+00:00)", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (search, page) = search(&state, &query, true).await?;
    let page = page.expect("a paged search");
    let by_offset = matches!(page.start, Start::Offset(_));
    let (found, total) = state
        .store
        .run(crate::db::Op::Read, move |s| {
            let found = s.search_events(&search, &page)?;
            // A page reached by cursor skips the count: paging stays an index range scan.
            let total = if by_offset {
                Some(s.count_events(&search)?)
            } else {
                None
            };
            Ok((found, total))
        })
        .await?;
    let events: Vec<EventView> = found.events.iter().map(EventView::of).collect();
    Ok(HttpResponse::Ok().json(EventList {
        count: events.len(),
        total,
        next_cursor: found.next.map(|c| c.encode()),
        events,
    }))
}

/// Count the events a search matches (the parameters of `GET /events` but the paging ones).
#[utoipa::path(
    get, path = "/events/count", tag = "events", operation_id = "countEvents",
    params(
        ("type" = Option<Vec<String>>, Query, description = "Only events of these types"),
        ("status" = Option<EventStatusFilter>, Query, description = "pending, sent, failed, cancelled, unrouted, or all"),
        ("from" = Option<String>, Query, format = DateTime, description = "Created at or after this time"),
        ("to" = Option<String>, Query, format = DateTime, description = "Created before this time"),
        ("filter" = Option<String>, Query, description = "A filter over the payload (JSON, URL-encoded)"),
        ("endpoint" = Option<String>, Query, description = "Endpoint id or name"),
        ("delivery_status" = Option<DeliveryStatusName>, Query, description = "With `endpoint`: pending, sent, failed, cancelled or none"),
    ),
    responses(
        (status = 200, body = EventCount, description = "How many events match"),
        (status = 400, body = ErrorBody, description = "A parameter is malformed, unknown or repeated"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn count(
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (search, _) = search(&state, &query, false).await?;
    let count = state
        .store
        .run(Op::Read, move |s| s.count_events(&search))
        .await?;
    Ok(HttpResponse::Ok().json(EventCount { count }))
}
