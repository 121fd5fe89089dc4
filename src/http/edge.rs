//! The framework's own failures in our error shape: JSON and query parsing, unknown routes,
//! wrong methods, malformed ids. Also the body size limit.

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use uuid::Uuid;

use super::error::ApiError;

/// Request bodies larger than this get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    json_config_with(BODY_LIMIT)
}

/// JSON bodies up to `limit` bytes, errors in our shape.
pub fn json_config_with(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _| {
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge(limit),
                JsonPayloadError::ContentType => {
                    ApiError::UnsupportedMediaType("Content-Type must be application/json".into())
                }
                JsonPayloadError::Deserialize(e) if e.is_data() => {
                    ApiError::BadRequest(format!("invalid body: {e}"))
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::BadRequest(format!("malformed JSON: {e}"))
                }
                other => ApiError::BadRequest(format!("unreadable body: {other}")),
            };
            api.into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::BadRequest(format!("invalid query string: {err}")).into()
    })
}

/// For a path that exists, but not with this method; `Allow` lists the methods it has.
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed.error_response();
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    response
}

/// For a path that does not exist.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// `/swagger` and `/swagger/` lead to the UI.
pub async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/swagger-ui/"))
        .finish()
}

/// A message id from the path.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not a message id (a UUID)")))
}

/// A UUID from the path; `what` names it in the error ("an event id").
pub fn parse_uuid(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not {what} (a UUID)")))
}
