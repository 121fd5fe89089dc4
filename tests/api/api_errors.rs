//! Bad input: every validation error is a 400 (or 405/413/415/404) in the error shape, and
//! nothing stored changes.

use serde_json::{Value, json};

use crate::helpers::*;

#[actix_rt::test]
async fn invalid_messages_are_refused_with_a_reason_and_nothing_is_stored() {
    let app = spawn_app_with(&[("CONTENT_MAX_CHARS", "10")]).await;
    app.insert(1).await;
    let before = app.db.snapshot();
    for (body, reason) in [
        (
            json!({"recipient": "905551111111", "content": "hi"}),
            "starting with '+'",
        ),
        (
            json!({"recipient": "+90555abc1111", "content": "hi"}),
            "only digits",
        ),
        (
            json!({"recipient": "+0555", "content": "hi"}),
            "7 to 15 digits",
        ),
        (
            json!({"recipient": "+905551111111", "content": ""}),
            "must not be empty",
        ),
        (
            json!({"recipient": "+905551111111", "content": "   "}),
            "blank",
        ),
        (
            json!({"recipient": "+905551111111", "content": "ğ".repeat(11)}),
            "11 characters long; the limit is 10",
        ),
        (
            json!({"recipient": "+905551111111", "content": "hi", "send_at": "tomorrow"}),
            "send_at",
        ),
        (
            json!({"recipient": "+905551111111"}),
            "missing field `content`",
        ),
        (json!({"content": "hi"}), "missing field `recipient`"),
        (
            json!({"recipient": 905551111111u64, "content": "hi"}),
            "invalid type",
        ),
        (
            json!({"recipient": "+905551111111", "content": "hi", "priority": 1}),
            "unknown field `priority`",
        ),
        (json!(["+905551111111", "hi"]), "invalid"),
    ] {
        assert_error(app.post_json("/messages", &body).await, 400, reason).await;
    }
    assert_eq!(app.db.snapshot(), before, "bad input changed stored data");
}

#[actix_rt::test]
async fn content_at_the_limit_is_accepted_counting_characters() {
    let app = spawn_app_with(&[("CONTENT_MAX_CHARS", "10")]).await;
    let response = app
        .post_json(
            "/messages",
            &json!({"recipient": "+905551111111", "content": "ğ".repeat(10)}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

#[actix_rt::test]
async fn malformed_wrong_type_and_oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let before = app.db.snapshot();
    let raw = |body: Vec<u8>, content_type: Option<&str>| {
        let mut request = app
            .http
            .post(format!("{}/messages", app.address))
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    assert_error(
        raw(b"{\"recipient\":".to_vec(), Some("application/json"))
            .await
            .unwrap(),
        400,
        "malformed JSON",
    )
    .await;
    assert_error(
        raw(b"not json".to_vec(), Some("application/json"))
            .await
            .unwrap(),
        400,
        "malformed JSON",
    )
    .await;
    assert_error(
        raw(b"{}".to_vec(), Some("text/plain")).await.unwrap(),
        415,
        "application/json",
    )
    .await;
    assert_error(
        raw(b"{}".to_vec(), None).await.unwrap(),
        415,
        "application/json",
    )
    .await;
    let huge = format!(
        r#"{{"recipient":"+905551111111","content":"{}"}}"#,
        "a".repeat(70_000)
    );
    assert_error(
        raw(huge.into_bytes(), Some("application/json"))
            .await
            .unwrap(),
        413,
        "larger than 65536",
    )
    .await;
    let bad_key = app
        .http
        .post(format!("{}/messages", app.address))
        .header("Idempotency-Key", "a".repeat(300))
        .json(&json!({"recipient": "+905551111111", "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_error(bad_key, 400, "Idempotency-Key").await;
    assert_eq!(app.db.snapshot(), before);
}

#[actix_rt::test]
async fn pagination_edges_name_the_parameter() {
    let app = spawn_app().await;
    for (query, reason) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("status=delivered", "status"),
    ] {
        assert_error(app.get(&format!("/messages?{query}")).await, 400, reason).await;
    }
    for query in ["limit=1", "limit=100", "offset=0"] {
        assert_eq!(
            app.get(&format!("/messages?{query}")).await.status(),
            200,
            "{query}"
        );
    }
}

#[actix_rt::test]
async fn unknown_routes_and_wrong_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let before = app.db.snapshot();
    assert_error(app.get("/nowhere").await, 404, "no route for GET /nowhere").await;
    let put = app
        .http
        .put(format!("{}/messages", app.address))
        .send()
        .await
        .unwrap();
    assert_error(put, 405, "method not allowed").await;
    assert_error(app.get("/messages/start").await, 405, "method not allowed").await;
    assert_error(app.post("/health").await, 405, "method not allowed").await;
    let patch = app
        .http
        .patch(format!("{}/messages/{}", app.address, uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_error(patch, 405, "method not allowed").await;
    assert_eq!(app.db.snapshot(), before);
}

#[actix_rt::test]
async fn a_bad_query_leaves_the_dispatch_switch_alone() {
    let app = spawn_app().await;
    let before = app.db.snapshot();
    assert_error(app.get("/messages/stop").await, 405, "method").await;
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["checks"]["dispatcher"]["status"], "active");
    assert_eq!(app.db.snapshot(), before);
}
