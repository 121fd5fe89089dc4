//! Defects found by fault injection and fuzzing, each pinned by a test: redirects, slow bodies,
//! shutdown within grace, stalled health, control characters, auth details and HTTP edges.

use std::time::Duration;

use herald::actors::{StopClaiming, TickOutcome};
use herald::db::Op;
use herald::domain::MessageStatus;
use serde_json::json;

use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};

#[actix_rt::test]
async fn a_redirect_is_not_followed_and_fails_the_message_at_once() {
    let elsewhere = TestWebhook::start();
    let app = spawn_app_with(&[("WEBHOOK_AUTH_KEY", "secret-key")]).await;
    app.webhook
        .always(Reply::status(302).header("location", &elsewhere.url));
    let [m] = app.insert(1).await.try_into().unwrap();

    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.failed == 1));
    let failed = app.message(m.id).await;
    assert_eq!(failed.status, MessageStatus::Failed);
    let error = failed.last_error.unwrap();
    assert!(
        error.contains("302") && error.contains(&elsewhere.url),
        "the error names the status and the Location: {error}"
    );
    assert_eq!(app.webhook.count(), 1);
    assert_eq!(elsewhere.count(), 0, "nothing reached the redirect target");
    let attempts = app.attempts(m.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "permanent");
    assert_eq!(attempts[0].status_code, Some(302));
}

#[actix_rt::test]
async fn a_2xx_whose_body_is_slow_is_delivered_once() {
    let app = spawn_app_with(&[("WEBHOOK_TIMEOUT", "2s")]).await;
    app.webhook.always(
        Reply::accepted()
            .body(r#"{"message":"Accepted","messageId":"slow-body-id"}"#)
            .body_over(Duration::from_secs(3)),
    );
    let [m] = app.insert(1).await.try_into().unwrap();

    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.sent == 1));
    let sent = app.message(m.id).await;
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.attempts, 1);
    assert_eq!(
        sent.message_id, None,
        "the body did not come in time, so there is no messageId"
    );
    assert!(matches!(app.tick().await, TickOutcome::Idle));
    assert_eq!(app.webhook.count(), 1, "exactly one delivery");
}

#[actix_rt::test]
async fn control_and_invisible_characters_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let before = app.db.snapshot();
    for (body, field, says) in [
        (
            json!({"recipient": "+905551111111", "content": "a\u{0}b"}),
            "content",
            "U+0000",
        ),
        (
            json!({"recipient": "+90555\u{0}1111111", "content": "hi"}),
            "recipient",
            "U+0000",
        ),
        (
            json!({"recipient": "+905551111111", "content": "bell\u{7}"}),
            "content",
            "U+0007",
        ),
        (
            json!({"recipient": "+905551111111", "content": "\u{200B}\u{FEFF}\u{2060}"}),
            "content",
            "blank",
        ),
    ] {
        let response = app.post_json("/messages", &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        let text = error["error"].as_str().unwrap();
        assert!(
            text.starts_with(field) && text.contains(says),
            "'{text}' names {field} and {says}"
        );
    }
    assert_eq!(app.db.snapshot(), before, "nothing stored changed");
    let ok = json!({"recipient": "+905551111111", "content": "line one\r\nline\ttwo"});
    assert_eq!(app.post_json("/messages", &ok).await.status(), 201);
}

#[actix_rt::test]
async fn the_bearer_scheme_is_case_insensitive_and_a_padded_token_still_works() {
    let app = spawn_app_with(&[("API_TOKEN", "  s3cret-token\n")]).await;
    for value in [
        "Bearer s3cret-token",
        "bearer s3cret-token",
        "BEARER s3cret-token",
    ] {
        let response = app
            .http
            .get(format!("{}/messages", app.address))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{value}");
    }
}

#[actix_rt::test]
async fn history_numbers_stay_unique_across_a_manual_retry() {
    let app = spawn_app_with(&[("RETRY_SCHEDULE", "")]).await;
    app.webhook.script([Reply::status(500)]);
    let [m] = app.insert(1).await.try_into().unwrap();
    app.tick_until(m.id, MessageStatus::Failed).await;
    let retried = app.post(&format!("/messages/{}/retry", m.id)).await;
    assert_eq!(retried.status(), 200);
    app.tick_until(m.id, MessageStatus::Sent).await;

    let detail: serde_json::Value = app
        .get(&format!("/messages/{}", m.id))
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<i64> = detail["delivery_attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("attempt history in {detail}"))
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2]);
}

#[actix_rt::test]
async fn labelled_metrics_are_exposed_before_any_event() {
    let app = spawn_app().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"herald_deliveries_total{outcome="retryable"} 0"#,
        r#"herald_webhook_request_duration_seconds_count{outcome="success"} 0"#,
        r#"herald_store_errors_total{operation="finish"} 0"#,
    ] {
        assert!(text.contains(line), "missing {line}");
    }
}

#[actix_rt::test]
async fn sigterm_stops_claiming_at_once_and_ends_within_the_grace_period() {
    let mut app = spawn_app_with(&[
        ("SHUTDOWN_GRACE", "2s"),
        ("SCHEDULER_INTERVAL", "20ms"),
        ("BATCH_SIZE", "50"),
        ("SENDER_CONCURRENCY", "4"),
    ])
    .await;
    app.webhook
        .always(Reply::accepted().delay(Duration::from_millis(20)));
    app.insert(3000).await;
    let _client = slow_upload(&app.address);
    wait_until("a busy drain", Duration::from_secs(10), || async {
        app.webhook.count() >= 40
    })
    .await;

    let signalled = std::time::Instant::now();
    let at_signal = app.webhook.count();
    let report = app.shutdown().await;
    let took = signalled.elapsed();
    assert!(
        took <= Duration::from_secs(3),
        "shutdown took {took:?}, more than grace + 1 s"
    );
    assert!(report.drained, "the deliveries in flight finished");
    let after = app.webhook.count() - at_signal;
    assert!(
        after <= 4,
        "{after} deliveries reached the webhook after the signal; at most the 4 in flight may"
    );
    assert_eq!(
        app.db.count("status = 'sent'") as usize,
        app.webhook.count(),
        "every delivery that happened is recorded"
    );
    assert_eq!(
        app.db.count("status = 'sending'"),
        0,
        "claims were handed back"
    );
}

async fn dispatcher_status(app: &TestApp) -> (String, String) {
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    (
        health["checks"]["dispatcher"]["status"]
            .as_str()
            .unwrap()
            .to_owned(),
        health["status"].as_str().unwrap().to_owned(),
    )
}

#[actix_rt::test]
async fn a_slow_webhook_does_not_make_progressing_dispatch_look_stalled() {
    let app = spawn_app_with(&[("SCHEDULER_INTERVAL", "100ms"), ("BATCH_SIZE", "1")]).await;
    app.webhook
        .always(Reply::accepted().delay(Duration::from_millis(1500)));
    app.insert(3).await;
    wait_until(
        "the first slow delivery",
        Duration::from_secs(5),
        || async { app.webhook.count() >= 1 },
    )
    .await;
    // The tick in progress is now far longer than 2 × SCHEDULER_INTERVAL.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        dispatcher_status(&app).await,
        ("active".to_owned(), "ok".to_owned())
    );
}

#[actix_rt::test]
async fn due_work_that_nobody_claims_makes_dispatch_stalled() {
    let app = spawn_app_with(&[("SCHEDULER_INTERVAL", "100ms"), ("WEBHOOK_TIMEOUT", "1s")]).await;
    app.handles.scheduler.send(StopClaiming).await.unwrap();
    assert_eq!(
        dispatcher_status(&app).await.0,
        "active",
        "nothing is due yet"
    );
    let mut overdue = new_message("waiting");
    overdue.send_at = Some(chrono::Utc::now() - chrono::Duration::hours(1));
    app.handles
        .store
        .run(Op::Insert, move |s| s.insert(&[overdue]))
        .await
        .unwrap();
    wait_until("dispatch to be stalled", Duration::from_secs(6), || async {
        dispatcher_status(&app).await == ("stalled".to_owned(), "degraded".to_owned())
    })
    .await;
}
