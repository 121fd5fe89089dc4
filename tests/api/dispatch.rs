//! Start/stop: the switch lives in the database, so it is shared and survives restarts.

use herald::actors::TickOutcome;
use serde_json::{Value, json};

use crate::helpers::*;

both_stores!(stop_halts_claims_and_start_resumes_them_idempotently);
async fn stop_halts_claims_and_start_resumes_them_idempotently(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    for _ in 0..2 {
        let response = app.post("/messages/stop").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "Automatic message sending stopped", "status": "inactive"})
        );
    }
    let [message] = app.insert(1).await.try_into().unwrap();
    assert_eq!(app.tick().await, TickOutcome::Inactive);
    assert_eq!(app.webhook.count(), 0);
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["dispatcher"]["status"], "inactive");

    for _ in 0..2 {
        let response = app.post("/messages/start").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "Automatic message sending started", "status": "active"})
        );
    }
    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.sent == 1));
    assert_eq!(app.message(message.id).await.status.as_str(), "sent");
}

both_stores!(the_dispatch_state_is_shared_by_instances_and_survives_restarts);
async fn the_dispatch_state_is_shared_by_instances_and_survives_restarts(backend: Backend) {
    let mut first = spawn_app_on(backend, &[]).await;
    first.post("/messages/stop").await;
    let TestApp { db, webhook, .. } = {
        first.shutdown().await;
        first
    };
    // A new instance on the same database starts inactive, as the first left it.
    let second = spawn_on(db, webhook, &[]).await;
    second.insert(1).await;
    assert_eq!(second.tick().await, TickOutcome::Inactive);
    let health: Value = second.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["dispatcher"]["status"], "inactive");
}
