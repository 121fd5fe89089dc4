//! SSRF at connection time: an endpoint whose host name resolved to an allowed address when it
//! was written is not connected to by an instance that does not allow that address.

use serde_json::json;

use crate::helpers::*;
use crate::receiver::TestWebhook;
use crate::routing::{ROUTING, endpoint};

#[actix_rt::test]
async fn an_endpoint_whose_name_resolves_inside_is_refused_at_connection_too() {
    // Written while 127.0.0.0/8 was allowed; a second instance without the allowance must not
    // connect to it, though the URL passed the check when it was written.
    let first = spawn_app_with(&[&[("WEBHOOK_URL", "none")], ROUTING].concat()).await;
    let hook = TestWebhook::start();
    let port = hook
        .url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let url = format!("http://localhost:{port}/hook");
    endpoint(&first, json!({"name": "rebound", "url": url})).await;
    first.post("/messages/stop").await;
    let strict = spawn_on(
        first.db.share(),
        TestWebhook::start(),
        &[
            ("WEBHOOK_URL", "none"),
            ("RETRY_SCHEDULE", "10ms"),
            ("DISPATCH_MODE", "continuous"),
            ("SCHEDULER_INTERVAL", "200ms"),
        ],
    )
    .await;
    assert_error(
        strict
            .post_json("/endpoints", &json!({"name": "x", "url": url}))
            .await,
        400,
        "internal address",
    )
    .await;
    let e = crate::routing::event(&strict, json!({"type": "t", "payload": {}})).await;
    let mut first = first;
    first.shutdown().await;
    strict.post("/messages/start").await;
    let failed = crate::routing::until_event(&strict, e["id"].as_str().unwrap(), "failed").await;
    let error = failed["deliveries"][0]["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("internal addresses"), "{error}");
    assert_eq!(hook.count(), 0, "the connection was never made");
}
