//! The OpenAPI document, generated from the handlers' annotations, and Swagger UI (assets
//! embedded in the binary). `herald openapi` writes it to `swagger/`; a test checks for drift.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::{
    actions, batch, create, dispatch, endpoint_test, endpoint_views, endpoints, error,
    event_actions, event_replay, event_views, events, health, history, messages, replay_input,
    replay_views, replays, responses, rule_reminders, rule_views, rules, search, source_views,
    sources, stats, views,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Herald moves messages from a database to a webhook, reliably: each message is \
claimed by one instance, delivered with retries, and its outcome recorded. When `API_TOKEN` is set, \
every endpoint except `/health` and `/metrics` needs `Authorization: Bearer <token>`. Every error is \
`{\"error\": \"...\", \"status\": \"error\"}`.",
        license(name = "MIT"),
    ),
    paths(
        messages::list, create::create, batch::create_batch, messages::get, actions::retry, actions::cancel,
        events::create, events::create_batch, search::list, search::count, replays::create, replays::list, replays::get,
        replays::pause, replays::resume, replays::cancel, event_replay::replay, events::get, event_actions::retry,
        event_actions::cancel, event_actions::retry_delivery, event_actions::cancel_delivery,
        endpoints::create, endpoints::list, endpoints::get, endpoints::update, endpoints::delete,
        endpoints::enable, endpoints::disable, endpoints::secret, endpoint_test::test,
        rules::create, rules::list, rules::get, rules::update, rules::delete, rule_reminders::preview,
        rule_reminders::reminders, sources::create, sources::list, sources::get, sources::update,
        sources::delete, sources::pause, sources::resume,
        dispatch::start, dispatch::stop, stats::stats, history::history, health::health, health::metrics,
    ),
    components(schemas(
        error::ErrorBody, views::MessageView, views::MessageList, views::MessageDetail, views::AttemptView,
        views::DispatchState, views::StatusName, views::StatusFilter, views::OutcomeName, views::DispatchName,
        create::CreateMessage, batch::CreateBatch, batch::BatchCreated, stats::Stats, history::History, health::Health,
        event_views::CreateEvent, event_views::CreateEvents, event_views::EventView, event_views::DeliveryView,
        event_views::EventList, event_views::EventsCreated, search::EventCount, stats::RetentionView, stats::PrunedView, replay_input::CreateReplay, replay_views::ReplayView,
        replay_views::ReplayList, replay_views::DryRunView, replay_views::EndpointCount, event_views::ChannelName,
        event_views::EventStatusName, event_views::EventStatusFilter, event_views::DeliveryStatusName,
        event_views::ReplayModeName, crate::routing::EndpointInput,
        endpoint_views::EndpointView, endpoint_views::EndpointCreated, endpoint_views::EndpointSecret,
        endpoint_views::EndpointList, endpoint_views::BreakerView, super::health_endpoints::EndpointsCheck, endpoint_views::TestEvent, endpoint_views::TestResult,
        crate::routing::Reason, crate::db::EndpointActivity, crate::db::EventCounts,
        crate::rules::RuleInput, crate::rules::QuietInput, rule_views::RuleView, rule_views::RuleList,
        rule_views::ReminderView, rule_views::ReminderList, rule_views::RuleNoteView,
        rule_views::PreviewInput, rule_views::PreviewView, crate::sources::SourceInput,
        source_views::SourceView, source_views::SourceList,
    ), responses(
        responses::Unauthorized, responses::Unavailable, responses::InvalidId, responses::UnknownId,
        responses::HeadTooLarge,
    )),
    tags(
        (name = "events", description = "Route events to endpoints; list, inspect, retry and cancel them"),
        (name = "endpoints", description = "Where events go: types, channels, a content filter and a payload template"),
        (name = "messages", description = "Create, list, inspect, retry and cancel messages (events of type `message`)"),
        (name = "replays", description = "Send stored events again, from a point in time: count first, then a job that survives restarts"),
        (name = "rules", description = "Reminder rules: an event schedules notifications ahead of a date in its payload, moved when the date moves and cancelled when the subject is done"),
        (name = "sources", description = "Event sources: Redis Streams and NATS JetStream read through a consumer group, each entry stored as an event before it is acknowledged"),
        (name = "dispatch", description = "Start and stop automatic sending (shared by every instance)"),
        (name = "operations", description = "Health, statistics and metrics"),
    ),
    modifiers(&BearerAuth, &ServerErrors),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The whole contract, as committed: every API operation declares bearer auth, which applies
/// when `API_TOKEN` is set.
/// Answers the HTTP layer gives on every path before a handler runs: 431 for a head too large.
struct ServerErrors;

impl Modify for ServerErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                op.responses.responses.insert(
                    "431".into(),
                    utoipa::openapi::Ref::from_response_name("HeadTooLarge").into(),
                );
            }
        }
    }
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document a running instance serves: without `API_TOKEN` nothing needs a token, so the
/// security requirements are left out.
pub fn served(token_required: bool) -> utoipa::openapi::OpenApi {
    let mut doc = openapi();
    if !token_required {
        doc.security = None;
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.delete,
                &mut item.put,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                op.security = None;
            }
        }
    }
    doc
}

/// The document as committed in `swagger/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().expect("the document serialises");
    json.push('\n');
    json
}

/// The document as committed in `swagger/openapi.yaml`.
pub fn openapi_yaml() -> String {
    openapi().to_yaml().expect("the document serialises")
}

/// Swagger UI at `/swagger-ui/`, reading the document from `/api-docs/openapi.json`.
pub fn swagger_ui(token_required: bool) -> SwaggerUi {
    SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", served(token_required))
}
