//! `POST /rules/{id}/preview` (what a payload would schedule, writing nothing) and
//! `GET /rules/{id}/reminders` (the reminders a rule made, by subject and status).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::rule_views::{PreviewInput, PreviewView, ReminderList, ReminderView};
use super::rules::current;
use super::state::AppState;
use crate::db::{Op, ReminderQuery};

const STATUSES: [&str; 7] = [
    "pending",
    "sending",
    "sent",
    "failed",
    "cancelled",
    "skipped",
    "pruned",
];

/// Preview a rule: the reminders an event of its type with this payload would schedule now (or
/// at `now`), with their times and bodies. Nothing is written.
#[utoipa::path(
    post, path = "/rules/{id}/preview", tag = "rules", operation_id = "previewRule",
    params(("id" = String, Path, description = "Rule id or name")),
    request_body(content = PreviewInput, content_type = "application/json"),
    responses(
        (status = 200, body = Vec<PreviewView>, description = "One line per offset"),
        (status = 400, body = ErrorBody, description = "The payload is not an object, or `now` is not RFC 3339"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No rule with this id or name"),
        (status = 413, body = ErrorBody, description = "Body over 64 KiB"),
        (status = 415, body = ErrorBody, description = "Content-Type is not application/json"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn preview(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<PreviewInput>,
) -> Result<HttpResponse, ApiError> {
    let row = current(&state, &id).await?;
    if !body.payload.is_object() {
        return Err(ApiError::BadRequest("payload must be a JSON object".into()));
    }
    let now = super::create::parse_send_at(body.now.as_deref())
        .map_err(|_| {
            ApiError::BadRequest("now must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z".into())
        })?
        .unwrap_or_else(chrono::Utc::now);
    let rule = crate::rules::spec::from_row(&row).map_err(ApiError::BadRequest)?;
    let endpoint = state
        .endpoints
        .get(row.endpoint_id)
        .map(|e| e.row.name.clone())
        .unwrap_or_default();
    let lines: Vec<PreviewView> = crate::rules::preview(&rule, &body.payload, now, &endpoint)
        .into_iter()
        .map(|p| PreviewView {
            offset: p.offset,
            send_at: p.send_at,
            skipped_reason: p.skipped_reason,
            body: p.body,
        })
        .collect();
    Ok(HttpResponse::Ok().json(lines))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReminderParams {
    /// Only this subject's reminders.
    subject: Option<String>,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled`, `skipped` or `pruned`.
    status: Option<String>,
    /// 1 to 1000; default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A rule's reminders, by time.
#[utoipa::path(
    get, path = "/rules/{id}/reminders", tag = "rules", operation_id = "listReminders",
    params(("id" = String, Path, description = "Rule id or name"), ReminderParams),
    responses(
        (status = 200, body = ReminderList),
        (status = 400, body = ErrorBody, description = "An unknown status, or a limit out of range"),
        (status = 401, response = Unauthorized),
        (status = 404, body = ErrorBody, description = "No rule with this id or name"),
        (status = 503, response = Unavailable),
    )
)]
pub async fn reminders(
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<ReminderParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    if let Some(status) = params
        .status
        .as_ref()
        .filter(|s| !STATUSES.contains(&s.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "status: '{status}' is not one of {}",
            STATUSES.join(", ")
        )));
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 1000".into()));
    }
    let row = current(&state, &id).await?;
    let query = ReminderQuery {
        rule: Some(row.id),
        subject: params.subject,
        status: params.status,
        event: None,
        limit,
    };
    let found = state
        .store
        .run(Op::Read, move |s| s.reminders(&query))
        .await?;
    let reminders: Vec<ReminderView> = found.iter().map(ReminderView::of).collect();
    Ok(HttpResponse::Ok().json(ReminderList {
        count: reminders.len(),
        reminders,
    }))
}
