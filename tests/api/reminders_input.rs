//! Reminder rules as user input, on both stores: each bad field is refused with 400 naming it
//! (404 for an unknown endpoint, 409 for a taken name) and nothing is stored; a `PATCH` changes
//! what it gives; a preview shows times and bodies and writes nothing.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::reminders::{expiry, notify, reminders, rule};
use crate::routing::{ROUTING, json_of};

fn with(change: Value) -> Value {
    let mut body = expiry(&["-7d", "-1d"]);
    if let (Value::Object(b), Value::Object(c)) = (&mut body, change) {
        b.extend(c);
    }
    body
}

both_stores!(bad_rules_are_refused_with_the_field_named_and_nothing_stored);
async fn bad_rules_are_refused_with_the_field_named_and_nothing_stored(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    let stored = rule(&app, expiry(&["-7d", "-1d"])).await;
    let cases = [
        (
            with(json!({"name": "other", "timezone": "Mars/Olympus"})),
            400,
            "timezone: 'Mars/Olympus'",
        ),
        (
            with(json!({"name": "other", "quiet_hours": {"start": "10pm", "end": "08:00"}})),
            400,
            "quiet_hours.start:",
        ),
        (
            with(json!({"name": "other", "quiet_hours": {"start": "22:00", "end": "8"}})),
            400,
            "quiet_hours.end:",
        ),
        (
            with(
                json!({"name": "other", "offsets": ["1d","2d","3d","4d","5d","6d","7d","8d","9d","10d","11d"]}),
            ),
            400,
            "offsets: 1 to 10",
        ),
        (
            with(json!({"name": "other", "offsets": ["a week before"]})),
            400,
            "offsets: 'a week before' is not an offset",
        ),
        (
            with(json!({"name": "other", "offsets": ["-400d"]})),
            400,
            "offsets: '-400d' is more than 365 days",
        ),
        (
            with(json!({"name": "other", "target": "$.dates[*]"})),
            400,
            "target:",
        ),
        (
            with(json!({"name": "other", "subject": "$..user_id"})),
            400,
            "subject:",
        ),
        (
            with(json!({"name": "other", "cancel_on": ["user.password_set"]})),
            400,
            "cancel_on: 'user.password_set' is the rule's event_type",
        ),
        (
            with(json!({"name": "other", "past_due": "later"})),
            400,
            "past_due:",
        ),
        (
            with(json!({"name": "other", "offset": "-1d"})),
            400,
            "unknown field `offset`",
        ),
        (
            with(json!({"name": "other", "endpoint": "nowhere"})),
            404,
            "endpoint: no endpoint named nowhere",
        ),
        (with(json!({})), 409, "a rule named 'expiry' exists already"),
        (json!({"name": "other"}), 400, "event_type is required"),
    ];
    for (body, status, says) in cases {
        assert_error(app.post_json("/rules", &body).await, status, says).await;
    }
    let rules = json_of(&app, "/rules").await;
    assert_eq!(rules["count"], 1, "{rules:#}");
    // A bad PATCH changes nothing either.
    assert_error(
        app.patch_json("/rules/expiry", &json!({"timezone": "Nowhere/Land"}))
            .await,
        400,
        "timezone:",
    )
    .await;
    assert_error(
        app.patch_json("/rules/expiry", &json!({"offsetz": ["-1d"]}))
            .await,
        400,
        "unknown field `offsetz`",
    )
    .await;
    assert_error(
        app.patch_json("/rules/expiry", &json!({"": null})).await,
        400,
        "unknown field ``",
    )
    .await;
    assert_error(
        app.patch_json("/rules/expiry", &json!({"name": null}))
            .await,
        400,
        "name is required",
    )
    .await;
    let after = json_of(&app, "/rules/expiry").await;
    assert_eq!(after["updated_at"], stored["updated_at"]);
    assert_eq!(after["offsets"], json!(["-7d", "-1d"]));
}

both_stores!(a_patch_changes_what_it_gives_and_null_restores_the_default);
async fn a_patch_changes_what_it_gives_and_null_restores_the_default(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    let mut body = expiry(&["-7d"]);
    body["timezone"] = json!("Europe/Berlin");
    let created = rule(&app, body).await;
    assert_eq!(
        (created["enabled"].as_bool(), created["endpoint"].as_str()),
        (Some(true), Some("notify"))
    );
    let response = app
        .patch_json(
            "/rules/expiry",
            &json!({"offsets": ["-3d", "0s"], "timezone": null, "enabled": false}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["offsets"], json!(["-3d", "0s"]));
    assert_eq!(patched["timezone"], "UTC", "{patched:#}");
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["id"], created["id"]);
    // Disabled, it schedules nothing.
    crate::routing::event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-01-01"}}),
    )
    .await;
    assert!(reminders(&app, "").await.is_empty());
}

both_stores!(a_preview_shows_times_and_bodies_and_writes_nothing);
async fn a_preview_shows_times_and_bodies_and_writes_nothing(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    let mut body = expiry(&["-30d", "-7d", "-1d"]);
    body["timezone"] = json!("Europe/Berlin");
    body["template"] = json!({"kind": "mapping", "base": {"kind": "password-expiry"},
        "set": [{"src": "$.subject", "dest": "/user"}, {"src": "$.offset", "dest": "/offset"}]});
    rule(&app, body).await;
    let response = app
        .post_json(
            "/rules/expiry/preview",
            &json!({
        "payload": {"user_id": "u1", "expires_at": "2026-03-30"}, "now": "2026-03-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let lines: Vec<Value> = response.json().await.unwrap();
    assert_eq!(lines.len(), 3);
    // 30 days before 09:00 on 30 March (summer time) is 09:00 on 28 February (winter time).
    assert_eq!(
        lines[0]["skipped_reason"]
            .as_str()
            .map(|r| r.contains("past due")),
        Some(true),
        "{lines:#?}"
    );
    assert_eq!(lines[0]["send_at"], Value::Null);
    assert_eq!(lines[1]["send_at"], "2026-03-23T08:00:00Z");
    assert_eq!(lines[2]["send_at"], "2026-03-29T07:00:00Z");
    assert_eq!(
        lines[2]["body"],
        json!({"kind": "password-expiry", "user": "u1", "offset": "-1d"})
    );
    assert!(reminders(&app, "").await.is_empty());
    assert_eq!(json_of(&app, "/events/count").await["count"], 0);
    assert_error(
        app.post_json("/rules/expiry/preview", &json!({"payload": [1]}))
            .await,
        400,
        "payload must be a JSON object",
    )
    .await;
    assert_error(
        app.post_json(
            "/rules/expiry/preview",
            &json!({"payload": {}, "now": "soon"}),
        )
        .await,
        400,
        "now must be",
    )
    .await;
    assert_error(
        app.post_json("/rules/nope/preview", &json!({"payload": {}}))
            .await,
        404,
        "no rule",
    )
    .await;
    assert_error(
        app.get("/rules/expiry/reminders?status=lost").await,
        400,
        "status: 'lost'",
    )
    .await;
}
