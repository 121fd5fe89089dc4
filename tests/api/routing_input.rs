//! Routing input at the edge: bad endpoints, filters, templates and events are refused with a
//! message naming the field or the JSON Pointer, and nothing stored changes; internal URLs are
//! refused (SSRF), also when DNS changes after the check; explain sends and stores nothing.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::TestWebhook;
use crate::routing::{ROUTING, endpoint, json_of};

both_stores!(bad_endpoints_are_refused_naming_the_field_and_nothing_is_stored);
async fn bad_endpoints_are_refused_naming_the_field_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let url = app.webhook.url.clone();
    endpoint(&app, json!({"name": "taken", "url": url})).await;
    let before = app.db.snapshot();
    let filter = |f: Value| json!({"name": "x", "url": url, "filter": f});
    let template = |t: Value| json!({"name": "x", "url": url, "template": t});
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "x", "url": url, "filtr": {}}),
            400,
            "unknown field `filtr`",
        ),
        (json!({"url": url}), 400, "name is required"),
        (
            json!({"name": "Bad Name", "url": url}),
            400,
            "name must be 1 to 64 characters from [a-z0-9_-]",
        ),
        (json!({"name": "x"}), 400, "url is required"),
        (
            json!({"name": "x", "url": "ftp://example.com/"}),
            400,
            "url must be http or https",
        ),
        (
            json!({"name": "x", "url": "http://user:pw@example.com/"}),
            400,
            "user-info",
        ),
        (
            json!({"name": "x", "url": "http://10.1.2.3/"}),
            400,
            "resolves to 10.1.2.3, an internal address",
        ),
        (
            json!({"name": "x", "url": "http://169.254.169.254/latest/meta-data"}),
            400,
            "internal address",
        ),
        (
            json!({"name": "x", "url": "http://[::1]:8080/"}),
            400,
            "internal address",
        ),
        (
            json!({"name": "x", "url": url, "event_types": []}),
            400,
            "event_types: [] would match nothing",
        ),
        (
            json!({"name": "x", "url": url, "event_types": ["a b"]}),
            400,
            "event_types: type must be",
        ),
        (
            json!({"name": "x", "url": url, "channels": ["e/u"]}),
            400,
            "channels:",
        ),
        (
            json!({"name": "taken", "url": url}),
            409,
            "an endpoint named 'taken' exists already",
        ),
        (
            json!({"name": "x", "url": url, "headers": {"content-type": "x"}}),
            400,
            "set by Herald",
        ),
        (
            json!({"name": "x", "url": url, "headers": {"bad header": "x"}}),
            400,
            "not a header name",
        ),
        (
            json!({"name": "x", "url": url, "headers": (0..21).map(|i| (format!("h{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            400,
            "at most 20",
        ),
        (
            json!({"name": "x", "url": url, "secret": "nope"}),
            400,
            "secret must be whsec_",
        ),
        (
            filter(json!({"all": [{"path": "$.a", "op": "eqq", "value": 1}]})),
            400,
            "filter: at /all/0/op: unknown op 'eqq'",
        ),
        (
            filter(json!({"path": "$..a", "op": "exists"})),
            400,
            "at /path: path '$..a': descendant",
        ),
        (
            filter(json!({"path": "$.a", "op": "gt", "value": [1]})),
            400,
            "at /value: 'gt' takes a number or a string",
        ),
        (
            filter(json!({"path": "$.a", "op": "regex", "value": "(unclosed"})),
            400,
            "invalid regex",
        ),
        (
            filter(json!({"path": "$.a", "op": "in", "value": vec![0; 1001]})),
            400,
            "at most 1000 values",
        ),
        (
            filter(json!({"path": "$.a", "op": "exists", "value": 1})),
            400,
            "takes no value",
        ),
        (
            template(json!({"kind": "text", "body": "{{ unclosed"})),
            400,
            "template: at /body: template does not parse",
        ),
        (
            template(json!({"kind": "mapping", "set": [{"src": "$.a", "dest": "no-slash"}]})),
            400,
            "template: at /set/0/dest",
        ),
        (
            template(json!({"kind": "xml"})),
            400,
            "template: at /kind: unknown kind 'xml'",
        ),
        (
            json!({"name": "x", "url": url, "template": {"kind": "mapping", "set": [{"src": "$.id", "dest": "/id"}]}, "sample": {"other": 1}}),
            400,
            "sample: template: nothing at $.id",
        ),
    ];
    for (body, status, words) in cases {
        assert_error(app.post_json("/endpoints", &body).await, status, words).await;
    }
    let not_json = app
        .http
        .post(format!("{}/endpoints", app.address))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 400, "malformed JSON").await;
    assert_eq!(app.db.snapshot(), before, "nothing stored changed");
    let listed = json_of(&app, "/endpoints").await;
    assert_eq!(listed["count"], 2, "default and taken");
}

both_stores!(bad_events_are_refused_and_nothing_is_stored);
async fn bad_events_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let before = app.db.snapshot();
    let big = "x".repeat(256 * 1024);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"type": "", "payload": {}}),
            400,
            "type must be 1 to 128 characters",
        ),
        (json!({"type": "a b", "payload": {}}), 400, "type must be"),
        (
            json!({"type": "t", "payload": [1]}),
            400,
            "payload must be a JSON object",
        ),
        (
            json!({"type": "t", "payload": "x"}),
            400,
            "payload must be a JSON object",
        ),
        (
            json!({"type": "t", "payload": {}, "channels": (0..11).map(|i| format!("c{i}")).collect::<Vec<_>>()}),
            400,
            "at most 10",
        ),
        (
            json!({"type": "t", "payload": {}, "send_at": "soon"}),
            400,
            "send_at must be an RFC 3339 time",
        ),
        (
            json!({"type": "t", "payload": {}, "typo": 1}),
            400,
            "unknown field `typo`",
        ),
        (
            json!({"type": "t", "payload": {"big": big}}),
            400,
            "payload is 262154 bytes; at most 262144",
        ),
        (
            json!({"type": "t", "payload": {"big": "x".repeat(300 * 1024)}}),
            413,
            "request body is larger than",
        ),
    ];
    for (body, status, words) in cases {
        assert_error(app.post_json("/events", &body).await, status, words).await;
    }
    let batch = json!({"events": [{"type": "ok", "payload": {}}, {"type": "", "payload": {}}]});
    assert_error(
        app.post_json("/events/batch", &batch).await,
        400,
        "events[1].type must be",
    )
    .await;
    assert_error(
        app.post_json("/events/batch", &json!({"events": []})).await,
        400,
        "1 to 1000 events",
    )
    .await;
    assert_error(
        app.get("/events?status=done").await,
        400,
        "status: unknown status 'done'",
    )
    .await;
    assert_error(app.get("/events?limit=0").await, 400, "limit must be").await;
    assert_error(
        app.get("/events?sort=x").await,
        400,
        "unknown parameter 'sort'",
    )
    .await;
    assert_error(
        app.get("/events/nope").await,
        400,
        "'nope' is not an event id",
    )
    .await;
    assert_error(
        app.get(&format!("/events/{}", uuid::Uuid::new_v4())).await,
        404,
        "no event with this id",
    )
    .await;
    assert_eq!(app.db.snapshot(), before, "nothing stored changed");
    let stored = app
        .post_json(
            "/events/batch",
            &json!({"events": [{"type": "a", "payload": {}}, {"type": "b", "payload": {}}]}),
        )
        .await;
    assert_eq!(stored.status().as_u16(), 201);
    let listed = json_of(&app, "/events?type=b").await;
    assert_eq!(
        (
            listed["total"].as_i64(),
            listed["events"][0]["type"].as_str()
        ),
        (Some(1), Some("b"))
    );
}

both_stores!(explain_shows_each_clause_and_the_body_and_sends_and_stores_nothing);
async fn explain_shows_each_clause_and_the_body_and_sends_and_stores_nothing(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    let e = endpoint(&app, json!({"name": "vip", "url": hook.url, "event_types": ["order.created"],
        "filter": {"all": [{"path": "$.total", "op": "gte", "value": 100}, {"not": {"path": "$.test", "op": "eq", "value": true}}]},
        "template": {"kind": "mapping", "set": [{"src": "$.total", "dest": "/amount"}]}})).await;
    let before = app.db.snapshot();
    let path = format!("/endpoints/{}/test", e["id"].as_str().unwrap());
    let yes: Value = app
        .post_json(
            &path,
            &json!({"type": "order.created", "payload": {"total": 120}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(yes["matched"], true);
    assert_eq!(
        yes["reasons"],
        json!([
            {"path": "$.total", "op": "gte", "found": 120, "result": true},
            {"path": "$.test", "op": "eq", "result": false}
        ])
    );
    assert_eq!(
        (yes["body"].as_str(), yes["content_type"].as_str()),
        (Some(r#"{"amount":120}"#), Some("application/json"))
    );
    let no: Value = app
        .post_json(
            &path,
            &json!({"type": "order.paid", "payload": {"total": 5}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (no["matched"].as_bool(), no["type_matched"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(no["reasons"][0]["result"], false);
    let missing: Value = app
        .post_json(&path, &json!({"type": "order.created", "payload": {}}))
        .await
        .json()
        .await
        .unwrap();
    assert!(missing["body"].is_null());
    assert!(
        missing["error"].as_str().unwrap().contains("$.total"),
        "{missing}"
    );
    assert_error(
        app.post_json(&path, &json!({"type": "t", "payload": 1}))
            .await,
        400,
        "payload must be a JSON object",
    )
    .await;
    assert_eq!(app.db.snapshot(), before, "nothing stored");
    assert_eq!(hook.count(), 0, "nothing sent");
}
