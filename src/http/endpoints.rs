//! `/endpoints`: create, list, read, change, delete, enable and disable endpoints, and read an
//! endpoint's secret. Every change is checked at the edge (see
//! [`EndpointInput`](crate::routing::EndpointInput)) and reloads the endpoint table.

use actix_web::{HttpResponse, web};

use super::endpoint_views::{EndpointCreated, EndpointList, EndpointSecret, EndpointView};
use super::error::{ApiError, ErrorBody};
use super::events::not_found;
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::db::{DEFAULT_ENDPOINT_ID, EndpointRow, Op};
use crate::routing::{EndpointInput, reload};

/// The window of `recent` in `GET /endpoints`.
const RECENT: chrono::Duration = chrono::Duration::minutes(15);

/// The endpoint a path names, by id or by name.
pub async fn current(state: &AppState, raw: &str) -> Result<EndpointRow, ApiError> {
    super::named::by_id_or_name(
        state,
        raw,
        "endpoint",
        |s| s.endpoints(),
        |r| (r.id, &r.name),
    )
    .await
}

/// Stores `row` (a new one when `create`), then reloads the table so that the next event routes
/// with it.
async fn save(state: &AppState, row: EndpointRow, create: bool) -> Result<EndpointRow, ApiError> {
    let saved = state
        .store
        .run(Op::Change, move |s| {
            if create {
                s.create_endpoint(&row)
            } else {
                s.update_endpoint(&row)
            }
        })
        .await
        .map_err(not_found("endpoint"))?;
    reload(&state.store, &state.endpoints).await?;
    tracing::info!(endpoint = %saved.name, enabled = saved.enabled, "endpoint written");
    Ok(saved)
}

/// Create an endpoint. Its secret is in the answer, and afterwards only at `/endpoints/{id}/secret`.
#[utoipa::path(
    post, path = "/endpoints", tag = "endpoints", operation_id = "createEndpoint",
    request_body(content = EndpointInput, content_type = "application/json"),
    responses(
        (status = 201, body = EndpointCreated, description = "Created"),
        (status = 400, body = ErrorBody, description = "A field is invalid; the message names it, or the JSON Pointer of a bad filter or template node",
         example = json!({"error": "filter: at /all/0/op: unknown op 'eqq'; expected one of eq, ne, gt, gte, lt, lte, in, nin, exists, missing, prefix, contains, regex", "status": "error"})),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "The name is taken",
         example = json!({"error": "an endpoint named 'billing' exists already", "status": "error"})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<EndpointInput>,
) -> Result<HttpResponse, ApiError> {
    let row = body
        .into_inner()
        .apply(None, &state.guard, false)
        .await
        .map_err(ApiError::BadRequest)?;
    let saved = save(&state, row, true).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/endpoints/{}", saved.id)))
        .json(EndpointCreated {
            endpoint: EndpointView::of(&saved),
            secret: saved.secret.clone(),
        }))
}

/// Every endpoint, by name, with its attempts of the last 15 minutes.
#[utoipa::path(
    get, path = "/endpoints", tag = "endpoints", operation_id = "listEndpoints",
    responses(
        (status = 200, body = EndpointList, description = "The endpoints"),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let since = chrono::Utc::now() - RECENT;
    let (rows, activity) = state
        .store
        .run(Op::Read, move |s| {
            Ok((s.endpoints()?, s.endpoint_activity(since)?))
        })
        .await?;
    let activity: std::collections::HashMap<_, _> = activity.into_iter().collect();
    let endpoints: Vec<EndpointView> = rows
        .iter()
        .map(|r| EndpointView {
            recent: Some(activity.get(&r.id).cloned().unwrap_or_default()),
            ..EndpointView::of(r)
        })
        .collect();
    Ok(HttpResponse::Ok().json(EndpointList {
        count: endpoints.len(),
        endpoints,
    }))
}

/// One endpoint.
#[utoipa::path(
    get, path = "/endpoints/{id}", tag = "endpoints", operation_id = "getEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    responses(
        (status = 200, body = EndpointView, description = "The endpoint"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&row)))
}

/// An endpoint's signing secret.
#[utoipa::path(
    get, path = "/endpoints/{id}/secret", tag = "endpoints", operation_id = "getEndpointSecret",
    params(("id" = String, Path, description = "Endpoint id or name")),
    responses(
        (status = 200, body = EndpointSecret, description = "The secret (`null`: deliveries are not signed)"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn secret(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    Ok(HttpResponse::Ok().json(EndpointSecret { secret: row.secret }))
}

/// Change some fields; `null` clears `event_types`, `channels`, `filter`, `template` or
/// `description`. Old events keep the routing they were stored with.
#[utoipa::path(
    patch, path = "/endpoints/{id}", tag = "endpoints", operation_id = "updateEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    request_body(content = EndpointInput, content_type = "application/json"),
    responses(
        (status = 200, body = EndpointView, description = "The endpoint, changed"),
        (status = 400, body = ErrorBody, description = "A field is invalid"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 409, body = ErrorBody, description = "The name is taken"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<EndpointInput>,
) -> Result<HttpResponse, ApiError> {
    let base = current(&state, &id).await?;
    let is_default = base.id == DEFAULT_ENDPOINT_ID;
    let row = body
        .into_inner()
        .apply(Some(base), &state.guard, is_default)
        .await
        .map_err(ApiError::BadRequest)?;
    if is_default && row.name != "default" {
        return Err(ApiError::BadRequest(
            "name: the endpoint default keeps its name".into(),
        ));
    }
    let saved = save(&state, row, false).await?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&saved)))
}

async fn set_enabled(
    state: web::Data<AppState>,
    id: &str,
    enabled: bool,
) -> Result<HttpResponse, ApiError> {
    let mut row = current(&state, id).await?;
    row.enabled = enabled;
    let saved = save(&state, row, false).await?;
    if enabled {
        state.wake.due();
    }
    Ok(HttpResponse::Ok().json(EndpointView::of(&saved)))
}

/// Enable an endpoint: it gets new deliveries, and its waiting ones go out.
#[utoipa::path(
    post, path = "/endpoints/{id}/enable", tag = "endpoints", operation_id = "enableEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    responses(
        (status = 200, body = EndpointView, description = "The endpoint, enabled"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn enable(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(state, &id, true).await
}

/// Disable an endpoint: no new deliveries; the pending ones wait until it is enabled again.
#[utoipa::path(
    post, path = "/endpoints/{id}/disable", tag = "endpoints", operation_id = "disableEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    responses(
        (status = 200, body = EndpointView, description = "The endpoint, disabled"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn disable(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(state, &id, false).await
}

/// Delete an endpoint: its pending deliveries are cancelled, its history is kept.
#[utoipa::path(
    delete, path = "/endpoints/{id}", tag = "endpoints", operation_id = "deleteEndpoint",
    params(("id" = String, Path, description = "Endpoint id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with this id or name"),
        (status = 409, body = ErrorBody, description = "`default` follows WEBHOOK_URL and cannot be deleted"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = current(&state, &id).await?.id;
    if id == DEFAULT_ENDPOINT_ID {
        return Err(ApiError::Conflict(
            "default follows WEBHOOK_URL; disable it, or start with WEBHOOK_URL=none".into(),
        ));
    }
    state
        .store
        .run(Op::Change, move |s| s.delete_endpoint(id))
        .await
        .map_err(not_found("endpoint"))?;
    reload(&state.store, &state.endpoints).await?;
    Ok(HttpResponse::NoContent().finish())
}
