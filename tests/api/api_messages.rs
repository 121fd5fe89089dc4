//! `POST /messages`, `GET /messages/{id}`, retry and cancel: happy paths and state conflicts.

use std::time::Duration;

use herald::actors::TickOutcome;
use herald::db::Op;
use herald::domain::MessageStatus;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Reply;

both_stores!(a_created_message_is_stored_pending_and_then_delivered);
async fn a_created_message_is_stored_pending_and_then_delivered(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let response = app
        .post_json(
            "/messages",
            &json!({"recipient": "+90 555 111-11-11", "content": "Merhaba dünya"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["recipient"], "+905551111111");
    assert_eq!(created["content"], "Merhaba dünya");
    assert_eq!(created["status"], "pending");
    assert_eq!(
        location,
        format!("/messages/{}", created["id"].as_str().unwrap())
    );

    let id = created["id"].as_str().unwrap().parse().unwrap();
    app.tick_until(id, MessageStatus::Sent).await;
    let detail: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(detail["status"], "sent");
    assert_eq!(detail["message_id"], "wh-fixed-id");
    let attempts = detail["delivery_attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 202);
    assert_eq!(attempts[0]["outcome"], "success");
    assert!(attempts[0]["duration_ms"].as_i64().unwrap() >= 0);
}

both_stores!(a_message_with_send_at_in_the_future_is_not_sent_before_it_is_due);
async fn a_message_with_send_at_in_the_future_is_not_sent_before_it_is_due(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let created: Value = app
        .post_json(
            "/messages",
            &json!({"recipient": "+905551111111", "content": "later", "send_at": due.to_rfc3339()}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 0);
    let sent = app.tick_until(id, MessageStatus::Sent).await;
    assert!(
        sent.sent_at.unwrap() >= due,
        "sent at {:?}, due {due}",
        sent.sent_at
    );
}

both_stores!(an_idempotency_key_replays_the_first_message_and_refuses_another_body);
async fn an_idempotency_key_replays_the_first_message_and_refuses_another_body(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let send = |body: Value| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/messages", app.address))
                .header("Idempotency-Key", "order-42")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(json!({"recipient": "+905551111111", "content": "once"})).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    let replay = send(json!({"recipient": "+90 555 111 11 11", "content": "once"})).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);

    let before = app.db.snapshot();
    assert_error(
        send(json!({"recipient": "+905551111111", "content": "twice"})).await,
        409,
        "Idempotency-Key",
    )
    .await;
    assert_eq!(app.db.snapshot(), before);
    assert_eq!(app.db.count("true"), 1);
}

both_stores!(a_failed_message_can_be_retried_and_keeps_its_history);
async fn a_failed_message_can_be_retried_and_keeps_its_history(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    app.webhook.script([Reply::status(422)]);
    let [m] = app.insert(1).await.try_into().unwrap();
    app.tick_until(m.id, MessageStatus::Failed).await;

    let response = app.post(&format!("/messages/{}/retry", m.id)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );

    app.tick_until(m.id, MessageStatus::Sent).await;
    let detail: Value = app
        .get(&format!("/messages/{}", m.id))
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<i64> = detail["delivery_attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![422, 202], "history kept");

    // A sent message cannot be retried.
    let before = app.db.snapshot();
    assert_error(
        app.post(&format!("/messages/{}/retry", m.id)).await,
        409,
        "message is sent",
    )
    .await;
    assert_eq!(app.db.snapshot(), before);
}

both_stores!(a_pending_message_can_be_cancelled_and_is_never_sent);
async fn a_pending_message_can_be_cancelled_and_is_never_sent(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let [m] = app.insert(1).await.try_into().unwrap();
    let response = app.delete(&format!("/messages/{}", m.id)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "cancelled");
    assert_eq!(app.tick().await, TickOutcome::Idle);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(app.webhook.count(), 0);

    let before = app.db.snapshot();
    assert_error(
        app.delete(&format!("/messages/{}", m.id)).await,
        409,
        "only pending",
    )
    .await;
    assert_error(
        app.post(&format!("/messages/{}/retry", m.id)).await,
        409,
        "only failed",
    )
    .await;
    assert_eq!(app.db.snapshot(), before);
}

both_stores!(sending_and_sent_messages_cannot_be_cancelled);
async fn sending_and_sent_messages_cannot_be_cancelled(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let [held, other] = app.insert(2).await.try_into().unwrap();
    // Another worker holds the oldest one; a tick sends the other.
    app.handles
        .store
        .run(Op::Claim, |s| s.claim_due(1, Duration::from_secs(30), "t"))
        .await
        .unwrap();
    assert_error(
        app.delete(&format!("/messages/{}", held.id)).await,
        409,
        "message is sending",
    )
    .await;
    let TickOutcome::Claimed(r) = app.tick().await else {
        panic!("claimed")
    };
    assert_eq!(r.sent, 1);
    assert_error(
        app.delete(&format!("/messages/{}", other.id)).await,
        409,
        "message is sent",
    )
    .await;
}

#[actix_rt::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    assert_error(
        app.get(&format!("/messages/{unknown}")).await,
        404,
        "no message",
    )
    .await;
    assert_error(
        app.post(&format!("/messages/{unknown}/retry")).await,
        404,
        "no message",
    )
    .await;
    assert_error(
        app.delete(&format!("/messages/{unknown}")).await,
        404,
        "no message",
    )
    .await;
    assert_error(
        app.get("/messages/not-a-uuid").await,
        400,
        "not a message id",
    )
    .await;
}

both_stores!(listing_filters_by_status_and_pages);
async fn listing_filters_by_status_and_pages(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let inserted = app.insert(5).await;
    app.delete(&format!("/messages/{}", inserted[0].id)).await;

    let body: Value = app.get("/messages").await.json().await.unwrap();
    assert_eq!(
        (body["count"].as_i64(), body["total"].as_i64()),
        (Some(0), Some(0)),
        "default is sent"
    );
    let body: Value = app
        .get("/messages?status=pending&limit=2&offset=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["count"].as_i64(), body["total"].as_i64()),
        (Some(2), Some(4))
    );
    let body: Value = app
        .get("/messages?status=all&limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["count"].as_i64(), body["total"].as_i64()),
        (Some(5), Some(5))
    );
    let created: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let body: Value = app
        .get("/messages?status=cancelled")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["messages"][0]["id"], inserted[0].id.to_string());
    let body: Value = app
        .get("/messages?status=all&offset=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["count"].as_i64(), body["total"].as_i64()),
        (Some(0), Some(5))
    );
}
