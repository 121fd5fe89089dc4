//! `/sources`: create, list, read, change, pause, resume and delete event sources. Every
//! field is checked at the edge (see [`SourceInput`]) before anything is stored; a change
//! rings this instance's supervisor, and the others follow within a second. A source is named
//! in a path by its id or its name. Pausing or deleting a source stops reading; its stream
//! and group stay as they are.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::source_views::{SourceList, SourceView};
use super::state::AppState;
use crate::db::{Op, SourceCounts, SourceRow};
use crate::sources::SourceInput;
use crate::sources::spec::FIELDS;

/// The source a path names, by id or by name.
async fn current(state: &AppState, raw: &str) -> Result<SourceRow, ApiError> {
    super::named::by_id_or_name(state, raw, "source", |s| s.sources(), |r| (r.id, &r.name)).await
}

/// The row `input` makes, every field checked (400 naming it).
fn row_of(mut input: SourceInput, id: Uuid) -> Result<SourceRow, ApiError> {
    let source = input.parse(id).map_err(ApiError::BadRequest)?;
    input.group = Some(source.group.clone());
    let now = chrono::Utc::now();
    Ok(SourceRow {
        id,
        name: source.name,
        kind: source.kind.as_str().to_owned(),
        enabled: source.enabled,
        spec: serde_json::to_value(&input).unwrap_or_default(),
        counts: SourceCounts::default(),
        created_at: now,
        updated_at: now,
    })
}

async fn save(state: &AppState, row: SourceRow, create: bool) -> Result<SourceView, ApiError> {
    let saved = state
        .store
        .run(Op::Change, move |s| {
            if create {
                s.create_source(&row)
            } else {
                s.update_source(&row)
            }
        })
        .await
        .map_err(super::events::not_found("source"))?;
    state.source_bell.notify_one();
    tracing::info!(source = %saved.name, enabled = saved.enabled, "source written");
    Ok(view(state, &saved))
}

fn view(state: &AppState, row: &SourceRow) -> SourceView {
    SourceView::of(row, state.sources.get(row.id).as_ref())
}

/// Create a source: Herald reads its stream through the group (made if missing) and routes
/// each entry as an event. A broker that cannot be reached does not refuse it: the source is
/// stored and shows `failing` with the reason until the broker answers.
#[utoipa::path(
    post, path = "/sources", tag = "sources", operation_id = "createSource",
    request_body(content = SourceInput, content_type = "application/json"),
    responses(
        (status = 201, body = SourceView, description = "Created"),
        (status = 400, body = ErrorBody, description = "A field is invalid (it is named)",
         example = json!({"error": "subject: only a nats_jetstream source has a subject", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 409, body = ErrorBody, description = "The name is taken"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<SourceInput>,
) -> Result<HttpResponse, ApiError> {
    let row = row_of(body.into_inner(), Uuid::now_v7())?;
    let saved = save(&state, row, true).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/sources/{}", saved.id)))
        .json(saved))
}

/// Every source, by name, with its state and counts.
#[utoipa::path(
    get, path = "/sources", tag = "sources", operation_id = "listSources",
    responses(
        (status = 200, body = SourceList),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = state.store.run(Op::Read, |s| s.sources()).await?;
    let sources: Vec<SourceView> = rows.iter().map(|r| view(&state, r)).collect();
    Ok(HttpResponse::Ok().json(SourceList {
        count: sources.len(),
        sources,
    }))
}

/// One source.
#[utoipa::path(
    get, path = "/sources/{id}", tag = "sources", operation_id = "getSource",
    params(("id" = String, Path, description = "Source id or name")),
    responses(
        (status = 200, body = SourceView),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No source with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, &row)))
}

/// Change a source: the fields given replace the stored ones; `null` puts an optional field
/// back to its default. Its reader starts again with the change; its counts stay.
#[utoipa::path(
    patch, path = "/sources/{id}", tag = "sources", operation_id = "updateSource",
    params(("id" = String, Path, description = "Source id or name")),
    request_body(content = SourceInput, content_type = "application/json"),
    responses(
        (status = 200, body = SourceView, description = "The source, changed"),
        (status = 400, body = ErrorBody, description = "A field is invalid"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No source with this id or name"),
        (status = 409, body = ErrorBody, description = "The name is taken"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let base = current(&state, &id).await?;
    let (patch, nulls): (SourceInput, _) = super::named::patch(body.into_inner(), &FIELDS)?;
    let merged = patch
        .over(&SourceInput::of_row(&base), &nulls)
        .map_err(ApiError::BadRequest)?;
    let mut row = row_of(merged, base.id)?;
    row.created_at = base.created_at;
    Ok(HttpResponse::Ok().json(save(&state, row, false).await?))
}

async fn set_enabled(state: &AppState, raw: &str, enabled: bool) -> Result<HttpResponse, ApiError> {
    let base = current(state, raw).await?;
    let mut input = SourceInput::of_row(&base);
    input.enabled = Some(enabled);
    let mut row = row_of(input, base.id)?;
    row.created_at = base.created_at;
    let saved = save(state, row, false).await?;
    if !enabled {
        // This instance's reader stops within a read (about a second); the answer waits for
        // it, so that what is added after a pause is not read here. Others follow within a
        // second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while state.sources.is_reading(saved.id) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    Ok(HttpResponse::Ok().json(saved))
}

/// Pause a source: every instance stops reading it within a second; entries wait in the
/// broker.
#[utoipa::path(
    post, path = "/sources/{id}/pause", tag = "sources", operation_id = "pauseSource",
    params(("id" = String, Path, description = "Source id or name")),
    responses(
        (status = 200, body = SourceView, description = "The source, paused"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No source with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn pause(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(&state, &id, false).await
}

/// Resume a paused source: reading goes on from where its group stands.
#[utoipa::path(
    post, path = "/sources/{id}/resume", tag = "sources", operation_id = "resumeSource",
    params(("id" = String, Path, description = "Source id or name")),
    responses(
        (status = 200, body = SourceView, description = "The source, reading again"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No source with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn resume(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(&state, &id, true).await
}

/// Delete a source: reading stops; its events stay, and so do its stream and group.
#[utoipa::path(
    delete, path = "/sources/{id}", tag = "sources", operation_id = "deleteSource",
    params(("id" = String, Path, description = "Source id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No source with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    let source = row.id;
    state
        .store
        .run(Op::Change, move |s| s.delete_source(source))
        .await
        .map_err(super::events::not_found("source"))?;
    state.source_bell.notify_one();
    tracing::info!(source = %row.name, "source deleted");
    Ok(HttpResponse::NoContent().finish())
}
