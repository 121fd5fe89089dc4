//! Instances that share a PostgreSQL database route with each other's endpoint changes: each
//! checks its cached table against the store before use when the last check is older than a
//! second, so a change made through one instance is followed by another within about that.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::receiver::TestWebhook;
use crate::routing::{ROUTING, endpoint, event};

/// Posts events to `app` until one is routed (or, with `routed == false`, not routed) to the
/// endpoint `name`; returns how long that took.
async fn until_routed(app: &TestApp, name: &str, routed: bool) -> Duration {
    let started = Instant::now();
    loop {
        let body = event(app, json!({"type": "order.created", "payload": {"n": 1}})).await;
        let names: Vec<&str> = body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["endpoint"].as_str())
            .collect();
        if names.contains(&name) == routed {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other instance did not follow the change to '{name}' in 5 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn a_change_made_through_one_instance_routes_on_another_within_about_a_second() {
    let a = spawn_app_with(ROUTING).await;
    let b = spawn_on(a.db.share(), a.webhook.clone(), ROUTING).await;
    // B routes once, so its table is fresh and cached when A makes the change.
    until_routed(&b, "late", false).await;
    let hook = TestWebhook::start();
    let created = endpoint(&a, json!({"name": "late", "url": hook.url})).await;
    let took = until_routed(&b, "late", true).await;
    assert!(took < Duration::from_millis(1_600), "created: {took:?}");

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        a.post(&format!("/endpoints/{id}/disable")).await.status(),
        200
    );
    let took = until_routed(&b, "late", false).await;
    assert!(took < Duration::from_millis(1_600), "disabled: {took:?}");
}
