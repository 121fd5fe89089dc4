//! `/rules`: create, list, read, change and delete reminder rules. Every change is checked at
//! the edge (see [`RuleInput`]), names an endpoint that exists, and reloads the table the
//! router reads rules from. A rule is named in a path by its id or its name.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::rule_views::{RuleList, RuleView};
use super::state::AppState;
use crate::db::{Op, RuleCounts, RuleRow};
use crate::routing::reload;
use crate::rules::RuleInput;
use crate::rules::spec::FIELDS;

/// The rule a path names, by id or by name.
pub async fn current(state: &AppState, raw: &str) -> Result<RuleRow, ApiError> {
    super::named::by_id_or_name(state, raw, "rule", |s| s.rules(), |r| (r.id, &r.name)).await
}

/// The row `input` makes (with `id`), after checking its endpoint exists (404) and every field.
async fn row_of(state: &AppState, input: RuleInput, id: Uuid) -> Result<RuleRow, ApiError> {
    // Every field first (400), then whether the endpoint exists (404).
    let rule = input.parse(id, Uuid::nil()).map_err(ApiError::BadRequest)?;
    let name = input.endpoint.clone().unwrap_or_default();
    let endpoint = super::endpoints::current(state, &name)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => {
                ApiError::NotFound(format!("endpoint: no endpoint named {name}"))
            }
            other => other,
        })?;
    let mut spec = input;
    spec.endpoint = Some(endpoint.name);
    Ok(RuleRow {
        id,
        name: rule.name,
        event_type: rule.event_type,
        endpoint_id: endpoint.id,
        spec: serde_json::to_value(&spec).unwrap_or_default(),
        enabled: rule.enabled,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    })
}

async fn save(state: &AppState, row: RuleRow, create: bool) -> Result<RuleView, ApiError> {
    let saved = state
        .store
        .run(Op::Change, move |s| {
            if create {
                s.create_rule(&row)
            } else {
                s.update_rule(&row)
            }
        })
        .await
        .map_err(super::events::not_found("rule"))?;
    reload(&state.store, &state.endpoints).await?;
    tracing::info!(rule = %saved.name, enabled = saved.enabled, "rule written");
    view(state, &saved).await
}

async fn view(state: &AppState, row: &RuleRow) -> Result<RuleView, ApiError> {
    let id = row.id;
    let counts = state.store.run(Op::Read, |s| s.rule_counts()).await?;
    let counts = counts
        .into_iter()
        .find(|(r, _)| *r == id)
        .map(|(_, c)| c)
        .unwrap_or_default();
    Ok(RuleView::of(row, endpoint_name(state, row), counts))
}

fn endpoint_name(state: &AppState, row: &RuleRow) -> Option<String> {
    state
        .endpoints
        .get(row.endpoint_id)
        .map(|e| e.row.name.clone())
}

/// Create a reminder rule: events of `event_type` then schedule a reminder per offset.
#[utoipa::path(
    post, path = "/rules", tag = "rules", operation_id = "createRule",
    request_body(content = RuleInput, content_type = "application/json"),
    responses(
        (status = 201, body = RuleView, description = "Created"),
        (status = 400, body = ErrorBody, description = "A field is invalid (it is named)",
         example = json!({"error": "timezone: 'Mars/Olympus' is not an IANA time zone, e.g. Europe/Istanbul", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No endpoint with that name"),
        (status = 409, body = ErrorBody, description = "The name is taken"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<RuleInput>,
) -> Result<HttpResponse, ApiError> {
    let row = row_of(&state, body.into_inner(), Uuid::now_v7()).await?;
    let saved = save(&state, row, true).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/rules/{}", saved.id)))
        .json(saved))
}

/// Every rule, by name, with its next reminder and its counts.
#[utoipa::path(
    get, path = "/rules", tag = "rules", operation_id = "listRules",
    responses(
        (status = 200, body = RuleList),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (rows, counts) = state
        .store
        .run(Op::Read, |s| Ok((s.rules()?, s.rule_counts()?)))
        .await?;
    let rules: Vec<RuleView> = rows
        .iter()
        .map(|row| {
            let c = counts
                .iter()
                .find(|(r, _)| *r == row.id)
                .map(|(_, c)| c.clone());
            RuleView::of(
                row,
                endpoint_name(&state, row),
                c.unwrap_or_else(RuleCounts::default),
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(RuleList {
        count: rules.len(),
        rules,
    }))
}

/// One rule.
#[utoipa::path(
    get, path = "/rules/{id}", tag = "rules", operation_id = "getRule",
    params(("id" = String, Path, description = "Rule id or name")),
    responses(
        (status = 200, body = RuleView),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No rule with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, &row).await?))
}

/// Change a rule: the fields given replace the stored ones; `null` puts an optional field back
/// to its default. Reminders already scheduled keep their times until the subject's next event.
#[utoipa::path(
    patch, path = "/rules/{id}", tag = "rules", operation_id = "updateRule",
    params(("id" = String, Path, description = "Rule id or name")),
    request_body(content = RuleInput, content_type = "application/json"),
    responses(
        (status = 200, body = RuleView, description = "The rule, changed"),
        (status = 400, body = ErrorBody, description = "A field is invalid"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No rule with this id or name, or no such endpoint"),
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
    let (patch, nulls): (RuleInput, _) = super::named::patch(body.into_inner(), &FIELDS)?;
    let stored: RuleInput = serde_json::from_value(base.spec.clone()).unwrap_or_default();
    let merged = patch.over(&stored, &nulls).map_err(ApiError::BadRequest)?;
    let mut row = row_of(&state, merged, base.id).await?;
    row.created_at = base.created_at;
    let saved = save(&state, row, false).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Delete a rule: its pending reminders are cancelled; its reminders' history stays.
#[utoipa::path(
    delete, path = "/rules/{id}", tag = "rules", operation_id = "deleteRule",
    params(("id" = String, Path, description = "Rule id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No rule with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    let rule = row.id;
    let cancelled = state
        .store
        .run(Op::Change, move |s| s.delete_rule(rule))
        .await
        .map_err(super::events::not_found("rule"))?;
    reload(&state.store, &state.endpoints).await?;
    tracing::info!(rule = %row.name, cancelled, "rule deleted");
    Ok(HttpResponse::NoContent().finish())
}
