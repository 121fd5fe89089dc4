//! The circuit breaker, `410 Gone` and auto-disable against real receivers: a failing endpoint's
//! breaker opens, its deliveries wait without spending retries, one probe goes after the
//! cool-down and closes it; a 410 disables the endpoint at once (its other deliveries wait
//! until it is enabled, and `OPS_ENDPOINT` hears of it); a long failing run disables it too.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, events_batch, json_of, numbered};

async fn batch(app: &TestApp, kind: &str, n: usize) -> Vec<String> {
    events_batch(app, numbered(kind, n)).await
}

both_stores!(the_breaker_opens_defers_without_spending_retries_probes_and_closes);
async fn the_breaker_opens_defers_without_spending_retries_probes_and_closes(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    hook.always(Reply::status(500));
    endpoint(
        &app,
        json!({"name": "down", "url": hook.url, "event_types": ["x"], "max_in_flight": 2}),
    )
    .await;
    // Five attempts each (RETRY_SCHEDULE has four retries): 20 events could spend 100.
    let ids = batch(&app, "x", 20).await;
    wait_until("the breaker opens", Duration::from_secs(5), || async {
        json_of(&app, "/endpoints/down").await["breaker"]["state"] == "open"
    })
    .await;
    let view = json_of(&app, "/endpoints/down").await;
    assert_eq!(
        view["breaker"]["reason"], "10 consecutive failures",
        "{view}"
    );
    assert!(view["breaker"]["since"].is_string() && view["breaker"]["until"].is_string());
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("herald_breaker_state{endpoint=\"down\"} 2"),
        "{metrics}"
    );
    let health = json_of(&app, "/health").await;
    assert_eq!(health["checks"]["endpoints"]["open"], 1, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    hook.always(Reply::accepted());
    wait_until("every event is sent", Duration::from_secs(20), || async {
        let mut sent = 0;
        for id in &ids {
            sent += usize::from(json_of(&app, &format!("/events/{id}")).await["status"] == "sent");
        }
        sent == ids.len()
    })
    .await;
    // While it was open nothing went: the longest gap between two requests is the cool-down
    // (5 s), and what came after it began with the one probe.
    let received = hook.received();
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    assert!(
        longest >= Duration::from_millis(4_500),
        "the longest gap was {longest:?}"
    );
    let failed = received.len() - ids.len();
    assert!(
        failed < 14,
        "{failed} failed attempts: at most 10 and those in flight"
    );
    assert_eq!(
        json_of(&app, "/endpoints/down").await["breaker"]["state"],
        "closed"
    );
}

both_stores!(a_410_disables_the_endpoint_its_deliveries_wait_and_enabling_resumes_them);
async fn a_410_disables_the_endpoint_its_deliveries_wait_and_enabling_resumes_them(
    backend: Backend,
) {
    let mut settings = ROUTING.to_vec();
    settings.push(("OPS_ENDPOINT", "ops"));
    let app = spawn_app_on(backend, &settings).await;
    let (hook, ops) = (TestWebhook::start(), TestWebhook::start());
    hook.script([Reply::status(410)]);
    hook.always(Reply::accepted());
    endpoint(
        &app,
        json!({"name": "ops", "url": ops.url, "event_types": ["herald.endpoint.disabled"]}),
    )
    .await;
    endpoint(
        &app,
        json!({"name": "gone", "url": hook.url, "event_types": ["x"], "max_in_flight": 1}),
    )
    .await;
    let ids = batch(&app, "x", 5).await;
    wait_until(
        "the endpoint is disabled",
        Duration::from_secs(5),
        || async { json_of(&app, "/endpoints/gone").await["enabled"] == false },
    )
    .await;
    let view = json_of(&app, "/endpoints/gone").await;
    assert!(
        view["disabled_reason"].as_str().unwrap().contains("410"),
        "{view}"
    );
    assert!(view["disabled_at"].is_string());
    wait_until("ops hears of it", Duration::from_secs(5), || async {
        ops.count() == 1
    })
    .await;
    let told = ops.received()[0].json();
    assert_eq!(told["endpoint"]["name"], "gone", "{told}");
    assert!(told["reason"].as_str().unwrap().contains("410"), "{told}");
    // The other four wait: pending, not failed.
    let first = json_of(&app, &format!("/events/{}", ids[0])).await;
    assert_eq!(
        first["status"], "failed",
        "the 410 itself fails its delivery: {first}"
    );
    for id in &ids[1..] {
        let event = json_of(&app, &format!("/events/{id}")).await;
        assert_eq!(event["status"], "pending", "{event}");
    }
    assert_eq!(hook.count(), 1);
    let health = json_of(&app, "/health").await;
    assert_eq!(health["checks"]["endpoints"]["disabled"], 1, "{health}");
    let response = app.post("/endpoints/gone/enable").await;
    assert_eq!(response.status().as_u16(), 200);
    wait_until("the four are delivered", Duration::from_secs(5), || async {
        hook.count() == 5
    })
    .await;
    let view = json_of(&app, "/endpoints/gone").await;
    assert!(
        view["disabled_reason"].is_null(),
        "enabling clears it: {view}"
    );
}

both_stores!(an_endpoint_failing_for_longer_than_the_setting_is_disabled);
async fn an_endpoint_failing_for_longer_than_the_setting_is_disabled(backend: Backend) {
    let mut settings = ROUTING.to_vec();
    settings.push(("ENDPOINT_DISABLE_AFTER", "1s"));
    settings.push(("ENDPOINT_DISABLE_MIN_GAP", "500ms"));
    settings.push(("RETRY_SCHEDULE", "400ms,400ms,400ms,400ms,400ms"));
    let app = spawn_app_on(backend, &settings).await;
    let hook = TestWebhook::start();
    hook.always(Reply::status(503));
    endpoint(
        &app,
        json!({"name": "dying", "url": hook.url, "event_types": ["x"]}),
    )
    .await;
    batch(&app, "x", 1).await;
    wait_until(
        "the endpoint is disabled",
        Duration::from_secs(6),
        || async { json_of(&app, "/endpoints/dying").await["enabled"] == false },
    )
    .await;
    let view = json_of(&app, "/endpoints/dying").await;
    let reason = view["disabled_reason"].as_str().unwrap();
    assert!(reason.starts_with("failing since"), "{view}");
    assert!(
        hook.count() >= 3,
        "failures over a second: {}",
        hook.count()
    );
}

both_stores!(a_burst_of_failures_shorter_than_the_minimum_gap_disables_nothing);
async fn a_burst_of_failures_shorter_than_the_minimum_gap_disables_nothing(backend: Backend) {
    let mut settings = ROUTING.to_vec();
    settings.push(("ENDPOINT_DISABLE_AFTER", "200ms"));
    settings.push(("ENDPOINT_DISABLE_MIN_GAP", "1h"));
    settings.push(("RETRY_SCHEDULE", "150ms,150ms,150ms"));
    let app = spawn_app_on(backend, &settings).await;
    let hook = TestWebhook::start();
    hook.always(Reply::status(503));
    endpoint(
        &app,
        json!({"name": "flaky", "url": hook.url, "event_types": ["x"]}),
    )
    .await;
    let ids = batch(&app, "x", 1).await;
    wait_until(
        "the delivery fails for good",
        Duration::from_secs(5),
        || async { json_of(&app, &format!("/events/{}", ids[0])).await["status"] == "failed" },
    )
    .await;
    let view = json_of(&app, "/endpoints/flaky").await;
    assert_eq!(view["enabled"], true, "{view}");
    assert_eq!(hook.count(), 4);
}
