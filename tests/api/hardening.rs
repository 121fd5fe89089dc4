//! Defects found by fault injection and fuzzing, each pinned by a test: redirects, slow bodies,
//! shutdown within grace, stalled health, control characters, auth details and HTTP edges.

use std::time::Duration;

use herald::actors::TickOutcome;
use herald::db::Op;
use herald::domain::MessageStatus;

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
    let (_, attempts) = app
        .handles
        .store
        .run(Op::Read, move |s| s.get(m.id))
        .await
        .unwrap();
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
