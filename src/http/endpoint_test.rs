//! `POST /endpoints/{id}/test`: explain, before anything is sent, whether an event would go to
//! an endpoint, clause by clause, and the exact body it would receive. Nothing is stored or sent.

use actix_web::{HttpResponse, web};

use super::endpoint_views::{TestEvent, TestResult};
use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::domain::{EventType, parse_channel};
use crate::routing::Compiled;

/// Explain how an event would be routed to this endpoint and what body it would get.
#[utoipa::path(
    post, path = "/endpoints/{id}/test", tag = "endpoints", operation_id = "testEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    request_body(content = TestEvent, content_type = "application/json"),
    responses(
        (status = 200, body = TestResult, description = "The verdict, the reason for each filter clause, and the body",
         example = json!({"matched": true, "type_matched": true, "channels_matched": true,
            "reasons": [{"path": "$.total", "op": "gte", "found": 120, "result": true}],
            "body": "{\"total\":120}", "content_type": "application/json", "error": null})),
        (status = 400, body = ErrorBody, description = "The type or payload is invalid"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn test(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<TestEvent>,
) -> Result<HttpResponse, ApiError> {
    let event_type = EventType::parse(&body.event_type).map_err(|e| ApiError::BadRequest(e.0))?;
    if !body.payload.is_object() {
        return Err(ApiError::BadRequest("payload must be a JSON object".into()));
    }
    let channels = body
        .channels
        .iter()
        .flatten()
        .map(|c| parse_channel(c).map_err(|e| ApiError::BadRequest(format!("channels: {}", e.0))))
        .collect::<Result<Vec<_>, _>>()?;
    let row = super::endpoints::current(&state, &id).await?;
    let endpoint = Compiled::new(row);
    let type_matched = endpoint.takes_type(event_type.as_str());
    let channels_matched = endpoint.shares_channel(&channels);
    let (filter_matched, reasons) = match &endpoint.filter {
        Some(f) => f.explain(&body.payload),
        None => (true, Vec::new()),
    };
    let sample_id = "00000000-0000-0000-0000-000000000000";
    let (body_text, content_type, error) =
        match endpoint.render(sample_id, event_type.as_str(), &body.payload) {
            Ok(r) => (
                Some(String::from_utf8_lossy(&r.body).into_owned()),
                Some(r.content_type),
                None,
            ),
            Err(e) => (None, None, Some(e)),
        };
    Ok(HttpResponse::Ok().json(TestResult {
        matched: type_matched && channels_matched && filter_matched,
        type_matched,
        channels_matched,
        reasons,
        body: body_text,
        content_type,
        error,
    }))
}
