//! `GET /stats/history`: attempts per bucket, counted from the attempts table on either store.

use herald::domain::MessageStatus;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Reply;

async fn create(app: &TestApp, content: &str) -> uuid::Uuid {
    let body: Value = app
        .post_json(
            "/messages",
            &json!({"recipient": "+905551234567", "content": content}),
        )
        .await
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

both_stores!(buckets_count_the_attempts_made);
async fn buckets_count_the_attempts_made(backend: Backend) {
    let app = spawn_app_on(backend, &[("RETRY_SCHEDULE", "10ms")]).await;
    // ok: 1 success. flaky: a retried 503, then a success. gone: a permanent 422.
    // down: a retried 500, then a last 500 that fails the message.
    app.webhook.rule(|received, before| {
        match (received.json()["content"].as_str().unwrap(), before) {
            ("flaky", 0) => Reply::status(503),
            ("gone", _) => Reply::status(422),
            ("down", _) => Reply::status(500),
            _ => Reply::accepted(),
        }
    });
    let mut ids = Vec::new();
    for (content, end) in [
        ("ok", MessageStatus::Sent),
        ("flaky", MessageStatus::Sent),
        ("gone", MessageStatus::Failed),
        ("down", MessageStatus::Failed),
    ] {
        ids.push((create(&app, content).await, end));
    }
    for (id, end) in ids {
        app.tick_until(id, end).await;
    }

    let history: Value = app
        .get("/stats/history?window=1m&bucket=1s")
        .await
        .json()
        .await
        .unwrap();
    let buckets = history["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 60);
    assert_eq!(history["bucket_seconds"], 1.0);
    let total = |key: &str| {
        buckets
            .iter()
            .map(|b| b[key].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (total("succeeded"), total("retried"), total("failed")),
        (2, 2, 2),
        "{history}"
    );
    for pair in buckets.windows(2) {
        let [a, b] = pair else { unreachable!() };
        let gap = chrono::DateTime::parse_from_rfc3339(b["start"].as_str().unwrap()).unwrap()
            - chrono::DateTime::parse_from_rfc3339(a["start"].as_str().unwrap()).unwrap();
        assert_eq!(gap.num_milliseconds(), 1000);
    }
    for b in buckets {
        let attempts = ["succeeded", "retried", "failed"]
            .iter()
            .map(|k| b[k].as_i64().unwrap())
            .sum::<i64>();
        assert_eq!(b["p50_ms"].is_null(), attempts == 0, "{b}");
        if attempts > 0 {
            assert!(b["p99_ms"].as_f64().unwrap() >= b["p50_ms"].as_f64().unwrap());
        }
    }
}

#[actix_rt::test]
async fn bad_windows_and_buckets_are_refused_in_the_error_shape() {
    let app = spawn_app().await;
    for (query, says) in [
        ("window=25h", "window must be at most 24h"),
        ("bucket=999ms", "bucket must be at least 1s"),
        ("window=24h&bucket=1s", "at most 1000 buckets"),
        ("window=soon", "window must be a duration"),
        ("bucket=", "bucket must be a duration"),
        ("window=10", "window must be a duration"),
    ] {
        assert_error(app.get(&format!("/stats/history?{query}")).await, 400, says).await;
    }
    let default: Value = app.get("/stats/history").await.json().await.unwrap();
    assert_eq!(
        default["buckets"].as_array().unwrap().len(),
        90,
        "15m per 10s"
    );
}
