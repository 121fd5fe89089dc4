//! `POST /messages/start` and `POST /messages/stop`: the dispatch switch, stored in the database
//! so that every instance obeys it and it survives restarts.

use actix_web::{HttpResponse, web};

use super::error::ApiError;
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use super::views::DispatchState;
use crate::db::Op;

async fn switch(state: web::Data<AppState>, active: bool) -> Result<HttpResponse, ApiError> {
    state
        .store
        .run(Op::DispatchState, move |s| s.set_dispatch_active(active))
        .await?;
    state.monitor.metrics.dispatch_active.set(i64::from(active));
    if active {
        state.wake.due();
    }
    tracing::info!(active, "dispatch switched");
    let (message, status) = if active {
        ("Automatic message sending started", "active")
    } else {
        ("Automatic message sending stopped", "inactive")
    };
    Ok(HttpResponse::Ok().json(DispatchState {
        message: message.into(),
        status: status.into(),
    }))
}

/// Start automatic sending (idempotent). Every instance resumes claiming at its next tick.
#[utoipa::path(
    post, path = "/messages/start", tag = "dispatch", operation_id = "startDispatch",
    responses(
        (status = 200, body = DispatchState, description = "The dispatch state now",
         example = json!({"message": "Automatic message sending started", "status": "active"})),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn start(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    switch(state, true).await
}

/// Stop automatic sending (idempotent). No new claims; deliveries in flight finish.
#[utoipa::path(
    post, path = "/messages/stop", tag = "dispatch", operation_id = "stopDispatch",
    responses(
        (status = 200, body = DispatchState, description = "The dispatch state now",
         example = json!({"message": "Automatic message sending stopped", "status": "inactive"})),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn stop(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    switch(state, false).await
}
