//! The HTTP API: routes, handlers, the error type and the OpenAPI document. Handlers are thin:
//! they parse input into domain types, call the store, and shape the answer.

mod dispatch;
pub mod error;
mod health;
mod messages;
pub mod state;
mod views;

use actix_web::web;

pub use error::ApiError;
pub use state::AppState;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::metrics)
        .service(dispatch::start)
        .service(dispatch::stop)
        .service(messages::list);
}
