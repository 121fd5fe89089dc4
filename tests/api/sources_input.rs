//! Bad source input, on both stores: each mistake is a 400 that names its field (a taken name
//! a 409), and nothing is stored or changed.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::routing::{ROUTING, json_of};
use crate::source_helpers::create_source;

fn redis_source(change: Value) -> Value {
    let mut body = json!({"name": "orders", "kind": "redis_stream", "url": "redis://127.0.0.1:6379",
                          "stream": "orders", "type": "$.type"});
    for (k, v) in change.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

both_stores!(bad_sources_are_refused_by_field_and_nothing_is_stored);
async fn bad_sources_are_refused_by_field_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    for (change, says) in [
        (json!({"kind": "kafka"}), "kind: 'kafka' is not one of"),
        (
            json!({"url": "nats://127.0.0.1:4222"}),
            "url: a redis_stream source needs redis://",
        ),
        (
            json!({"kind": "nats_jetstream", "stream": "orders"}),
            "url: a nats_jetstream source needs nats://",
        ),
        (json!({"url": "not a url"}), "url:"),
        (
            json!({"subject": "orders.>"}),
            "subject: only a nats_jetstream source",
        ),
        (json!({"type": "$..type"}), "type:"),
        (json!({"type": "$.items[*].type"}), "type:"),
        (json!({"payload": "$.a[?@.b]"}), "payload:"),
        (
            json!({"start": "yesterday"}),
            "start: 'yesterday' is not new, all or an RFC 3339 time",
        ),
        (json!({"name": "Orders!"}), "name"),
        (json!({"stream": ""}), "stream:"),
        (json!({"type": null}), "type is required"),
        (json!({"partition": 3}), "unknown field `partition`"),
        (json!({"enabled": "yes"}), "invalid type"),
    ] {
        let mut body = redis_source(change.clone());
        if change.get("type") == Some(&Value::Null) {
            body.as_object_mut().unwrap().remove("type");
        }
        let response = app.post_json("/sources", &body).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{change} → {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(says),
            "{change}: {error:?} does not say {says:?}"
        );
    }
    assert_eq!(json_of(&app, "/sources").await["count"], 0);

    create_source(&app, redis_source(json!({"start": "all"}))).await;
    let taken = app
        .post_json("/sources", &redis_source(json!({"stream": "other"})))
        .await;
    assert_eq!(taken.status().as_u16(), 409);
    let before = json_of(&app, "/sources/orders").await;
    for (patch, says) in [
        (json!({"subject": "x"}), "subject:"),
        (json!({"start": "soon"}), "start:"),
        (json!({"colour": "red"}), "unknown field `colour`"),
        (json!({"colour": null}), "unknown field `colour`"),
    ] {
        let response = app.patch_json("/sources/orders", &patch).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{patch} → {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{patch}: {answer}"
        );
    }
    let after = json_of(&app, "/sources/orders").await;
    assert_eq!(
        (&after["start"], &after["updated_at"]),
        (&before["start"], &before["updated_at"])
    );
    // A PATCH that is valid changes what it names; `null` puts a field back to its default.
    let changed = app
        .patch_json("/sources/orders", &json!({"group": "g2", "start": null}))
        .await;
    assert_eq!(changed.status().as_u16(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(
        (&changed["group"], &changed["start"], &changed["stream"]),
        (&json!("g2"), &json!("new"), &json!("orders"))
    );
    for path in [
        "/sources/nope",
        "/sources/nope/pause",
        "/sources/nope/resume",
    ] {
        let status = if path.ends_with("nope") {
            app.get(path).await.status()
        } else {
            app.post_json(path, &json!({})).await.status()
        };
        assert_eq!(status.as_u16(), 404, "{path}");
    }
    assert_eq!(app.delete("/sources/nope").await.status().as_u16(), 404);
}
