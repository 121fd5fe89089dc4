//! The whole pipeline: producer → scheduler → sender → webhook → database → Redis → API.

use std::time::Duration;

use deadpool_redis::redis;
use herald::actors::TickOutcome;
use herald::db::Op;
use serde_json::Value;

use crate::helpers::*;

#[actix_rt::test]
async fn produced_messages_flow_to_the_webhook_the_database_redis_and_the_api() {
    let app = spawn_app_with(&[
        ("PRODUCER_ENABLED", "true"),
        ("PRODUCER_INTERVAL", "50ms"),
        ("SCHEDULER_INTERVAL", "100ms"),
    ])
    .await;

    wait_until("three sent messages", Duration::from_secs(15), || async {
        let body: Value = app.get("/messages").await.json().await.unwrap();
        body["total"].as_i64().unwrap() >= 3
    })
    .await;

    let body: Value = app.get("/messages?limit=3").await.json().await.unwrap();
    assert_eq!(body["count"], 3);
    let listed = body["messages"].as_array().unwrap();
    let sent_at: Vec<&str> = listed
        .iter()
        .map(|m| m["sent_at"].as_str().unwrap())
        .collect();
    assert!(
        sent_at.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {sent_at:?}"
    );

    let received = app.webhook.received();
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for m in listed {
        assert_eq!(m["status"], "sent");
        assert_eq!(m["message_id"], "wh-fixed-id");
        let id = m["id"].as_str().unwrap();
        // The webhook got exactly this message, once, with the contract's body and headers.
        let hits: Vec<_> = received.iter().filter(|r| r.webhook_id == id).collect();
        assert_eq!(hits.len(), 1, "message {id} delivered once");
        assert_eq!(
            hits[0].json(),
            serde_json::json!({"to": m["recipient"], "content": m["content"]})
        );
        assert_eq!(hits[0].content_type.as_deref(), Some("application/json"));
        assert!(m["recipient"].as_str().unwrap().starts_with("+90"));
        // Redis holds what was sent, with a TTL.
        let key = format!("{}message:{id}", app.prefix);
        let cached: String = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        let cached: Value = serde_json::from_str(&cached).unwrap();
        assert_eq!(cached["messageId"], "wh-fixed-id");
        let stored = chrono::DateTime::parse_from_rfc3339(m["sent_at"].as_str().unwrap()).unwrap();
        let in_cache =
            chrono::DateTime::parse_from_rfc3339(cached["sentAt"].as_str().unwrap()).unwrap();
        assert!(
            (stored - in_cache).num_milliseconds().abs() <= 1,
            "{stored} vs {in_cache}"
        );
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!((86_000..=86_400).contains(&ttl), "ttl {ttl}");
    }
}

#[actix_rt::test]
async fn each_tick_claims_exactly_batch_size_messages_oldest_first() {
    let app = spawn_app_with(&[("BATCH_SIZE", "2")]).await;
    let inserted = app.insert(5).await;

    let TickOutcome::Claimed(report) = app.tick().await else {
        panic!("expected a claim")
    };
    assert_eq!(report.sent, 2);
    assert_eq!(app.webhook.count(), 2);
    assert_eq!(app.db.count("status = 'pending'"), 3);
    let first: Vec<String> = app
        .webhook
        .received()
        .iter()
        .map(|r| r.webhook_id.clone())
        .collect();
    let oldest: Vec<String> = inserted[..2].iter().map(|m| m.id.to_string()).collect();
    let mut sorted = first.clone();
    sorted.sort();
    let mut expected = oldest.clone();
    expected.sort();
    assert_eq!(sorted, expected, "the two oldest go first");

    let TickOutcome::Claimed(report) = app.tick().await else {
        panic!("expected a claim")
    };
    assert_eq!(report.sent, 2);
    let TickOutcome::Claimed(report) = app.tick().await else {
        panic!("expected a claim")
    };
    assert_eq!(report.sent, 1);
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 5);
}

#[actix_rt::test]
async fn a_message_is_not_claimed_before_it_is_due() {
    let app = spawn_app().await;
    let mut later = new_message("later");
    later.send_at = Some(chrono::Utc::now() + chrono::Duration::seconds(3600));
    app.handles
        .store
        .run(Op::Insert, move |s| s.insert(&[later]))
        .await
        .unwrap();
    assert_eq!(app.tick().await, TickOutcome::Idle);
    assert_eq!(app.webhook.count(), 0);
}

#[actix_rt::test]
async fn a_tick_never_overlaps_the_previous_one() {
    let app = spawn_app().await;
    app.webhook
        .always(crate::receiver::Reply::accepted().delay(Duration::from_millis(500)));
    app.insert(3).await;
    let scheduler = app.handles.scheduler.clone();
    let first = actix_rt::spawn(async move { scheduler.send(herald::actors::Tick).await.unwrap() });
    wait_until(
        "the first tick's delivery",
        Duration::from_secs(10),
        || async { app.webhook.count() >= 1 },
    )
    .await;
    assert_eq!(app.tick().await, TickOutcome::Busy);
    assert!(matches!(first.await.unwrap(), TickOutcome::Claimed(r) if r.sent == 2));
    assert!(matches!(app.tick().await, TickOutcome::Claimed(r) if r.sent == 1));
}
