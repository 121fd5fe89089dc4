//! The delivery contract: classification, retries, timeouts, Retry-After, headers and signing.

use std::time::Duration;

use herald::actors::TickOutcome;
use herald::domain::MessageStatus;

use crate::helpers::*;
use crate::receiver::Reply;

both_stores!(a_5xx_is_retried_with_the_same_webhook_id_then_succeeds);
async fn a_5xx_is_retried_with_the_same_webhook_id_then_succeeds(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    app.webhook.script([Reply::status(503).body("busy")]);
    let [m] = app.insert(1).await.try_into().unwrap();

    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.retried == 1));
    let after_first = app.message(m.id).await;
    assert_eq!(after_first.status, MessageStatus::Pending);
    assert_eq!(after_first.last_error.as_deref(), Some("HTTP 503: busy"));

    let sent = app.tick_until(m.id, MessageStatus::Sent).await;
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.last_error, None);
    let ids: Vec<String> = app
        .webhook
        .received()
        .into_iter()
        .map(|r| r.webhook_id)
        .collect();
    assert_eq!(ids, vec![m.id.to_string(), m.id.to_string()]);

    let attempts = app.attempts(m.id).await;
    let summary: Vec<(i32, &str, Option<i32>)> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str(), a.status_code))
        .collect();
    assert_eq!(
        summary,
        vec![(1, "retryable", Some(503)), (2, "success", Some(202))]
    );
    assert_eq!(attempts[0].response_excerpt.as_deref(), Some("busy"));
}

both_stores!(a_400_fails_at_once_without_retry);
async fn a_400_fails_at_once_without_retry(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    app.webhook
        .always(Reply::status(400).body(r#"{"error":"bad number"}"#));
    let [m] = app.insert(1).await.try_into().unwrap();

    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.failed == 1));
    let failed = app.message(m.id).await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(
        failed.last_error.as_deref(),
        Some(r#"HTTP 400: {"error":"bad number"}"#)
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 1);
}

both_stores!(retries_end_in_failed_after_the_last_scheduled_attempt);
async fn retries_end_in_failed_after_the_last_scheduled_attempt(backend: Backend) {
    let app = spawn_app_on(backend, &[("RETRY_SCHEDULE", "10ms,10ms")]).await;
    app.webhook.always(Reply::status(500));
    let [m] = app.insert(1).await.try_into().unwrap();

    let failed = app.tick_until(m.id, MessageStatus::Failed).await;
    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(app.webhook.count(), 3);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 3);
}

#[actix_rt::test]
async fn a_timeout_is_recorded_as_such_and_retried() {
    let app = spawn_app_with(&[("WEBHOOK_TIMEOUT", "200ms"), ("LEASE_DURATION", "5s")]).await;
    app.webhook
        .script([Reply::accepted().delay(Duration::from_millis(1500))]);
    let [m] = app.insert(1).await.try_into().unwrap();

    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.retried == 1));
    let pending = app.message(m.id).await;
    assert_eq!(pending.status, MessageStatus::Pending);
    assert!(
        pending
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("timeout"),
        "{:?}",
        pending.last_error
    );
    let attempts = app.attempts(m.id).await;
    assert_eq!(attempts[0].error_class.as_deref(), Some("timeout"));
    assert_eq!(attempts[0].status_code, None);
    assert!(
        (150..1000).contains(&attempts[0].duration_ms),
        "{}",
        attempts[0].duration_ms
    );

    app.tick_until(m.id, MessageStatus::Sent).await;
}

both_stores!(retry_after_is_honoured);
async fn retry_after_is_honoured(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    app.webhook
        .script([Reply::status(429).header("retry-after", "30")]);
    let [m] = app.insert(1).await.try_into().unwrap();

    let before = chrono::Utc::now();
    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.retried == 1));
    let pending = app.message(m.id).await;
    let wait = pending.next_attempt_at - before;
    assert!(
        wait >= chrono::Duration::seconds(29),
        "next attempt in {wait}, schedule says 10ms"
    );
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 1);
}

#[actix_rt::test]
async fn an_unreachable_webhook_is_a_retryable_connect_error() {
    let app = spawn_app_with(&[("WEBHOOK_URL", "http://127.0.0.1:1/hook")]).await;
    let [m] = app.insert(1).await.try_into().unwrap();
    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.retried == 1));
    let pending = app.message(m.id).await;
    assert!(
        pending
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("connect"),
        "{:?}",
        pending.last_error
    );
}

#[actix_rt::test]
async fn requests_carry_the_auth_key_and_a_verifiable_signature() {
    let secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = spawn_app_with(&[
        (
            "WEBHOOK_AUTH_KEY",
            "INS.me1x9uMcyYGlhKKQVPoc.bO3j9aZwRTOcA2Ywo",
        ),
        ("WEBHOOK_SECRET", &format!("whsec_{secret}")),
    ])
    .await;
    let [m] = app.insert(1).await.try_into().unwrap();
    app.tick_until(m.id, MessageStatus::Sent).await;

    let [r] = app.webhook.received().try_into().unwrap();
    assert_eq!(
        r.auth_key.as_deref(),
        Some("INS.me1x9uMcyYGlhKKQVPoc.bO3j9aZwRTOcA2Ywo")
    );
    let timestamp: i64 = r.timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .unwrap();
    let expected = herald::webhook::sign(&key, &r.webhook_id, timestamp, r.body.as_bytes());
    assert_eq!(r.signature.as_deref(), Some(expected.as_str()));
}

#[actix_rt::test]
async fn an_unparsable_2xx_body_is_still_a_success() {
    let app = spawn_app().await;
    app.webhook.always(Reply::status(200).body("ok!"));
    let [m] = app.insert(1).await.try_into().unwrap();
    let sent = app.tick_until(m.id, MessageStatus::Sent).await;
    assert_eq!(sent.message_id, None);
}
