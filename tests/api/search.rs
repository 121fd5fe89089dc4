//! `GET /events` as a search and `GET /events/count`, end to end on both stores: by time, type,
//! content filter and the state of a delivery to an endpoint, paged by cursor through 10,000
//! events, and every malformed parameter refused with a 400 that names it.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Reply;
use crate::routing::{ROUTING, endpoint, events_batch, json_of};

fn q(value: &Value) -> String {
    url_encode(&value.to_string())
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn count(app: &TestApp, query: &str) -> i64 {
    json_of(app, &format!("/events/count?{query}")).await["count"]
        .as_i64()
        .unwrap()
}

both_stores!(events_are_found_by_time_type_filter_and_delivery_status);
async fn events_are_found_by_time_type_filter_and_delivery_status(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    // Order 3 is refused by the receiver (400: failed at once); the rest are taken.
    app.webhook.rule(|r, _| {
        if r.body.contains("\"total\":3,") {
            Reply::status(400)
        } else {
            Reply::accepted()
        }
    });
    let url = app.webhook.url.clone();
    endpoint(
        &app,
        json!({"name": "orders", "url": url, "event_types": ["order.created"]}),
    )
    .await;
    let orders: Vec<Value> = (0..10)
        .map(|i| json!({"type": "order.created", "payload": {"total": i, "tag": format!("t{i}")}}))
        .collect();
    events_batch(&app, orders).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let middle = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let signups: Vec<Value> = (0..3)
        .map(|i| json!({"type": "user.signup", "payload": {"plan": if i == 0 { "pro" } else { "free" }}}))
        .collect();
    events_batch(&app, signups).await;
    // An endpoint added after the events: none of them was routed to it.
    endpoint(&app, json!({"name": "late", "url": url})).await;
    wait_until(
        "the orders are delivered",
        Duration::from_secs(20),
        || async { count(&app, "endpoint=orders&delivery_status=sent").await == 9 },
    )
    .await;

    assert_eq!(count(&app, "").await, 13);
    assert_eq!(count(&app, "type=order.created").await, 10);
    assert_eq!(count(&app, "type=order.created&type=user.signup").await, 13);
    let middle_q = url_encode(&middle.to_rfc3339());
    assert_eq!(count(&app, &format!("from={middle_q}")).await, 3);
    assert_eq!(count(&app, &format!("to={middle_q}")).await, 10);
    let big = json!({"path": "$.total", "op": "gte", "value": 5});
    assert_eq!(count(&app, &format!("filter={}", q(&big))).await, 5);
    let pro = json!({"any": [{"path": "$.plan", "op": "eq", "value": "pro"},
                             {"path": "$.tag", "op": "in", "value": ["t1", "t2"]}]});
    assert_eq!(count(&app, &format!("filter={}", q(&pro))).await, 3);
    assert_eq!(
        count(&app, "endpoint=orders&delivery_status=failed").await,
        1
    );
    assert_eq!(count(&app, "endpoint=orders").await, 10);
    assert_eq!(count(&app, "endpoint=orders&delivery_status=none").await, 3);
    assert_eq!(count(&app, "endpoint=late&delivery_status=none").await, 13);
    assert_eq!(
        count(&app, "endpoint=late&delivery_status=pending").await,
        0
    );
    assert_eq!(count(&app, "status=failed").await, 1);

    // The list answers the same events as the count, with their deliveries.
    let page = json_of(
        &app,
        &format!(
            "/events?endpoint=orders&delivery_status=failed&filter={}",
            q(&json!({"path": "$.total", "op": "exists"}))
        ),
    )
    .await;
    assert_eq!(page["count"], 1, "{page:#}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["events"][0]["payload"]["total"], 3);
    assert_eq!(page["events"][0]["deliveries"][0]["status"], "failed");
}

both_stores!(a_cursor_pages_through_ten_thousand_events_once_each);
async fn a_cursor_pages_through_ten_thousand_events_once_each(backend: Backend) {
    let app = spawn_app_on(backend, &[("DISPATCH_MODE", "continuous")]).await;
    for batch in 0..10 {
        let events: Vec<Value> = (0..1000)
            .map(|i| json!({"type": "tick", "payload": {"i": batch * 1000 + i}}))
            .collect();
        events_batch(&app, events).await;
    }
    let walk = |query: String| {
        let app = &app;
        async move {
            let mut seen: Vec<(String, i64)> = Vec::new();
            let mut path = format!("/events?limit=100&{query}");
            let mut pages = 0;
            loop {
                let page = json_of(app, &path).await;
                pages += 1;
                if pages > 1 {
                    assert!(page.get("total").is_none(), "a cursor page is not counted");
                }
                for e in page["events"].as_array().unwrap() {
                    seen.push((
                        e["id"].as_str().unwrap().to_owned(),
                        e["payload"]["i"].as_i64().unwrap(),
                    ));
                }
                match page["next_cursor"].as_str() {
                    Some(cursor) => path = format!("/events?limit=100&{query}&cursor={cursor}"),
                    None => break,
                }
            }
            (seen, pages)
        }
    };
    let (seen, pages) = walk(String::new()).await;
    assert_eq!(seen.len(), 10_000);
    assert_eq!(pages, 100);
    let unique: HashSet<&String> = seen.iter().map(|(id, _)| id).collect();
    assert_eq!(unique.len(), 10_000, "no event twice");
    // Newest first: the last batch comes first.
    assert!(seen[0].1 >= 9000 && seen[9_999].1 < 1000);

    let half = json!({"path": "$.i", "op": "lt", "value": 5000});
    let (filtered, _) = walk(format!("filter={}", q(&half))).await;
    assert_eq!(filtered.len(), 5_000);
    assert!(filtered.iter().all(|(_, i)| *i < 5000));
    let first = json_of(&app, &format!("/events?limit=3&filter={}", q(&half))).await;
    assert_eq!(first["total"], 5000);
}

both_stores!(bad_search_parameters_are_refused_by_name);
async fn bad_search_parameters_are_refused_by_name(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let regex = json!({"all": [{"path": "$.a", "op": "exists"},
                               {"path": "$.b", "op": "regex", "value": "^x"}]});
    let offset_and_cursor = "/events?offset=1&cursor=x".to_owned();
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/events?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z".into(),
            400,
            "is after to",
        ),
        (
            "/events?from=yesterday".into(),
            400,
            "from must be an RFC 3339 time",
        ),
        (
            "/events?colour=red".into(),
            400,
            "unknown parameter 'colour'",
        ),
        (
            "/events/count?limit=3".into(),
            400,
            "unknown parameter 'limit'",
        ),
        (
            "/events?status=sent&status=failed".into(),
            400,
            "'status' is given twice",
        ),
        ("/events?type=no%20spaces".into(), 400, "type"),
        ("/events?filter=%7Bnope".into(), 400, "filter is not JSON"),
        (
            format!(
                "/events?filter={}",
                q(&json!({"path": "$.a", "op": "eqq", "value": 1}))
            ),
            400,
            "filter: at /op: unknown op 'eqq'",
        ),
        (
            format!("/events/count?filter={}", q(&regex)),
            400,
            "filter: at /all/1/op: 'regex' cannot be used to search",
        ),
        (
            "/events?delivery_status=sent".into(),
            400,
            "delivery_status needs an endpoint",
        ),
        (
            "/events?endpoint=default&delivery_status=lost".into(),
            400,
            "delivery_status must be one of",
        ),
        (
            "/events?endpoint=nobody".into(),
            404,
            "no endpoint with this id or name",
        ),
        (
            "/events?cursor=not-ours".into(),
            400,
            "cursor is not one that Herald gave",
        ),
        (offset_and_cursor, 400, "cursor or offset, not both"),
        (
            "/events?limit=0".into(),
            400,
            "limit must be a whole number from 1 to 100",
        ),
    ];
    for (path, status, text) in cases {
        let response = app.get(&path).await;
        assert_error(response, status, text).await;
    }
    // A cursor of a list by sent time is not one for a list by creation time.
    let sent_cursor = herald::db::search::Cursor {
        order: herald::db::search::Order::Sent,
        at: chrono::Utc::now(),
        id: uuid::Uuid::new_v4(),
    };
    let response = app
        .get(&format!("/events?cursor={}", sent_cursor.encode()))
        .await;
    assert_error(response, 400, "another order").await;
}
