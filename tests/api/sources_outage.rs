//! A Redis source's broker that fails: killed and brought back (the source shows `failing`,
//! `/health` is `degraded`, and reading resumes by itself), or never reachable (the source is
//! stored all the same and says why). Each on a throwaway `redis-server` or a closed port.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::routing::{ROUTING, json_of};
use crate::source_helpers::{create_source, redis_at, source_until, stream_key, xadd};
use crate::throwaway::ThrowawayRedis;

#[actix_rt::test]
async fn a_broker_outage_shows_failing_and_reading_resumes_by_itself() {
    let mut broker = ThrowawayRedis::start();
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_key("outage");
    create_source(
        &app,
        json!({"name": "o", "kind": "redis_stream", "url": broker.url(), "stream": stream,
               "start": "all", "type": "tick"}),
    )
    .await;
    let mut redis = redis_at(&broker.url()).await;
    xadd(&mut redis, &stream, &[("n", "1")]).await;
    source_until(&app, "o", "the first entry", |s| s["stored"] == 1).await;
    broker.kill();
    let failing = source_until(&app, "o", "failing", |s| s["state"] == "failing").await;
    assert!(
        failing["error"].as_str().unwrap().starts_with("redis:"),
        "{failing}"
    );
    let health = json_of(&app, "/health").await;
    assert_eq!(
        (&health["status"], &health["checks"]["sources"]["status"]),
        (&json!("degraded"), &json!("degraded"))
    );
    assert_eq!(health["checks"]["sources"]["failing"][0]["name"], "o");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"herald_source_state{source="o",state="failing"} 1"#),
        "{metrics}"
    );
    // The broker comes back empty (no persistence): the group is made again and reading goes on.
    broker.resume();
    let mut redis = redis_at(&broker.url()).await;
    source_until(&app, "o", "running again", |s| s["state"] == "running").await;
    xadd(&mut redis, &stream, &[("n", "2")]).await;
    let back = source_until(&app, "o", "the second entry", |s| s["stored"] == 2).await;
    assert_eq!(back["error"], Value::Null);
    let health = json_of(&app, "/health").await;
    assert_eq!(health["checks"]["sources"]["status"], "up");
}

/// A source whose broker cannot be reached is stored all the same, and says why it fails.
#[actix_rt::test]
async fn a_source_whose_broker_is_unreachable_is_stored_and_shows_failing() {
    let app = spawn_app_with(ROUTING).await;
    let port = crate::throwaway::free_port();
    create_source(
        &app,
        json!({"name": "nowhere", "kind": "redis_stream", "url": format!("redis://:secret@127.0.0.1:{port}"),
               "stream": "s", "type": "tick"}),
    )
    .await;
    let failing = source_until(&app, "nowhere", "failing", |s| s["state"] == "failing").await;
    assert_eq!(failing["url"], format!("redis://:***@127.0.0.1:{port}"));
    assert!(
        failing["error"].as_str().unwrap().contains("redis"),
        "{failing}"
    );
}
