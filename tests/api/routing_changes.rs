//! Changes after routing, on both stores: deleting an endpoint, retrying and cancelling events
//! and single deliveries, and idempotent event creation.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, event, json_of, until_event};

both_stores!(deleting_an_endpoint_cancels_its_pending_deliveries_and_keeps_the_history);
async fn deleting_an_endpoint_cancels_its_pending_deliveries_and_keeps_the_history(
    backend: Backend,
) {
    let app = spawn_app_on(backend, &[&[("WEBHOOK_URL", "none")], ROUTING].concat()).await;
    let hook = TestWebhook::start();
    let p = endpoint(&app, json!({"name": "gone", "url": hook.url})).await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let e = event(&app, json!({"type": "t", "payload": {}, "send_at": later})).await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/endpoints/{id}"))
            .await
            .status()
            .as_u16(),
        204
    );
    let after = json_of(&app, &format!("/events/{}", e["id"].as_str().unwrap())).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(
        after["deliveries"][0]["endpoint"], "gone",
        "the history keeps its name"
    );
    assert_error(
        app.get(&format!("/endpoints/{id}")).await,
        404,
        "no endpoint with this id",
    )
    .await;
    // The name is free again.
    endpoint(&app, json!({"name": "gone", "url": hook.url})).await;
    assert_error(
        app.delete("/endpoints/00000000-0000-0000-0000-000000000001")
            .await,
        409,
        "WEBHOOK_URL",
    )
    .await;
}

both_stores!(events_and_single_deliveries_are_retried_and_cancelled);
async fn events_and_single_deliveries_are_retried_and_cancelled(backend: Backend) {
    let app = spawn_app_on(
        backend,
        &[
            &[("WEBHOOK_URL", "none"), ("RETRY_SCHEDULE", "10ms")],
            ROUTING,
        ]
        .concat(),
    )
    .await;
    let (ok, bad) = (TestWebhook::start(), TestWebhook::start());
    bad.always(Reply::status(422));
    endpoint(&app, json!({"name": "ok", "url": ok.url})).await;
    endpoint(&app, json!({"name": "bad", "url": bad.url})).await;
    let e = event(&app, json!({"type": "t", "payload": {}})).await;
    let id = e["id"].as_str().unwrap();
    let failed = until_event(&app, id, "failed").await;
    let failing = failed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == "bad")
        .unwrap()
        .clone();
    let sent = failed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == "ok")
        .unwrap()
        .clone();
    assert_error(
        app.delete(&format!("/events/{id}")).await,
        409,
        "no delivery is pending",
    )
    .await;
    let path = |d: &Value, tail: &str| {
        format!(
            "/events/{id}/deliveries/{}{tail}",
            d["id"].as_str().unwrap()
        )
    };
    assert_error(
        app.post(&path(&sent, "/retry")).await,
        409,
        "delivery is sent, not failed",
    )
    .await;
    bad.always(Reply::accepted());
    let retried = app.post(&path(&failing, "/retry")).await;
    assert_eq!(retried.status().as_u16(), 200);
    until_event(&app, id, "sent").await;
    assert_eq!(ok.count(), 1, "the sent delivery was not sent again");
    assert_error(
        app.post(&format!("/events/{id}/retry")).await,
        409,
        "no delivery is failed",
    )
    .await;
    assert_error(
        app.post(&format!(
            "/events/{id}/deliveries/{}/retry",
            uuid::Uuid::new_v4()
        ))
        .await,
        404,
        "no delivery of this event",
    )
    .await;

    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let held = event(&app, json!({"type": "t", "payload": {}, "send_at": later})).await;
    let held_id = held["id"].as_str().unwrap();
    let one = &held["deliveries"][0];
    let partly = app
        .delete(&format!(
            "/events/{held_id}/deliveries/{}",
            one["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        partly.json::<Value>().await.unwrap()["status"],
        "pending",
        "the other delivery still waits"
    );
    let all = app.delete(&format!("/events/{held_id}")).await;
    assert_eq!(all.json::<Value>().await.unwrap()["status"], "cancelled");
}

both_stores!(an_idempotency_key_gives_the_first_event_and_no_new_deliveries);
async fn an_idempotency_key_gives_the_first_event_and_no_new_deliveries(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let body = json!({"type": "order.created", "payload": {"n": 1}});
    let send = |body: Value| {
        app.http
            .post(format!("{}/events", app.address))
            .header("Idempotency-Key", "order-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_error(
        send(json!({"type": "order.created", "payload": {"n": 2}}))
            .await
            .unwrap(),
        409,
        "Idempotency-Key",
    )
    .await;
    until_event(&app, first["id"].as_str().unwrap(), "sent").await;
    assert_eq!(app.db.count("true"), 1, "one delivery");
}
