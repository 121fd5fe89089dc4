//! `herald sink`: the demo webhook answers like the real one and counts duplicates.

use herald::sink::{SinkOptions, SinkStats, start};
use serde_json::Value;

async fn spawn_sink(failure_rate: f64) -> String {
    let (server, port) = start(SinkOptions {
        addr: ([127, 0, 0, 1], 0).into(),
        failure_rate,
        latency: std::time::Duration::ZERO,
    })
    .unwrap();
    actix_rt::spawn(server);
    format!("http://127.0.0.1:{port}")
}

async fn post(client: &reqwest::Client, base: &str, webhook_id: &str) -> reqwest::Response {
    client
        .post(format!("{base}/webhook"))
        .header("webhook-id", webhook_id)
        .json(&serde_json::json!({"to": "+905551234567", "content": "hi"}))
        .send()
        .await
        .unwrap()
}

async fn stats(client: &reqwest::Client, base: &str) -> SinkStats {
    client
        .get(format!("{base}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_rt::test]
async fn the_sink_accepts_with_a_message_id_and_counts_distinct_webhook_ids() {
    let base = spawn_sink(0.0).await;
    let client = reqwest::Client::new();
    let first = post(&client, &base, "a").await;
    assert_eq!(first.status(), 202);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["message"], "Accepted");
    assert!(uuid::Uuid::parse_str(body["messageId"].as_str().unwrap()).is_ok());
    post(&client, &base, "a").await;
    post(&client, &base, "b").await;

    let stats = stats(&client, &base).await;
    assert_eq!(
        stats,
        SinkStats {
            requests: 3,
            failures: 0,
            distinct_ids: 2
        }
    );
}

#[actix_rt::test]
async fn the_sink_fails_at_the_configured_rate() {
    let base = spawn_sink(1.0).await;
    let client = reqwest::Client::new();
    for i in 0..5 {
        assert_eq!(post(&client, &base, &i.to_string()).await.status(), 500);
    }
    let stats = stats(&client, &base).await;
    assert_eq!((stats.requests, stats.failures), (5, 5));
}
