//! The HTTP API: routes, handlers, the error type and the OpenAPI document. Handlers are thin:
//! they parse input into domain types, call the store, and shape the answer.
//!
//! Routes are explicit resources so that a known path with a wrong method answers 405, and an
//! unknown path 404, both in the API's error shape.

mod actions;
mod auth;
mod create;
mod dispatch;
pub mod docs;
mod edge;
pub mod error;
mod health;
mod messages;
mod responses;
pub mod state;
mod stats;
mod views;

use actix_web::dev::HttpServiceFactory;
use actix_web::middleware::from_fn;
use actix_web::{Resource, web};

pub use error::ApiError;
pub use state::AppState;

/// A resource whose other methods answer 405 and which needs the API token when one is set.
fn api(resource: Resource) -> impl HttpServiceFactory {
    resource
        .default_service(web::to(edge::method_not_allowed))
        .wrap(from_fn(auth::require_token))
}

/// A resource open to everyone (health, metrics); other methods answer 405.
fn open(resource: Resource) -> Resource {
    resource.default_service(web::to(edge::method_not_allowed))
}

/// Registers every route, the extractor settings and the fallback for unknown paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(edge::json_config())
        .app_data(edge::query_config())
        .app_data(web::PayloadConfig::new(edge::BODY_LIMIT))
        .service(open(
            web::resource("/health").route(web::get().to(health::health)),
        ))
        .service(open(
            web::resource("/metrics").route(web::get().to(health::metrics)),
        ))
        .service(docs::swagger_ui())
        .service(
            web::resource(["/swagger", "/swagger/", "/swagger-ui"])
                .route(web::get().to(edge::to_swagger_ui)),
        )
        .service(api(
            web::resource("/messages/start").route(web::post().to(dispatch::start))
        ))
        .service(api(
            web::resource("/messages/stop").route(web::post().to(dispatch::stop))
        ))
        .service(api(web::resource("/messages")
            .route(web::get().to(messages::list))
            .route(web::post().to(create::create))))
        .service(api(web::resource("/messages/{id}")
            .route(web::get().to(messages::get))
            .route(web::delete().to(actions::cancel))))
        .service(api(
            web::resource("/messages/{id}/retry").route(web::post().to(actions::retry))
        ))
        .service(api(
            web::resource("/stats").route(web::get().to(stats::stats))
        ))
        .default_service(web::to(edge::not_found));
}
