//! Routing end to end, on both stores: events fan out to the endpoints whose types, channels and
//! filter match; each receives its own body (template), signed with its own secret, under the
//! event's id; disabled, deleted and unmatched endpoints get nothing.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Received, TestWebhook};

pub const ROUTING: &[(&str, &str)] = &[
    ("ENDPOINT_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ("DISPATCH_MODE", "continuous"),
    ("SCHEDULER_INTERVAL", "200ms"),
];

pub async fn endpoint(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/endpoints", &body).await;
    assert_eq!(response.status().as_u16(), 201, "{body}");
    response.json().await.unwrap()
}

pub async fn event(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/events", &body).await;
    assert_eq!(response.status().as_u16(), 201, "{body}");
    response.json().await.unwrap()
}

/// Posts `events` in one batch; the stored events' ids, in order.
pub async fn events_batch(app: &TestApp, events: Vec<Value>) -> Vec<String> {
    let response = app
        .post_json("/events/batch", &json!({"events": events}))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `n` events of type `kind`, payloads `{"i": 0}`, `{"i": 1}`, …
pub fn numbered(kind: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"type": kind, "payload": {"i": i}}))
        .collect()
}

pub async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

/// Waits until `id` has the rolled-up `status`.
pub async fn until_event(app: &TestApp, id: &str, status: &str) -> Value {
    let path = format!("/events/{id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = json_of(app, &path).await;
        if now["status"] == status {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "event {id} is not {status}: {now:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    json_of(app, &path).await
}

/// Checks a Standard Webhooks signature with the endpoint's secret.
fn signed_by(received: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let ts: i64 = received.timestamp.parse().unwrap();
    let expected = herald::webhook::sign(&key, &received.webhook_id, ts, received.body.as_bytes());
    received.signature.as_deref() == Some(expected.as_str())
}

both_stores!(events_fan_out_to_the_matching_endpoints_each_with_its_own_body_and_secret);
async fn events_fan_out_to_the_matching_endpoints_each_with_its_own_body_and_secret(
    backend: Backend,
) {
    let app = spawn_app_on(backend, ROUTING).await;
    let (all, big, mapped) = (
        TestWebhook::start(),
        TestWebhook::start(),
        TestWebhook::start(),
    );
    let a = endpoint(&app, json!({"name": "all", "url": all.url})).await;
    let b = endpoint(
        &app,
        json!({"name": "big-orders", "url": big.url, "event_types": ["order.created"],
        "filter": {"path": "$.total", "op": "gte", "value": 100}}),
    )
    .await;
    let c = endpoint(
        &app,
        json!({"name": "crm", "url": mapped.url, "event_types": ["order.created"],
        "headers": {"x-team": "crm"},
        "template": {"kind": "mapping", "base": {"source": "herald"}, "set": [
            {"src": "$.id", "dest": "/order"}, {"src": "$.total", "dest": "/amount"}]}}),
    )
    .await;
    assert!(a["secret"].as_str().unwrap().starts_with("whsec_"));

    let large = event(
        &app,
        json!({"type": "order.created", "payload": {"id": 1, "total": 150}}),
    )
    .await;
    let small = event(
        &app,
        json!({"type": "order.created", "payload": {"id": 2, "total": 50}}),
    )
    .await;
    let other = event(
        &app,
        json!({"type": "user.signup", "payload": {"user": "ada"}}),
    )
    .await;
    let names = |e: &Value| {
        let mut n: Vec<String> = e["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["endpoint"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&large), ["all", "big-orders", "crm", "default"]);
    assert_eq!(names(&small), ["all", "crm", "default"]);
    assert_eq!(names(&other), ["all", "default"]);
    for e in [&large, &small, &other] {
        until_event(&app, e["id"].as_str().unwrap(), "sent").await;
    }

    assert_eq!(
        (
            all.count(),
            big.count(),
            mapped.count(),
            app.webhook.count()
        ),
        (3, 1, 2, 3)
    );
    let to_big = &big.received()[0];
    assert_eq!(
        to_big.webhook_id,
        large["id"].as_str().unwrap(),
        "webhook-id is the event id"
    );
    assert_eq!(
        to_big.json(),
        json!({"id": 1, "total": 150}),
        "no template: the payload"
    );
    assert!(signed_by(to_big, b["secret"].as_str().unwrap()));
    assert!(
        !signed_by(to_big, a["secret"].as_str().unwrap()),
        "each endpoint has its own secret"
    );
    let mut crm: Vec<Value> = mapped.received().iter().map(Received::json).collect();
    crm.sort_by_key(|v| v["order"].as_i64());
    assert_eq!(
        crm,
        vec![
            json!({"source": "herald", "order": 1, "amount": 150}),
            json!({"source": "herald", "order": 2, "amount": 50})
        ]
    );
    assert!(
        mapped
            .received()
            .iter()
            .all(
                |r| r.headers.get("x-team").map(String::as_str) == Some("crm")
                    && signed_by(r, c["secret"].as_str().unwrap())
            )
    );
    // The same event id reached every endpoint it was routed to.
    let id = large["id"].as_str().unwrap();
    assert_eq!(
        [
            all.times(id),
            big.times(id),
            mapped.times(id),
            app.webhook.times(id)
        ],
        [1, 1, 1, 1]
    );

    let stats = json_of(&app, "/stats").await;
    assert_eq!(stats["events"]["sent"], 3);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"herald_endpoint_deliveries_total{endpoint="crm",outcome="success"} 2"#),
        "{metrics}"
    );
}

both_stores!(a_text_template_renders_with_its_content_type_and_a_failing_one_fails_at_once);
async fn a_text_template_renders_with_its_content_type_and_a_failing_one_fails_at_once(
    backend: Backend,
) {
    let app = spawn_app_on(backend, &[&[("WEBHOOK_URL", "none")], ROUTING].concat()).await;
    let hook = TestWebhook::start();
    endpoint(&app, json!({"name": "sms", "url": hook.url, "template": {"kind": "text",
        "body": "{{ type }}: {{ payload.user.name }} owes {{ payload.total }}", "content_type": "text/plain; charset=utf-8"},
        "sample": {"user": {"name": "x"}, "total": 1}})).await;
    let ok = event(
        &app,
        json!({"type": "invoice.due", "payload": {"user": {"name": "Ada"}, "total": 12}}),
    )
    .await;
    until_event(&app, ok["id"].as_str().unwrap(), "sent").await;
    let got = &hook.received()[0];
    assert_eq!(got.body, "invoice.due: Ada owes 12");
    assert_eq!(
        got.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );

    let broken = event(
        &app,
        json!({"type": "invoice.due", "payload": {"total": 3}}),
    )
    .await;
    let failed = until_event(&app, broken["id"].as_str().unwrap(), "failed").await;
    let delivery = &failed["deliveries"][0];
    assert_eq!(delivery["attempts"], 1, "not retried");
    assert!(
        delivery["last_error"]
            .as_str()
            .unwrap()
            .contains("undefined"),
        "{delivery}"
    );
    assert_eq!(delivery["delivery_attempts"][0]["error_class"], "template");
    assert_eq!(hook.count(), 1, "nothing was sent for it");
}

both_stores!(an_event_no_endpoint_takes_is_unrouted_and_counted);
async fn an_event_no_endpoint_takes_is_unrouted_and_counted(backend: Backend) {
    let app = spawn_app_on(backend, &[&[("WEBHOOK_URL", "none")], ROUTING].concat()).await;
    let e = event(&app, json!({"type": "nobody.cares", "payload": {}})).await;
    assert_eq!(
        (
            e["status"].as_str(),
            e["deliveries"].as_array().map(Vec::len)
        ),
        (Some("unrouted"), Some(0))
    );
    let m = app
        .post_json(
            "/messages",
            &json!({"recipient": "+905551111111", "content": "hi"}),
        )
        .await;
    assert_eq!(m.status().as_u16(), 201);
    assert_eq!(m.json::<Value>().await.unwrap()["status"], "unrouted");
    let stats = json_of(&app, "/stats").await;
    assert_eq!(stats["events"]["unrouted"], 2);
    let listed = json_of(&app, "/events?status=unrouted").await;
    assert_eq!(listed["total"], 2);
    let endpoints = json_of(&app, "/endpoints").await;
    assert_eq!(endpoints["endpoints"][0]["name"], "default");
    assert_eq!(
        endpoints["endpoints"][0]["enabled"], false,
        "WEBHOOK_URL=none disables default"
    );
}

both_stores!(channels_must_meet_and_a_disabled_endpoint_keeps_its_pending_until_enabled);
async fn channels_must_meet_and_a_disabled_endpoint_keeps_its_pending_until_enabled(
    backend: Backend,
) {
    let app = spawn_app_on(backend, &[&[("WEBHOOK_URL", "none")], ROUTING].concat()).await;
    let hook = TestWebhook::start();
    let eu = endpoint(
        &app,
        json!({"name": "eu", "url": hook.url, "channels": ["eu", "uk"]}),
    )
    .await;
    let us = event(
        &app,
        json!({"type": "t", "payload": {}, "channels": ["us"]}),
    )
    .await;
    assert_eq!(us["status"], "unrouted");
    let id = eu["id"].as_str().unwrap();
    // Disabled while a delivery waits: it is not sent, and new events are not routed to it.
    app.post("/messages/stop").await;
    let waiting = event(
        &app,
        json!({"type": "t", "payload": {"n": 1}, "channels": ["uk"]}),
    )
    .await;
    assert_eq!(waiting["deliveries"][0]["endpoint"], "eu");
    assert_eq!(
        app.post(&format!("/endpoints/{id}/disable"))
            .await
            .status()
            .as_u16(),
        200
    );
    app.post("/messages/start").await;
    let skipped = event(
        &app,
        json!({"type": "t", "payload": {"n": 2}, "channels": ["eu"]}),
    )
    .await;
    assert_eq!(
        skipped["status"], "unrouted",
        "a disabled endpoint gets no new deliveries"
    );
    app.tick().await; // a claim round: the disabled endpoint's delivery is not taken
    assert_eq!(
        app.db.count("status = 'pending'"),
        1,
        "its pending delivery waits"
    );
    assert_eq!(hook.count(), 0);
    assert_eq!(
        app.post(&format!("/endpoints/{id}/enable"))
            .await
            .status()
            .as_u16(),
        200
    );
    until_event(&app, waiting["id"].as_str().unwrap(), "sent").await;
    assert_eq!(hook.count(), 1);
}

both_stores!(any_json_object_is_a_payload_and_arrives_as_it_was_written);
async fn any_json_object_is_a_payload_and_arrives_as_it_was_written(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let raw = r#"{"type":"t","payload":{"zeta":"\u0000","alpha":1.7976931348623157e308,"ключ":[true,null]}}"#;
    let response = app
        .http
        .post(format!("{}/events", app.address))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let e: Value = response.json().await.unwrap();
    until_event(&app, e["id"].as_str().unwrap(), "sent").await;
    let body = app.webhook.received()[0].body.clone();
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        got,
        json!({"zeta": "\u{0}", "alpha": f64::MAX, "ключ": [true, null]}),
        "{body}"
    );
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["zeta", "alpha", "ключ"],
        "the order it was written in: {body}"
    );
}
