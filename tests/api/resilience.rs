//! Failures of dependencies, and shutdown: handled, visible, nothing committed lost.

use std::time::Duration;

use herald::actors::{Tick, TickOutcome};
use herald::domain::MessageStatus;
use serde_json::Value;

use crate::helpers::*;
use crate::receiver::Reply;

#[actix_rt::test]
async fn an_unreachable_redis_never_fails_a_delivery_and_shows_in_health_and_metrics() {
    let app = spawn_app_with(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let [m] = app.insert(1).await.try_into().unwrap();
    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.sent == 1));
    assert_eq!(app.message(m.id).await.status, MessageStatus::Sent);

    wait_until(
        "the cache error to be counted",
        Duration::from_secs(10),
        || async { app.handles.monitor.metrics.cache_errors.get() >= 1 },
    )
    .await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["checks"]["cache"]["status"], "down");
    assert!(health["checks"]["cache"]["error"].as_str().is_some());
    assert_eq!(health["checks"]["database"]["status"], "up");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("herald_cache_errors_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

both_stores!(health_reports_ok_when_every_dependency_is_up);
async fn health_reports_ok_when_every_dependency_is_up(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["checks"]["database"]["status"], "up");
    assert_eq!(health["checks"]["cache"]["status"], "up");
    assert_eq!(health["checks"]["webhook"]["status"], "up");
    assert_eq!(health["checks"]["dispatcher"]["status"], "active");
    assert!(chrono::DateTime::parse_from_rfc3339(health["timestamp"].as_str().unwrap()).is_ok());
}

#[actix_rt::test]
async fn a_lost_database_makes_health_answer_503_and_ticks_fail_cleanly() {
    let app = spawn_app().await;
    app.db
        .exec("ALTER TABLE dispatch_state RENAME TO dispatch_state_gone")
        .unwrap();
    let outcome = app.tick().await;
    assert!(matches!(outcome, TickOutcome::Failed(_)), "{outcome:?}");
    assert!(!app.handles.monitor.database.is_healthy());

    // Now the database itself goes away.
    let mut admin = diesel::PgConnection::establish(&pg_url("postgres")).unwrap();
    use diesel::{Connection, RunQueryDsl};
    diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", app.db.name))
        .execute(&mut admin)
        .unwrap();
    let response = app.get("/health").await;
    assert_eq!(response.status(), 503);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "down");
    assert_eq!(health["checks"]["database"]["status"], "down");
    let listing = app.get("/messages").await;
    assert_eq!(listing.status(), 503);
    let body: Value = listing.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert!(
        !body["error"].as_str().unwrap().contains("postgres://"),
        "no internals: {body}"
    );
}

both_stores!(graceful_shutdown_finishes_in_flight_deliveries_and_hands_back_the_rest);
async fn graceful_shutdown_finishes_in_flight_deliveries_and_hands_back_the_rest(backend: Backend) {
    let mut app = spawn_app_on(backend, &[("BATCH_SIZE", "6"), ("SENDER_CONCURRENCY", "2")]).await;
    app.webhook
        .always(Reply::accepted().delay(Duration::from_millis(400)));
    app.insert(6).await;

    let scheduler = app.handles.scheduler.clone();
    let tick = actix_rt::spawn(async move { scheduler.send(Tick).await.unwrap() });
    wait_until(
        "two deliveries in flight",
        Duration::from_secs(10),
        || async { app.webhook.count() >= 2 },
    )
    .await;
    let report = app.shutdown().await;
    assert!(report.drained);

    let TickOutcome::Claimed(delivered) = tick.await.unwrap() else {
        panic!("the tick claimed")
    };
    assert_eq!(delivered.sent, 2, "the two in flight finished");
    assert_eq!(
        delivered.released, 4,
        "the four not started were handed back"
    );
    assert_eq!(app.db.count("status = 'sending'"), 0);
    assert_eq!(app.db.count("status = 'sent'"), 2);
    assert_eq!(app.db.count("status = 'pending' AND attempts = 0"), 4);
    assert_eq!(app.webhook.count(), 2);
}
