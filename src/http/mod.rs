//! The HTTP API: routes, handlers, the error type and the OpenAPI document. Handlers are thin:
//! they parse input into domain types, call the store, and shape the answer.
//!
//! Routes are explicit resources so that a known path with a wrong method answers 405, and an
//! unknown path 404, both in the API's error shape.

mod actions;
mod auth;
mod batch;
mod create;
mod dashboard;
mod dispatch;
pub mod docs;
mod edge;
mod endpoint_test;
mod endpoint_views;
mod endpoints;
pub mod error;
mod event_actions;
mod event_input;
mod event_replay;
mod event_views;
mod events;
mod health;
mod health_endpoints;
mod history;
mod messages;
mod named;
mod replay_input;
mod replay_views;
mod replays;
mod responses;
mod rule_reminders;
mod rule_views;
mod rules;
mod search;
mod search_query;
mod source_views;
mod sources;
pub mod state;
mod stats;
mod views;
pub mod wire;

use actix_web::dev::HttpServiceFactory;
use actix_web::middleware::from_fn;
use actix_web::{Resource, Route, guard, web};

pub use error::ApiError;
pub use state::AppState;

/// A resource whose other methods answer 405 (with `Allow`) and which needs the API token when
/// one is set.
fn api(resource: Resource, allow: &'static str) -> impl HttpServiceFactory {
    open(resource, allow).wrap(from_fn(auth::require_token))
}

/// A resource open to everyone (health, metrics); other methods answer 405 with `Allow`.
fn open(resource: Resource, allow: &'static str) -> Resource {
    resource.default_service(web::to(move || edge::method_not_allowed(allow)))
}

/// GET, and HEAD with the same headers and no body.
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route, the extractor settings and the fallback for unknown paths.
/// `token_required` shapes the served OpenAPI document (see [`docs::served`]).
pub fn configure(cfg: &mut web::ServiceConfig, token_required: bool) {
    cfg.app_data(edge::json_config())
        .app_data(edge::query_config())
        .app_data(web::PayloadConfig::new(edge::BODY_LIMIT))
        .service(open(
            web::resource("/health").route(read().to(health::health)),
            "GET, HEAD",
        ))
        .service(open(
            web::resource("/metrics").route(read().to(health::metrics)),
            "GET, HEAD",
        ))
        .service(docs::swagger_ui(token_required))
        .service(
            web::resource(["/swagger", "/swagger/", "/swagger-ui"])
                .route(read().to(edge::to_swagger_ui)),
        )
        .service(api(
            web::resource("/messages/start").route(web::post().to(dispatch::start)),
            "POST",
        ))
        .service(api(
            web::resource("/messages/stop").route(web::post().to(dispatch::stop)),
            "POST",
        ))
        .service(api(
            web::resource("/messages")
                .route(read().to(messages::list))
                .route(web::post().to(create::create)),
            "GET, HEAD, POST",
        ))
        .service(api(
            web::resource("/messages/batch")
                .app_data(edge::json_config_with(batch::BATCH_BODY_LIMIT))
                .app_data(web::PayloadConfig::new(batch::BATCH_BODY_LIMIT))
                .route(web::post().to(batch::create_batch)),
            "POST",
        ))
        .service(api(
            web::resource("/messages/{id}")
                .route(read().to(messages::get))
                .route(web::delete().to(actions::cancel)),
            "GET, HEAD, DELETE",
        ))
        .service(api(
            web::resource("/messages/{id}/retry").route(web::post().to(actions::retry)),
            "POST",
        ))
        .configure(routing_routes)
        .service(api(
            web::resource("/stats").route(read().to(stats::stats)),
            "GET, HEAD",
        ))
        .service(api(
            web::resource("/stats/history").route(read().to(history::history)),
            "GET, HEAD",
        ))
        .configure(dashboard::configure)
        .default_service(web::to(edge::not_found));
}

/// The event router's routes: `/events`, `/endpoints` and `/rules`.
fn routing_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(api(
        web::resource("/events")
            .app_data(edge::json_config_with(events::EVENT_BODY_LIMIT))
            .app_data(web::PayloadConfig::new(events::EVENT_BODY_LIMIT))
            .route(read().to(search::list))
            .route(web::post().to(events::create)),
        "GET, HEAD, POST",
    ))
    .service(api(
        web::resource("/events/batch")
            .app_data(edge::json_config_with(events::EVENTS_BATCH_LIMIT))
            .app_data(web::PayloadConfig::new(events::EVENTS_BATCH_LIMIT))
            .route(web::post().to(events::create_batch)),
        "POST",
    ))
    .service(api(
        web::resource("/replays")
            .route(read().to(replays::list))
            .route(web::post().to(replays::create)),
        "GET, HEAD, POST",
    ))
    .service(api(
        web::resource("/replays/{id}").route(read().to(replays::get)),
        "GET, HEAD",
    ))
    .service(api(
        web::resource("/replays/{id}/pause").route(web::post().to(replays::pause)),
        "POST",
    ))
    .service(api(
        web::resource("/replays/{id}/resume").route(web::post().to(replays::resume)),
        "POST",
    ))
    .service(api(
        web::resource("/replays/{id}/cancel").route(web::post().to(replays::cancel)),
        "POST",
    ))
    .service(api(
        web::resource("/events/count").route(read().to(search::count)),
        "GET, HEAD",
    ))
    .service(api(
        web::resource("/events/{id}")
            .route(read().to(events::get))
            .route(web::delete().to(event_actions::cancel)),
        "GET, HEAD, DELETE",
    ))
    .service(api(
        web::resource("/events/{id}/replay").route(web::post().to(event_replay::replay)),
        "POST",
    ))
    .service(api(
        web::resource("/events/{id}/retry").route(web::post().to(event_actions::retry)),
        "POST",
    ))
    .service(api(
        web::resource("/events/{id}/deliveries/{delivery_id}")
            .route(web::delete().to(event_actions::cancel_delivery)),
        "DELETE",
    ))
    .service(api(
        web::resource("/events/{id}/deliveries/{delivery_id}/retry")
            .route(web::post().to(event_actions::retry_delivery)),
        "POST",
    ))
    .service(api(
        web::resource("/endpoints")
            .route(read().to(endpoints::list))
            .route(web::post().to(endpoints::create)),
        "GET, HEAD, POST",
    ))
    .service(api(
        web::resource("/endpoints/{id}")
            .route(read().to(endpoints::get))
            .route(web::patch().to(endpoints::update))
            .route(web::delete().to(endpoints::delete)),
        "GET, HEAD, PATCH, DELETE",
    ))
    .service(api(
        web::resource("/endpoints/{id}/secret").route(read().to(endpoints::secret)),
        "GET, HEAD",
    ))
    .service(api(
        web::resource("/endpoints/{id}/enable").route(web::post().to(endpoints::enable)),
        "POST",
    ))
    .service(api(
        web::resource("/endpoints/{id}/disable").route(web::post().to(endpoints::disable)),
        "POST",
    ))
    .service(api(
        web::resource("/endpoints/{id}/test").route(web::post().to(endpoint_test::test)),
        "POST",
    ))
    .configure(rule_routes);
}

/// Reminder rules: `/rules` and each rule's preview and reminders.
fn rule_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(api(
        web::resource("/rules")
            .route(read().to(rules::list))
            .route(web::post().to(rules::create)),
        "GET, HEAD, POST",
    ))
    .service(api(
        web::resource("/rules/{id}")
            .route(read().to(rules::get))
            .route(web::patch().to(rules::update))
            .route(web::delete().to(rules::delete)),
        "GET, HEAD, PATCH, DELETE",
    ))
    .service(api(
        web::resource("/rules/{id}/preview").route(web::post().to(rule_reminders::preview)),
        "POST",
    ))
    .service(api(
        web::resource("/rules/{id}/reminders").route(read().to(rule_reminders::reminders)),
        "GET, HEAD",
    ))
    .configure(source_routes);
}

/// Event sources: `/sources`, and each source's pause and resume.
fn source_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(api(
        web::resource("/sources")
            .route(read().to(sources::list))
            .route(web::post().to(sources::create)),
        "GET, HEAD, POST",
    ))
    .service(api(
        web::resource("/sources/{id}")
            .route(read().to(sources::get))
            .route(web::patch().to(sources::update))
            .route(web::delete().to(sources::delete)),
        "GET, HEAD, PATCH, DELETE",
    ))
    .service(api(
        web::resource("/sources/{id}/pause").route(web::post().to(sources::pause)),
        "POST",
    ))
    .service(api(
        web::resource("/sources/{id}/resume").route(web::post().to(sources::resume)),
        "POST",
    ));
}
