//! Redis Stream sources against the real Redis, each test on a stream of its own: an entry
//! reaches an endpoint through routing, poison entries land in the dead stream, the start modes,
//! pause and resume, a dead consumer's pending entries taken over, and two instances splitting
//! one group. Nothing is left pending in the group (outages: `sources_outage.rs`).

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::routing::{ROUTING, endpoint, json_of};
use crate::source_helpers::{
    create_source, pending, read_here, redis_at, source_until, stream_key, xadd,
};

both_stores!(an_entry_reaches_an_endpoint_through_routing_and_poison_goes_to_the_dead_stream);
async fn an_entry_reaches_an_endpoint_through_routing_and_poison_goes_to_the_dead_stream(
    backend: Backend,
) {
    let app = spawn_app_on(backend, ROUTING).await;
    let big = crate::receiver::TestWebhook::start();
    endpoint(
        &app,
        json!({"name": "big", "url": big.url, "event_types": ["order.created"],
               "filter": {"path": "$.total", "op": "gte", "value": 100}}),
    )
    .await;
    let stream = stream_key("route");
    let mut redis = redis_at(&redis_url()).await;
    for (kind, json) in [
        ("order.created", r#"{"total":120}"#),
        ("order.created", r#"{"total":5}"#),
        ("order.paid", r#"{"total":500}"#),
    ] {
        xadd(&mut redis, &stream, &[("type", kind), ("json", json)]).await;
    }
    // Poison: no type; a json field that is not JSON.
    xadd(&mut redis, &stream, &[("json", r#"{"total":1}"#)]).await;
    let bad = xadd(
        &mut redis,
        &stream,
        &[("type", "order.created"), ("json", "{nope")],
    )
    .await;
    let made = create_source(
        &app,
        json!({"name": "orders", "kind": "redis_stream", "url": redis_url(), "stream": stream,
               "start": "all", "type": "$.type", "payload": "$.json"}),
    )
    .await;
    assert_eq!(
        (made["group"].as_str(), made["enabled"].as_bool()),
        (Some("herald"), Some(true))
    );
    let done = source_until(&app, "orders", "five entries", |s| s["read"] == 5).await;
    assert_eq!(
        (
            &done["stored"],
            &done["dead"],
            &done["duplicates"],
            &done["state"]
        ),
        (&json!(3), &json!(2), &json!(0), &json!("running")),
        "{done:#}"
    );
    assert_eq!(done["last_entry"], bad);
    wait_until("the one big order", Duration::from_secs(10), || async {
        big.count() == 1
    })
    .await;
    assert_eq!(big.received()[0].json()["total"], 120);
    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("{stream}:herald-dead"))
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(dead.ids.len(), 2);
    let last = &dead.ids[1];
    assert_eq!(last.get::<String>("herald_entry"), Some(bad));
    assert_eq!(
        last.get::<String>("herald_source").as_deref(),
        Some("orders")
    );
    assert!(
        last.get::<String>("herald_reason")
            .unwrap()
            .contains("json"),
        "{last:?}"
    );
    assert_eq!(last.get::<String>("json").as_deref(), Some("{nope"));
    assert_eq!(pending(&mut redis, &stream, "herald").await, 0);
    assert_eq!(
        app.db
            .count_in("events", "idempotency_key LIKE 'source:orders:%'"),
        3
    );
}

#[actix_rt::test]
async fn a_group_starts_at_new_entries_at_all_of_them_or_at_a_time() {
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_key("start");
    let mut redis = redis_at(&redis_url()).await;
    for n in ["a", "b"] {
        xadd(&mut redis, &stream, &[("n", n)]).await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(5)).await;
    xadd(&mut redis, &stream, &[("n", "c")]).await;
    for (name, start) in [
        ("from-new", "new"),
        ("from-all", "all"),
        ("from-time", at.as_str()),
    ] {
        create_source(
            &app,
            json!({"name": name, "kind": "redis_stream", "url": redis_url(), "stream": stream,
                   "group": name, "start": start, "type": "tick"}),
        )
        .await;
    }
    source_until(&app, "from-new", "its group", |s| s["state"] == "running").await;
    xadd(&mut redis, &stream, &[("n", "d")]).await;
    for (name, stored) in [("from-all", 4), ("from-time", 2), ("from-new", 1)] {
        source_until(&app, name, "its entries", |s| s["stored"] == stored).await;
    }
    let stats = json_of(&app, "/stats").await;
    let names: Vec<&str> = stats["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["from-all", "from-new", "from-time"]);
}

#[actix_rt::test]
async fn a_paused_source_reads_nothing_shows_its_lag_and_resumes_where_it_stood() {
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_key("pause");
    let mut redis = redis_at(&redis_url()).await;
    create_source(
        &app,
        json!({"name": "p", "kind": "redis_stream", "url": redis_url(), "stream": stream, "type": "tick"}),
    )
    .await;
    source_until(&app, "p", "running", |s| s["state"] == "running").await;
    xadd(&mut redis, &stream, &[("n", "1")]).await;
    source_until(&app, "p", "the first entry", |s| s["stored"] == 1).await;
    let paused = app.post_json("/sources/p/pause", &json!({})).await;
    assert_eq!(paused.status().as_u16(), 200);
    source_until(&app, "p", "paused", |s| s["state"] == "paused").await;
    xadd(&mut redis, &stream, &[("n", "2")]).await;
    xadd(&mut redis, &stream, &[("n", "3")]).await;
    let seen = source_until(&app, "p", "a lag of 2 while paused", |s| s["lag"] == 2).await;
    assert_eq!(
        (&seen["stored"], &seen["enabled"]),
        (&json!(1), &json!(false))
    );
    let resumed = app.post_json("/sources/p/resume", &json!({})).await;
    assert_eq!(resumed.status().as_u16(), 200);
    let after = source_until(&app, "p", "both entries", |s| s["stored"] == 3).await;
    assert_eq!(after["state"], "running");
    source_until(&app, "p", "no lag", |s| s["lag"] == 0).await;
    let gone = app.delete("/sources/p").await;
    assert_eq!(gone.status().as_u16(), 204);
    assert_eq!(app.get("/sources/p").await.status().as_u16(), 404);
    // The stream and the group stay.
    let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&stream)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(groups.groups.len(), 1);
}

#[actix_rt::test]
async fn entries_a_dead_consumer_left_pending_are_taken_over() {
    let app = spawn_app_with(&[ROUTING, &[("SOURCE_CLAIM_IDLE", "1s")]].concat()).await;
    let stream = stream_key("takeover");
    let mut redis = redis_at(&redis_url()).await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("g")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut redis)
        .await
        .unwrap();
    for n in 0..100 {
        xadd(&mut redis, &stream, &[("n", &n.to_string())]).await;
    }
    // A consumer that reads ten entries and dies.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("ghost")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(pending(&mut redis, &stream, "g").await, 10);
    create_source(
        &app,
        json!({"name": "t", "kind": "redis_stream", "url": redis_url(), "stream": stream,
               "group": "g", "type": "tick"}),
    )
    .await;
    let done = source_until(&app, "t", "all 100", |s| s["stored"] == 100).await;
    assert_eq!(done["duplicates"], 0);
    assert_eq!(pending(&mut redis, &stream, "g").await, 0);
    assert_eq!(
        app.db
            .count_in("events", "idempotency_key LIKE 'source:t:%'"),
        100
    );
}

#[actix_rt::test]
async fn two_instances_split_one_group_and_store_each_entry_once() {
    let small = [ROUTING, &[("SOURCE_BATCH", "20")]].concat();
    let a = spawn_app_with(&small).await;
    let b = spawn_on(a.db.share(), a.webhook.clone(), &small).await;
    let stream = stream_key("split");
    create_source(
        &a,
        json!({"name": "s", "kind": "redis_stream", "url": redis_url(), "stream": stream, "type": "tick"}),
    )
    .await;
    for app in [&a, &b] {
        source_until(app, "s", "its reader", |s| s["state"] == "running").await;
    }
    let mut redis = redis_at(&redis_url()).await;
    let mut pipe = redis::pipe();
    for n in 0..2000 {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("n")
            .arg(n)
            .ignore();
    }
    pipe.query_async::<()>(&mut redis).await.unwrap();
    let done = source_until(&a, "s", "every entry", |s| s["stored"] == 2000).await;
    assert_eq!(done["duplicates"], 0);
    assert_eq!(
        a.db.count_in("events", "idempotency_key LIKE 'source:s:%'"),
        2000
    );
    let (here_a, here_b) = (read_here(&a, "s").await, read_here(&b, "s").await);
    assert!(
        here_a > 0 && here_b > 0,
        "the entries were not split: {here_a} and {here_b}"
    );
    assert_eq!(here_a + here_b, 2000);
    assert_eq!(pending(&mut redis, &stream, "herald").await, 0);
}
