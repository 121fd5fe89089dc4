//! `POST /messages/batch`: all or nothing, in request order, idempotent as a whole.

use serde_json::{Value, json};

use crate::helpers::*;

fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"recipient": format!("+9055500{i:05}"), "content": format!("batch {i}")}))
        .collect()
}

async fn post_batch(app: &TestApp, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/messages/batch", app.address))
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

both_stores!(a_batch_is_stored_in_request_order);
async fn a_batch_is_stored_in_request_order(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let mut list = items(1000);
    list[7]["send_at"] = json!("2030-01-01T00:00:00Z");
    let response = post_batch(&app, &json!({"messages": list}), None).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["count"], 1000);
    let stored = body["messages"].as_array().unwrap();
    for (i, m) in stored.iter().enumerate() {
        assert_eq!(m["content"], format!("batch {i}"), "request order");
        assert_eq!(m["status"], "pending");
    }
    assert_eq!(stored[7]["next_attempt_at"], "2030-01-01T00:00:00Z");
    assert_eq!(app.db.count("true"), 1000);
}

both_stores!(one_bad_item_refuses_the_whole_batch_naming_it);
async fn one_bad_item_refuses_the_whole_batch_naming_it(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let before = app.db.snapshot();
    let mut list = items(10);
    list[3]["recipient"] = json!("12345");
    let response = post_batch(&app, &json!({"messages": list}), None).await;
    assert_error(response, 400, "messages[3].recipient: ").await;
    let mut list = items(10);
    list[9]["content"] = json!("a\u{0}b");
    assert_error(
        post_batch(&app, &json!({"messages": list}), None).await,
        400,
        "messages[9].content: ",
    )
    .await;
    assert_eq!(app.db.snapshot(), before, "nothing stored");
}

both_stores!(empty_and_oversized_batches_are_refused);
async fn empty_and_oversized_batches_are_refused(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let before = app.db.snapshot();
    assert_error(
        post_batch(&app, &json!({"messages": []}), None).await,
        400,
        "1 to 1000 items",
    )
    .await;
    assert_error(
        post_batch(&app, &json!({"messages": items(1001)}), None).await,
        400,
        "it holds 1001",
    )
    .await;
    let huge = vec![json!({"recipient": "+905551111111", "content": "x".repeat(150)}); 1000];
    let mut huge_body = json!({"messages": huge});
    huge_body["messages"][0]["content"] = json!("y".repeat(160));
    let bytes = serde_json::to_vec(&huge_body).unwrap();
    assert!(
        bytes.len() < 1024 * 1024,
        "a full batch fits the 1 MiB limit"
    );
    let over = json!({"messages": vec![json!({"recipient": "+905551111111", "content": "x".repeat(1200)}); 1000]});
    assert_error(post_batch(&app, &over, None).await, 413, "1048576 bytes").await;
    assert_error(
        post_batch(&app, &json!({"messages": "many"}), None).await,
        400,
        "invalid body",
    )
    .await;
    assert_eq!(app.db.snapshot(), before);
}

both_stores!(an_idempotency_key_covers_the_whole_batch);
async fn an_idempotency_key_covers_the_whole_batch(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let body = json!({"messages": items(5)});
    let first = post_batch(&app, &body, Some("batch-key-1")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let replay = post_batch(&app, &body, Some("batch-key-1")).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(
        replay["messages"], first["messages"],
        "the same messages, in order"
    );
    assert_eq!(app.db.count("true"), 5, "nothing stored twice");

    let before = app.db.snapshot();
    let other = json!({"messages": items(6)});
    assert_error(
        post_batch(&app, &other, Some("batch-key-1")).await,
        409,
        "different request",
    )
    .await;
    // A key a batch used is not free for a single message either.
    let single = app
        .http
        .post(format!("{}/messages", app.address))
        .header("Idempotency-Key", "batch-key-1")
        .json(&json!({"recipient": "+905551111111", "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_error(single, 409, "different request").await;
    assert_eq!(app.db.snapshot(), before);
}
