//! The protection settings at the edge (bad values are refused naming the field, and nothing is
//! stored), and `/health` across instances: work that piled up while dispatch was stopped is not
//! `stalled` on an instance that did not restart it.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::receiver::TestWebhook;
use crate::routing::{ROUTING, endpoint, json_of};

both_stores!(bad_protection_settings_are_refused_naming_the_field_and_nothing_is_stored);
async fn bad_protection_settings_are_refused_naming_the_field_and_nothing_is_stored(
    backend: Backend,
) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    let bad = [
        ("rate_per_sec", json!(0)),
        ("rate_per_sec", json!(-5)),
        ("rate_per_sec", json!("fast")),
        ("burst", json!(0)),
        ("burst", json!(2.5)),
        ("ordering_key", json!("$..order_id")),
        ("ordering_key", json!("order_id")),
        ("on_failure", json!("retry")),
        ("max_in_flight", json!(0)),
        ("max_in_flight", json!(1001)),
    ];
    for (field, value) in &bad {
        let body = json!({"name": "x", "url": hook.url, *field: value});
        let response = app.post_json("/endpoints", &body).await;
        assert_error(response, 400, field).await;
    }
    let list = json_of(&app, "/endpoints").await;
    assert_eq!(list["count"], 1, "only default: {list}");
    let created = endpoint(
        &app,
        json!({"name": "x", "url": hook.url, "rate_per_sec": 5, "burst": 3,
               "ordering_key": "$.order_id", "on_failure": "block"}),
    )
    .await;
    for (field, value) in &bad {
        let response = app
            .patch_json("/endpoints/x", &json!({*field: value}))
            .await;
        assert_error(response, 400, field).await;
    }
    let now = json_of(&app, "/endpoints/x").await;
    for field in [
        "rate_per_sec",
        "burst",
        "ordering_key",
        "on_failure",
        "max_in_flight",
    ] {
        assert_eq!(now[field], created[field], "{field} unchanged");
    }
    assert_eq!(now["breaker"]["state"], "closed");
    assert_eq!(now["effective_rate"], 5.0);
    // `null` lifts the rate and the key.
    let response = app
        .patch_json(
            "/endpoints/x",
            &json!({"rate_per_sec": null, "ordering_key": null}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let now = json_of(&app, "/endpoints/x").await;
    assert!(
        now["rate_per_sec"].is_null() && now["ordering_key"].is_null(),
        "{now}"
    );
    assert!(now["effective_rate"].is_null(), "no limit: {now}");
}

#[actix_rt::test]
async fn work_that_waited_while_stopped_is_not_stalled_on_either_instance_after_a_start() {
    let mut settings = ROUTING.to_vec();
    settings.push(("WEBHOOK_TIMEOUT", "1s"));
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.db.share(), a.webhook.clone(), &settings).await;
    assert_eq!(a.post("/messages/stop").await.status().as_u16(), 200);
    for i in 0..3 {
        let body = json!({"type": "x", "payload": {"i": i}});
        assert_eq!(a.post_json("/events", &body).await.status().as_u16(), 201);
    }
    // Longer than the stall window, with due work and nothing claimed anywhere.
    let window = a.handles.monitor.stall_window + Duration::from_millis(300);
    let deadline = std::time::Instant::now() + window;
    wait_until("the stall window has passed", window * 2, || async {
        let health = json_of(&a, "/health").await;
        assert_eq!(
            health["checks"]["dispatcher"]["status"], "inactive",
            "{health}"
        );
        std::time::Instant::now() > deadline
    })
    .await;
    assert_eq!(b.post("/messages/start").await.status().as_u16(), 200);
    let (ha, hb) = tokio::join!(json_of(&a, "/health"), json_of(&b, "/health"));
    for health in [&ha, &hb] {
        assert_eq!(
            health["checks"]["dispatcher"]["status"], "active",
            "{health}"
        );
        assert_eq!(health["status"], "ok", "{health}");
    }
    wait_until(
        "the waiting work is delivered",
        Duration::from_secs(5),
        || async { a.webhook.count() == 3 },
    )
    .await;
}
