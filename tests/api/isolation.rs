//! Isolation between endpoints, on both stores: an endpoint has at most `max_in_flight`
//! deliveries in flight per instance, and a claim shares its batch among the endpoints with due
//! work, so a slow endpoint with a backlog holds only its own places and a healthy endpoint's
//! fresh event goes out at once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, event};

fn settings() -> Vec<(&'static str, &'static str)> {
    let mut s = ROUTING.to_vec();
    s.push(("SENDER_CONCURRENCY", "8"));
    s
}

both_stores!(a_slow_backlogged_endpoint_holds_only_its_places_and_a_healthy_one_is_not_delayed);
async fn a_slow_backlogged_endpoint_holds_only_its_places_and_a_healthy_one_is_not_delayed(
    backend: Backend,
) {
    let app = spawn_app_on(backend, &settings()).await;
    let slow = TestWebhook::start();
    slow.always(Reply::accepted().delay(Duration::from_secs(4)));
    let fast = TestWebhook::start();
    endpoint(
        &app,
        json!({"name": "slow", "url": slow.url, "event_types": ["slow"], "max_in_flight": 2}),
    )
    .await;
    let created = endpoint(
        &app,
        json!({"name": "fast", "url": fast.url, "event_types": ["fast"]}),
    )
    .await;
    assert_eq!(created["max_in_flight"], 8, "the default: {created}");
    let backlog: Vec<_> = (0..100)
        .map(|i| json!({"type": "slow", "payload": {"i": i}}))
        .collect();
    let response = app
        .post_json("/events/batch", &json!({"events": backlog}))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    wait_until(
        "the slow endpoint is busy",
        Duration::from_secs(5),
        || async { slow.count() >= 2 },
    )
    .await;
    // Eight slots: without isolation the backlog would hold all of them for 4 s.
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let started = Instant::now();
        let response = app
            .post_json("/events", &json!({"type": "fast", "payload": {"i": i}}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        wait_until("the fast event arrived", Duration::from_secs(3), || async {
            fast.count() > i
        })
        .await;
        worst = worst.max(started.elapsed());
    }
    assert!(
        worst < Duration::from_secs(1),
        "a fast event took {worst:?}"
    );
    assert_eq!(
        slow.count(),
        2,
        "the slow endpoint never had more than its 2 places in flight"
    );
}

both_stores!(max_in_flight_is_checked_and_nothing_is_stored_when_it_is_bad);
async fn max_in_flight_is_checked_and_nothing_is_stored_when_it_is_bad(backend: Backend) {
    let app = spawn_app_on(backend, &settings()).await;
    let hook = TestWebhook::start();
    for bad in [json!(0), json!(1001), json!(-1), json!("8"), json!(2.5)] {
        let response = app
            .post_json(
                "/endpoints",
                &json!({"name": "x", "url": hook.url, "max_in_flight": bad}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "max_in_flight {bad}");
        let text = response.text().await.unwrap();
        assert!(text.contains("max_in_flight"), "{bad}: {text}");
    }
    let list: serde_json::Value = app.get("/endpoints").await.json().await.unwrap();
    assert_eq!(
        list["endpoints"].as_array().map(Vec::len),
        Some(1),
        "only default: {list}"
    );
    let created = endpoint(
        &app,
        json!({"name": "x", "url": hook.url, "max_in_flight": 1000}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .patch_json(&format!("/endpoints/{id}"), &json!({"max_in_flight": 3}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let got: serde_json::Value = app
        .get(&format!("/endpoints/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["max_in_flight"], 3);
}

both_stores!(a_customer_endpoint_failing_leaves_health_ok);
async fn a_customer_endpoint_failing_leaves_health_ok(backend: Backend) {
    let app = spawn_app_on(backend, &settings()).await;
    // Only the customer's endpoint takes these events, so its failure is the last outcome.
    let response = app
        .patch_json("/endpoints/default", &json!({"event_types": ["message"]}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let broken = TestWebhook::start();
    broken.always(Reply::status(500));
    endpoint(
        &app,
        json!({"name": "broken", "url": broken.url, "event_types": ["order.created"]}),
    )
    .await;
    let created = event(&app, json!({"type": "order.created", "payload": {"n": 1}})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    wait_until("the 500 was recorded", Duration::from_secs(5), || async {
        let event: serde_json::Value = app
            .get(&format!("/events/{id}"))
            .await
            .json()
            .await
            .unwrap();
        event["deliveries"][0]["last_error"].is_string()
    })
    .await;
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["checks"]["webhook"]["status"], "up", "{health}");
}
