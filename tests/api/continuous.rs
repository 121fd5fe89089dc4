//! `DISPATCH_MODE=continuous`: a message goes out as soon as it is due, woken by inserts,
//! retries, `send_at`, the start switch and other instances; `DISPATCH_RATE` paces it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald::domain::MessageStatus;
use serde_json::json;

use crate::helpers::*;
use crate::receiver::Reply;

/// Continuous dispatch whose fallback poll is far away: only wake-ups can explain speed.
const CONTINUOUS: [(&str, &str); 2] = [
    ("DISPATCH_MODE", "continuous"),
    ("SCHEDULER_INTERVAL", "30s"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    CONTINUOUS.iter().chain(extra).copied().collect()
}

async fn create(app: &TestApp, body: serde_json::Value) -> uuid::Uuid {
    let response = app.post_json("/messages", &body).await;
    assert_eq!(response.status(), 201);
    let record: serde_json::Value = response.json().await.unwrap();
    record["id"].as_str().unwrap().parse().unwrap()
}

both_stores!(a_created_message_reaches_the_webhook_within_a_second);
async fn a_created_message_reaches_the_webhook_within_a_second(backend: Backend) {
    let app = spawn_app_on(backend, &with(&[])).await;
    let started = Instant::now();
    create(
        &app,
        json!({"recipient": "+905551111111", "content": "now"}),
    )
    .await;
    wait_until("the delivery", Duration::from_secs(1), || async {
        app.webhook.count() == 1
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(1));
}

both_stores!(send_at_is_kept_to_within_a_second);
async fn send_at_is_kept_to_within_a_second(backend: Backend) {
    let app = spawn_app_on(backend, &with(&[])).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let id = create(
        &app,
        json!({"recipient": "+905551111111", "content": "later", "send_at": at.to_rfc3339()}),
    )
    .await;
    // Recorded, not only received: sent_at is the database's time of the recorded outcome.
    wait_until(
        "the delivery to be recorded",
        Duration::from_secs(4),
        || async { app.message(id).await.status == MessageStatus::Sent },
    )
    .await;
    assert_eq!(app.webhook.count(), 1);
    let sent_at = app.message(id).await.sent_at.unwrap();
    assert!(sent_at >= at, "not before send_at");
    assert!(
        sent_at - at < chrono::Duration::seconds(1),
        "{} late",
        sent_at - at
    );
}

both_stores!(a_retry_comes_when_the_schedule_says);
async fn a_retry_comes_when_the_schedule_says(backend: Backend) {
    let app = spawn_app_on(backend, &with(&[("RETRY_SCHEDULE", "1s")])).await;
    app.webhook.script([Reply::status(503)]);
    let id = create(
        &app,
        json!({"recipient": "+905551111111", "content": "retry"}),
    )
    .await;
    wait_until("the retry to succeed", Duration::from_secs(4), || async {
        app.message(id).await.status == MessageStatus::Sent
    })
    .await;
    let attempts = app.attempts(id).await;
    let gap = attempts[1].started_at - attempts[0].started_at;
    assert!(
        gap >= chrono::Duration::milliseconds(800) && gap < chrono::Duration::milliseconds(2000),
        "retried {gap} after the first attempt (1 s ± 20 %)"
    );
}

both_stores!(stop_holds_new_messages_and_start_releases_them_at_once);
async fn stop_holds_new_messages_and_start_releases_them_at_once(backend: Backend) {
    let app = spawn_app_on(backend, &with(&[])).await;
    assert_eq!(app.post("/messages/stop").await.status(), 200);
    create(
        &app,
        json!({"recipient": "+905551111111", "content": "held"}),
    )
    .await;
    let held_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < held_until {
        assert_eq!(app.webhook.count(), 0, "nothing goes out while stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    assert_eq!(app.post("/messages/start").await.status(), 200);
    wait_until("the delivery", Duration::from_secs(1), || async {
        app.webhook.count() == 1
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(1));
}

async fn every_id_exactly_once(instances: usize) {
    let first = spawn_app_with(&with(&[("BATCH_SIZE", "50")])).await;
    let mut others = Vec::new();
    for _ in 1..instances {
        others.push(
            spawn_on(
                first.db.share(),
                first.webhook.clone(),
                &with(&[("BATCH_SIZE", "50")]),
            )
            .await,
        );
    }
    first.insert(2000).await;
    wait_until("2,000 sent", Duration::from_secs(60), || async {
        first.db.count("status = 'sent'") == 2000
    })
    .await;
    let received = first.webhook.received();
    let distinct: HashSet<_> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(
        (received.len(), distinct.len()),
        (2000, 2000),
        "every id exactly once"
    );
    let worked = std::iter::once(&first)
        .chain(&others)
        .filter(|app| {
            app.handles
                .monitor
                .metrics
                .deliveries
                .with_label_values(&["success"])
                .get()
                > 0
        })
        .count();
    assert!(
        worked >= 2,
        "the instances shared the work ({worked} of {instances} delivered)"
    );
}

#[actix_rt::test]
async fn two_instances_send_every_id_exactly_once() {
    every_id_exactly_once(2).await;
}

#[actix_rt::test]
async fn three_instances_send_every_id_exactly_once() {
    every_id_exactly_once(3).await;
}

both_stores!(sigterm_mid_drain_exits_cleanly_and_leaves_nothing_sending);
async fn sigterm_mid_drain_exits_cleanly_and_leaves_nothing_sending(backend: Backend) {
    let mut app = spawn_app_on(
        backend,
        &with(&[("SENDER_CONCURRENCY", "8"), ("LEASE_DURATION", "4s")]),
    )
    .await;
    app.webhook
        .always(Reply::accepted().delay(Duration::from_millis(20)));
    app.insert(2000).await;
    wait_until("a drain under way", Duration::from_secs(10), || async {
        app.webhook.count() >= 50
    })
    .await;
    let report = app.shutdown().await;
    assert!(report.drained);
    let sending = app.db.count("status = 'sending'");
    assert_eq!(sending, 0, "claims were finished or handed back");
    assert_eq!(
        app.db.count("status = 'sent'") as usize,
        app.webhook.count(),
        "every delivery was recorded"
    );
}

both_stores!(dispatch_rate_paces_the_deliveries);
async fn dispatch_rate_paces_the_deliveries(backend: Backend) {
    let app = spawn_app_on(
        backend,
        &with(&[("DISPATCH_RATE", "20"), ("BATCH_SIZE", "100")]),
    )
    .await;
    let started = Instant::now();
    app.insert(100).await;
    wait_until("100 sent", Duration::from_secs(15), || async {
        app.db.count("status = 'sent'") == 100
    })
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(4500),
        "100 at 20/s took only {took:?}"
    );
}

/// `herald_handed_off_total` from `/metrics`.
async fn handed_off(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("herald_handed_off_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

both_stores!(a_created_event_is_handed_to_the_sender_and_a_retry_goes_through_the_queue);
async fn a_created_event_is_handed_to_the_sender_and_a_retry_goes_through_the_queue(
    backend: Backend,
) {
    let app = spawn_app_on(backend, &with(&[("RETRY_SCHEDULE", "50ms")])).await;
    app.webhook.script([Reply::status(503)]);
    let id = create(
        &app,
        json!({"recipient": "+905551111111", "content": "straight"}),
    )
    .await;
    // The first attempt went from the request to the sender; the retry (50 ms later) can only
    // have been claimed from the queue, woken by the outcome: the fallback poll is 30 s away.
    wait_until("the retry", Duration::from_secs(5), || async {
        app.message(id).await.status == MessageStatus::Sent
    })
    .await;
    assert_eq!(app.webhook.count(), 2);
    assert_eq!(
        handed_off(&app).await,
        1,
        "only the first attempt was handed off"
    );
    let history = app.get(&format!("/messages/{id}")).await;
    assert_eq!(history.status(), 200);
}

both_stores!(interval_mode_hands_nothing_off);
async fn interval_mode_hands_nothing_off(backend: Backend) {
    let app = spawn_app_on(backend, &[("SCHEDULER_INTERVAL", "100ms")]).await;
    let id = create(
        &app,
        json!({"recipient": "+905551111111", "content": "ticked"}),
    )
    .await;
    wait_until("the tick's delivery", Duration::from_secs(5), || async {
        app.message(id).await.status == MessageStatus::Sent
    })
    .await;
    assert_eq!(handed_off(&app).await, 0);
}
