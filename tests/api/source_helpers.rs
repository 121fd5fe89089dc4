//! What the source tests share: a stream of each test's own in the real Redis, adding entries
//! and counting what the group left pending, and the API calls that make a source and wait for
//! its state.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use serde_json::Value;

use crate::helpers::*;
use crate::routing::json_of;

/// A stream key no other test uses.
pub fn stream_key(tag: &str) -> String {
    format!("herald-test-{tag}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn redis_at(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub async fn xadd(
    conn: &mut MultiplexedConnection,
    stream: &str,
    fields: &[(&str, &str)],
) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(stream).arg("*");
    for (k, v) in fields {
        cmd.arg(*k).arg(*v);
    }
    cmd.query_async(conn).await.unwrap()
}

/// Entries read by the group and not acknowledged.
pub async fn pending(conn: &mut MultiplexedConnection, stream: &str, group: &str) -> usize {
    let reply: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .query_async(conn)
        .await
        .unwrap();
    reply.count()
}

pub async fn create_source(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/sources", &body).await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body} → {answer}");
    answer
}

/// Polls `GET /sources/{name}` until `check` holds; the source then.
pub async fn source_until(
    app: &TestApp,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/sources/{name}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = json_of(app, &path).await;
        if check(&now) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "source {name}: timed out waiting for {what}: {now:#}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `herald_source_read_total` for `source` in an instance's `/metrics`.
pub async fn read_here(app: &TestApp, source: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let series = format!(r#"herald_source_read_total{{source="{source}"}}"#);
    text.lines()
        .find(|l| l.starts_with(&series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}
