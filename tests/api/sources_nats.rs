//! NATS JetStream sources against the real server (`nats-server -js`), each test on a stream
//! and subjects of its own: the counterparts of the Redis tests. An entry reaches an endpoint
//! through routing, poison entries are terminated and counted, the start modes, pause and
//! resume, two instances splitting one durable consumer, entries another consumer left
//! unacknowledged delivered again after `ack_wait`, and a server outage.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::routing::{ROUTING, endpoint, json_of};
use crate::source_helpers::{create_source, read_here, source_until};
use crate::throwaway::ThrowawayNats;

/// A stream name no other test uses; its subjects are `<name>.>`.
pub fn stream_name(tag: &str) -> String {
    format!("herald_test_{tag}_{}", uuid::Uuid::new_v4().simple())
}

pub async fn jetstream_at(url: &str) -> jetstream::Context {
    jetstream::new(
        async_nats::connect(url)
            .await
            .expect("nats-server -js (.ci/run starts it)"),
    )
}

pub async fn make_stream(js: &jetstream::Context, name: &str) {
    js.create_stream(jetstream::stream::Config {
        name: name.into(),
        subjects: vec![format!("{name}.>")],
        ..Default::default()
    })
    .await
    .unwrap();
}

/// Publishes `body` to `subject` and waits for the server to store it.
pub async fn publish(js: &jetstream::Context, subject: String, body: &str) {
    js.publish(subject, body.to_owned().into())
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn consumer(
    js: &jetstream::Context,
    stream: &str,
    durable: &str,
) -> jetstream::consumer::Info {
    let mut c: jetstream::consumer::PullConsumer = js
        .get_stream(stream)
        .await
        .unwrap()
        .get_consumer(durable)
        .await
        .unwrap();
    c.info().await.unwrap().clone()
}

both_stores!(an_entry_reaches_an_endpoint_through_routing_and_poison_is_terminated);
async fn an_entry_reaches_an_endpoint_through_routing_and_poison_is_terminated(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let big = crate::receiver::TestWebhook::start();
    endpoint(
        &app,
        json!({"name": "big", "url": big.url, "event_types": ["order.created"],
               "filter": {"path": "$.total", "op": "gte", "value": 100}}),
    )
    .await;
    let stream = stream_name("route");
    let js = jetstream_at(&nats_url()).await;
    make_stream(&js, &stream).await;
    let subject = format!("{stream}.orders");
    for body in [
        r#"{"type": "order.created", "data": {"total": 120}}"#,
        r#"{"type": "order.created", "data": {"total": 5}}"#,
        r#"{"type": "order.paid", "data": {"total": 500}}"#,
        r#"{"data": {"total": 1}}"#,
        "not json",
    ] {
        publish(&js, subject.clone(), body).await;
    }
    create_source(
        &app,
        json!({"name": "orders", "kind": "nats_jetstream", "url": nats_url(), "stream": stream,
               "subject": format!("{stream}.>"), "start": "all", "type": "$.type", "payload": "$.data"}),
    )
    .await;
    let done = source_until(&app, "orders", "five entries", |s| s["read"] == 5).await;
    assert_eq!(
        (
            &done["stored"],
            &done["dead"],
            &done["duplicates"],
            &done["last_entry"]
        ),
        (&json!(3), &json!(2), &json!(0), &json!("5")),
        "{done:#}"
    );
    wait_until("the one big order", Duration::from_secs(10), || async {
        big.count() == 1
    })
    .await;
    assert_eq!(big.received()[0].json()["total"], 120);
    let info = consumer(&js, &stream, "herald").await;
    assert_eq!((info.num_ack_pending, info.num_pending), (0, 0), "{info:?}");
    assert_eq!(
        app.db
            .count_in("events", "idempotency_key LIKE 'source:orders:%'"),
        3
    );
}

#[actix_rt::test]
async fn a_consumer_starts_at_new_entries_at_all_of_them_or_at_a_time() {
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_name("start");
    let js = jetstream_at(&nats_url()).await;
    make_stream(&js, &stream).await;
    let subject = format!("{stream}.t");
    publish(&js, subject.clone(), r#"{"n": "a"}"#).await;
    publish(&js, subject.clone(), r#"{"n": "b"}"#).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(5)).await;
    publish(&js, subject.clone(), r#"{"n": "c"}"#).await;
    for (name, start) in [
        ("from-new", "new"),
        ("from-all", "all"),
        ("from-time", at.as_str()),
    ] {
        create_source(
            &app,
            json!({"name": name, "kind": "nats_jetstream", "url": nats_url(), "stream": stream,
                   "group": name, "start": start, "type": "tick"}),
        )
        .await;
    }
    source_until(&app, "from-new", "its consumer", |s| {
        s["state"] == "running"
    })
    .await;
    publish(&js, subject.clone(), r#"{"n": "d"}"#).await;
    for (name, stored) in [("from-all", 4), ("from-time", 2), ("from-new", 1)] {
        source_until(&app, name, "its entries", |s| s["stored"] == stored).await;
    }
}

#[actix_rt::test]
async fn a_paused_source_reads_nothing_shows_its_lag_and_resumes_where_it_stood() {
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_name("pause");
    let js = jetstream_at(&nats_url()).await;
    // Herald makes the stream (subjects `<stream>.>`) and the consumer.
    create_source(
        &app,
        json!({"name": "p", "kind": "nats_jetstream", "url": nats_url(), "stream": stream, "type": "tick"}),
    )
    .await;
    source_until(&app, "p", "running", |s| s["state"] == "running").await;
    let subject = format!("{stream}.x");
    publish(&js, subject.clone(), "{}").await;
    source_until(&app, "p", "the first entry", |s| s["stored"] == 1).await;
    assert_eq!(
        app.post_json("/sources/p/pause", &json!({}))
            .await
            .status()
            .as_u16(),
        200
    );
    publish(&js, subject.clone(), "{}").await;
    publish(&js, subject.clone(), "{}").await;
    let seen = source_until(&app, "p", "a lag of 2 while paused", |s| s["lag"] == 2).await;
    assert_eq!(
        (&seen["stored"], &seen["state"]),
        (&json!(1), &json!("paused"))
    );
    assert_eq!(
        app.post_json("/sources/p/resume", &json!({}))
            .await
            .status()
            .as_u16(),
        200
    );
    source_until(&app, "p", "both entries", |s| s["stored"] == 3).await;
    source_until(&app, "p", "no lag", |s| s["lag"] == 0).await;
}

#[actix_rt::test]
async fn two_instances_split_one_durable_consumer_and_store_each_entry_once() {
    let small = [ROUTING, &[("SOURCE_BATCH", "20")]].concat();
    let a = spawn_app_with(&small).await;
    let b = spawn_on(a.db.share(), a.webhook.clone(), &small).await;
    let stream = stream_name("split");
    let js = jetstream_at(&nats_url()).await;
    make_stream(&js, &stream).await;
    create_source(
        &a,
        json!({"name": "s", "kind": "nats_jetstream", "url": nats_url(), "stream": stream,
               "start": "all", "type": "tick"}),
    )
    .await;
    // Both instances read before the entries come, so that both take part.
    for app in [&a, &b] {
        source_until(app, "s", "its reader", |s| s["state"] == "running").await;
    }
    let subject = format!("{stream}.x");
    for n in 0..2000 {
        js.publish(subject.clone(), format!(r#"{{"n": {n}}}"#).into())
            .await
            .unwrap();
    }
    publish(&js, subject.clone(), r#"{"n": "last"}"#).await;
    let done = source_until(&a, "s", "every entry", |s| s["stored"] == 2001).await;
    assert_eq!(done["duplicates"], 0);
    assert_eq!(
        a.db.count_in("events", "idempotency_key LIKE 'source:s:%'"),
        2001
    );
    let (here_a, here_b) = (read_here(&a, "s").await, read_here(&b, "s").await);
    assert!(
        here_a > 0 && here_b > 0,
        "the entries were not split: {here_a} and {here_b}"
    );
    assert_eq!(here_a + here_b, 2001);
    let info = consumer(&js, &stream, "herald").await;
    assert_eq!(info.num_ack_pending, 0);
}

#[actix_rt::test]
async fn entries_another_consumer_left_unacknowledged_come_again_after_ack_wait() {
    let app = spawn_app_with(&[ROUTING, &[("SOURCE_CLAIM_IDLE", "1s")]].concat()).await;
    let stream = stream_name("redeliver");
    let js = jetstream_at(&nats_url()).await;
    make_stream(&js, &stream).await;
    let durable: jetstream::consumer::PullConsumer = js
        .get_stream(&stream)
        .await
        .unwrap()
        .create_consumer(pull::Config {
            durable_name: Some("herald".into()),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_wait: Duration::from_secs(1),
            ..Default::default()
        })
        .await
        .unwrap();
    for n in 0..50 {
        publish(&js, format!("{stream}.x"), &format!(r#"{{"n": {n}}}"#)).await;
    }
    // A consumer that pulls ten entries and dies without acknowledging them.
    let mut pulled = durable.fetch().max_messages(10).messages().await.unwrap();
    let mut taken = 0;
    while let Some(m) = futures_util::StreamExt::next(&mut pulled).await {
        m.unwrap();
        taken += 1;
    }
    assert_eq!(taken, 10);
    create_source(
        &app,
        json!({"name": "r", "kind": "nats_jetstream", "url": nats_url(), "stream": stream, "type": "tick"}),
    )
    .await;
    let done = source_until(&app, "r", "all 50", |s| s["stored"] == 50).await;
    assert_eq!(done["duplicates"], 0);
    let info = consumer(&js, &stream, "herald").await;
    assert_eq!((info.num_ack_pending, info.num_pending), (0, 0));
}

#[actix_rt::test]
async fn a_server_outage_shows_failing_and_reading_resumes_by_itself() {
    let mut server = ThrowawayNats::start();
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_name("outage");
    create_source(
        &app,
        json!({"name": "o", "kind": "nats_jetstream", "url": server.url(), "stream": stream, "type": "tick"}),
    )
    .await;
    source_until(&app, "o", "running", |s| s["state"] == "running").await;
    let js = jetstream_at(&server.url()).await;
    publish(&js, format!("{stream}.x"), "{}").await;
    source_until(&app, "o", "the first entry", |s| s["stored"] == 1).await;
    server.kill();
    let failing = source_until(&app, "o", "failing", |s| s["state"] == "failing").await;
    assert!(
        failing["error"].as_str().unwrap().starts_with("nats:"),
        "{failing}"
    );
    let health = json_of(&app, "/health").await;
    assert_eq!(health["checks"]["sources"]["status"], "degraded");
    // The server comes back with its store: the stream and the consumer are where they were.
    server.resume();
    source_until(&app, "o", "running again", |s| s["state"] == "running").await;
    let js = jetstream_at(&server.url()).await;
    publish(&js, format!("{stream}.x"), "{}").await;
    let back = source_until(&app, "o", "the second entry", |s| s["stored"] == 2).await;
    assert_eq!(back["error"], Value::Null);
}
