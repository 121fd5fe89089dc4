//! Error responses that many operations share, defined once for the OpenAPI document.
//! They are documentation types: the handlers return `ApiError`, which produces these bodies.

#![allow(dead_code)]

use utoipa::ToResponse;

use super::error::ErrorBody;

#[derive(ToResponse)]
#[response(
    description = "Missing or wrong bearer token (only when API_TOKEN is set)",
    example = json!({"error": "missing or invalid bearer token", "status": "error"})
)]
pub struct Unauthorized(ErrorBody);

#[derive(ToResponse)]
#[response(
    description = "The database is unavailable; retry after the Retry-After header's seconds",
    example = json!({"error": "the database is unavailable; try again shortly", "status": "error"})
)]
pub struct Unavailable(ErrorBody);

#[derive(ToResponse)]
#[response(
    description = "The id is not a UUID",
    example = json!({"error": "'abc' is not a message id (a UUID)", "status": "error"})
)]
pub struct InvalidId(ErrorBody);

#[derive(ToResponse)]
#[response(
    description = "No message with this id",
    example = json!({"error": "no message with this id", "status": "error"})
)]
pub struct UnknownId(ErrorBody);

#[derive(ToResponse)]
#[response(
    description = "The request head is over 128 KiB or has more than 96 headers",
    example = json!({"error": "request head too large: at most 96 headers and 128 KiB", "status": "error"})
)]
pub struct HeadTooLarge(ErrorBody);
