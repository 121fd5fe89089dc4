//! Ordering keys against a real receiver: deliveries that share a key go one at a time in
//! creation order, each retried head holding its followers; with `on_failure: skip` a head that
//! fails for good is passed over, with `block` the key waits until the head is retried.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::receiver::{Received, Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, events_batch, json_of};

/// Events `(key, n)` for the endpoint, in this order, in one batch (one `created_at`).
async fn ordered(app: &TestApp, events: &[(&str, u64)]) -> Vec<String> {
    let events = events
        .iter()
        .map(|(key, n)| json!({"type": "order", "payload": {"order_id": key, "n": n}}))
        .collect();
    events_batch(app, events).await
}

/// The `n`s of the requests for `key`, in arrival order.
fn sequence(received: &[Received], key: &str) -> Vec<u64> {
    received
        .iter()
        .map(Received::json)
        .filter(|b| b["order_id"] == key)
        .map(|b| b["n"].as_u64().unwrap())
        .collect()
}

async fn orders_endpoint(app: &TestApp, hook: &TestWebhook, on_failure: &str) {
    let created = endpoint(
        app,
        json!({"name": "orders", "url": hook.url, "event_types": ["order"],
               "ordering_key": "$.order_id", "on_failure": on_failure}),
    )
    .await;
    assert_eq!(created["ordering_key"], "$.order_id");
    assert_eq!(created["on_failure"], on_failure);
}

both_stores!(deliveries_sharing_a_key_go_in_creation_order_under_retries);
async fn deliveries_sharing_a_key_go_in_creation_order_under_retries(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    // Every delivery fails once, then is accepted.
    hook.rule(|_, seen| {
        if seen == 0 {
            Reply::status(500)
        } else {
            Reply::accepted()
        }
    });
    orders_endpoint(&app, &hook, "skip").await;
    let plan = [
        ("A", 1),
        ("B", 1),
        ("A", 2),
        ("B", 2),
        ("A", 3),
        ("B", 3),
        ("A", 4),
    ];
    ordered(&app, &plan).await;
    wait_until("every event twice", Duration::from_secs(10), || async {
        hook.count() == 14
    })
    .await;
    let received = hook.received();
    // Each head is tried, retried, and only then does the next one go.
    assert_eq!(sequence(&received, "A"), [1, 1, 2, 2, 3, 3, 4, 4]);
    assert_eq!(sequence(&received, "B"), [1, 1, 2, 2, 3, 3]);
}

both_stores!(with_skip_a_head_that_fails_for_good_is_passed_over);
async fn with_skip_a_head_that_fails_for_good_is_passed_over(backend: Backend) {
    let mut settings = ROUTING.to_vec();
    settings.push(("RETRY_SCHEDULE", "10ms"));
    let app = spawn_app_on(backend, &settings).await;
    let hook = TestWebhook::start();
    hook.rule(|r, _| {
        if r.json()["n"] == 1 {
            Reply::status(500)
        } else {
            Reply::accepted()
        }
    });
    orders_endpoint(&app, &hook, "skip").await;
    let ids = ordered(&app, &[("A", 1), ("A", 2), ("A", 3)]).await;
    wait_until("the followers arrive", Duration::from_secs(5), || async {
        hook.count() == 4
    })
    .await;
    assert_eq!(sequence(&hook.received(), "A"), [1, 1, 2, 3]);
    let head = json_of(&app, &format!("/events/{}", ids[0])).await;
    assert_eq!(head["status"], "failed", "{head}");
}

both_stores!(with_block_the_key_waits_until_its_failed_head_is_retried);
async fn with_block_the_key_waits_until_its_failed_head_is_retried(backend: Backend) {
    let mut settings = ROUTING.to_vec();
    settings.push(("RETRY_SCHEDULE", "10ms"));
    let app = spawn_app_on(backend, &settings).await;
    let hook = TestWebhook::start();
    hook.rule(|r, _| {
        if r.json()["n"] == 1 {
            Reply::status(500)
        } else {
            Reply::accepted()
        }
    });
    orders_endpoint(&app, &hook, "block").await;
    let ids = ordered(&app, &[("A", 1), ("A", 2), ("B", 1)]).await;
    let head = format!("/events/{}", ids[0]);
    wait_until(
        "the head fails for good",
        Duration::from_secs(5),
        || async { json_of(&app, &head).await["status"] == "failed" },
    )
    .await;
    // Another key is not held: B's event (n = 1 fails too) is tried twice; A's follower waits.
    wait_until("B's attempts", Duration::from_secs(5), || async {
        sequence(&hook.received(), "B").len() == 2
    })
    .await;
    let follower = json_of(&app, &format!("/events/{}", ids[1])).await;
    assert_eq!(follower["status"], "pending", "{follower}");
    assert_eq!(sequence(&hook.received(), "A"), [1, 1]);
    hook.rule(|_, _| Reply::accepted());
    let response = app.post(&format!("{head}/retry")).await;
    assert_eq!(response.status().as_u16(), 200);
    wait_until(
        "the head, then its follower",
        Duration::from_secs(5),
        || async { sequence(&hook.received(), "A").len() == 4 },
    )
    .await;
    assert_eq!(sequence(&hook.received(), "A"), [1, 1, 1, 2]);
}

both_stores!(with_block_cancelling_the_failed_head_lets_the_key_go_on);
async fn with_block_cancelling_the_failed_head_lets_the_key_go_on(backend: Backend) {
    let mut settings = ROUTING.to_vec();
    settings.push(("RETRY_SCHEDULE", "10ms"));
    let app = spawn_app_on(backend, &settings).await;
    let hook = TestWebhook::start();
    hook.rule(|r, _| {
        if r.json()["n"] == 1 {
            Reply::status(500)
        } else {
            Reply::accepted()
        }
    });
    orders_endpoint(&app, &hook, "block").await;
    let ids = ordered(&app, &[("A", 1), ("A", 2), ("A", 3)]).await;
    let head = format!("/events/{}", ids[0]);
    wait_until(
        "the head fails for good",
        Duration::from_secs(5),
        || async { json_of(&app, &head).await["status"] == "failed" },
    )
    .await;
    let response = app.delete(&head).await;
    assert_eq!(response.status().as_u16(), 200);
    let event = json_of(&app, &head).await;
    let orders = event["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == "orders")
        .unwrap();
    assert_eq!(orders["status"], "cancelled", "{event}");
    wait_until(
        "the followers, in order",
        Duration::from_secs(5),
        || async { sequence(&hook.received(), "A").len() == 4 },
    )
    .await;
    assert_eq!(sequence(&hook.received(), "A"), [1, 1, 2, 3]);
    // A failed delivery that holds no key is not cancelled: there is nothing to cancel.
    let again = app.delete(&head).await;
    assert_eq!(again.status().as_u16(), 409);
}
