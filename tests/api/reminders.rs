//! Reminder rules end to end, on both stores: an event schedules a reminder per offset, a later
//! event moves them or cancels them (`cancel_on`, a removed target, a filter that stops
//! matching), reminders go out at their time, and one already sent is sent again only for a
//! new date. The helpers here serve the other reminder tests too.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::routing::{ROUTING, endpoint, event, json_of};

pub async fn rule(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/rules", &body).await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body} -> {answer}");
    answer
}

/// An endpoint named `notify` that takes no event of its own: only what a rule sends it.
pub async fn notify(app: &TestApp) {
    let url = app.webhook.url.clone();
    endpoint(
        app,
        json!({"name": "notify", "url": url, "event_types": ["never.sent"],
                         "headers": {"x-to": "notify"}}),
    )
    .await;
}

pub fn expiry(offsets: &[&str]) -> Value {
    json!({"name": "expiry", "event_type": "user.password_set", "subject": "$.user_id",
           "target": "$.expires_at", "offsets": offsets, "endpoint": "notify",
           "cancel_on": ["user.password_changed"]})
}

pub async fn reminders(app: &TestApp, query: &str) -> Vec<Value> {
    let body = json_of(app, &format!("/rules/expiry/reminders?{query}")).await;
    body["reminders"].as_array().unwrap().clone()
}

fn at(r: &Value, field: &str) -> DateTime<Utc> {
    r[field].as_str().unwrap().parse().unwrap()
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The reminders the receiver got, in order.
fn received(app: &TestApp) -> Vec<(Value, Instant)> {
    app.webhook
        .received()
        .into_iter()
        .filter(|r| r.headers.get("x-to").map(String::as_str) == Some("notify"))
        .map(|r| (serde_json::from_str(&r.body).unwrap(), r.at))
        .collect()
}

both_stores!(an_event_schedules_and_a_later_one_moves_or_cancels);
async fn an_event_schedules_and_a_later_one_moves_or_cancels(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    let mut body = expiry(&["-7d", "-1d"]);
    body["timezone"] = json!("Europe/Istanbul");
    body["quiet_hours"] = json!({"start": "22:00", "end": "08:00"});
    rule(&app, body).await;
    let first = event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-03-10T23:30:00+03:00"}}),
    )
    .await;
    let id = first["id"].as_str().unwrap();
    let detail = json_of(&app, &format!("/events/{id}")).await;
    assert_eq!(
        detail["rules"][0]["note"], "scheduled -7d, -1d",
        "{detail:#}"
    );
    assert_eq!(
        detail["reminders"].as_array().unwrap().len(),
        2,
        "{detail:#}"
    );
    let pending = reminders(&app, "subject=u1&status=pending").await;
    // 23:30 in Istanbul is quiet: both move to 08:00 the next morning.
    let times: Vec<_> = pending.iter().map(|r| at(r, "send_at")).collect();
    assert_eq!(
        times,
        vec![
            "2027-03-04T05:00:00Z".parse::<DateTime<Utc>>().unwrap(),
            "2027-03-10T05:00:00Z".parse().unwrap()
        ]
    );
    assert!(
        pending
            .iter()
            .all(|r| r["current"] == true && r["rule"] == "expiry")
    );

    // The same event again changes nothing; earlier, then later, moves both.
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-03-10T23:30:00+03:00"}}),
    )
    .await;
    for (target, want) in [
        (
            "2027-03-05T12:00:00Z",
            ["2027-02-26T12:00:00Z", "2027-03-04T12:00:00Z"],
        ),
        (
            "2027-03-20T12:00:00Z",
            ["2027-03-13T12:00:00Z", "2027-03-19T12:00:00Z"],
        ),
    ] {
        let moved = event(
            &app,
            json!({"type": "user.password_set",
            "payload": {"user_id": "u1", "expires_at": target}}),
        )
        .await;
        let note = json_of(&app, &format!("/events/{}", moved["id"].as_str().unwrap())).await;
        assert_eq!(note["rules"][0]["note"], "moved -7d, -1d", "{note:#}");
        let all = reminders(&app, "subject=u1").await;
        assert_eq!(all.len(), 2, "moved in place: {all:#?}");
        let times: Vec<_> = all.iter().map(|r| iso(at(r, "send_at"))).collect();
        assert_eq!(times, want.map(|w| iso(w.parse().unwrap())));
        assert!(all.iter().all(|r| r["status"] == "pending"
            && at(r, "target") == target.parse::<DateTime<Utc>>().unwrap()));
    }
    // Another subject is its own.
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u2", "expires_at": "2027-04-01"}}),
    )
    .await;
    assert_eq!(reminders(&app, "status=pending").await.len(), 4);

    // The subject changed its password: its reminders are cancelled, u2's are not.
    let done = event(
        &app,
        json!({"type": "user.password_changed", "payload": {"user_id": "u1"}}),
    )
    .await;
    let cancelled = reminders(&app, "subject=u1&status=cancelled").await;
    assert_eq!(cancelled.len(), 2, "{cancelled:#?}");
    assert!(cancelled.iter().all(
        |r| r["reason"] == "cancelled by a user.password_changed event"
            && r["source_event_id"] == done["id"]
    ));
    assert_eq!(reminders(&app, "subject=u2&status=pending").await.len(), 2);
    // The reminder events' deliveries are cancelled too.
    let reminder_event = cancelled[0]["event_id"].as_str().unwrap();
    let e = json_of(&app, &format!("/events/{reminder_event}")).await;
    assert_eq!(
        (e["type"].as_str(), e["status"].as_str()),
        (Some("reminder.expiry"), Some("cancelled"))
    );
    let rules = json_of(&app, "/rules").await;
    assert_eq!(
        (
            rules["rules"][0]["pending"].as_i64(),
            rules["rules"][0]["sent"].as_i64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(
        rules["rules"][0]["next_reminder_at"],
        json!("2027-03-25T06:00:00Z"),
        "09:00 in Istanbul"
    );
    assert!(received(&app).is_empty(), "nothing is due yet");
}

both_stores!(a_target_that_is_gone_cancels_and_one_that_is_not_a_date_says_why);
async fn a_target_that_is_gone_cancels_and_one_that_is_not_a_date_says_why(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    let mut body = expiry(&["-1d"]);
    body["filter"] = json!({"path": "$.active", "op": "eq", "value": true});
    rule(&app, body).await;
    let post = |payload: Value| {
        let app = &app;
        async move {
            let e = event(
                app,
                json!({"type": "user.password_set", "payload": payload}),
            )
            .await;
            json_of(app, &format!("/events/{}", e["id"].as_str().unwrap())).await["rules"][0]["note"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let pending = || async { reminders(&app, "status=pending").await.len() };
    post(json!({"user_id": "u1", "expires_at": "2027-01-10", "active": true})).await;
    assert_eq!(pending().await, 1);
    // Not a date: stored, nothing scheduled, and what was pending stays.
    let note = post(json!({"user_id": "u1", "expires_at": "next week", "active": true})).await;
    assert!(note.contains("'next week' is not a date"), "{note}");
    assert_eq!(pending().await, 1);
    // No subject: nothing to do.
    let note = post(json!({"expires_at": "2027-01-10", "active": true})).await;
    assert!(
        note.contains("subject $.user_id is not in the payload"),
        "{note}"
    );
    // The filter no longer matches: cancelled.
    let note = post(json!({"user_id": "u1", "expires_at": "2027-01-10", "active": false})).await;
    assert!(
        note.starts_with("the filter does not match: cancelled -1d"),
        "{note}"
    );
    assert_eq!(pending().await, 0);
    // Scheduled again, then the target removed: cancelled.
    post(json!({"user_id": "u1", "expires_at": "2027-01-10", "active": true})).await;
    assert_eq!(pending().await, 1);
    let note = post(json!({"user_id": "u1", "active": true})).await;
    assert!(
        note.starts_with("the event has no target: cancelled -1d"),
        "{note}"
    );
    assert_eq!(pending().await, 0);
    let all = reminders(&app, "").await;
    assert_eq!(all.len(), 1, "one row per target date: {all:#?}");
}

both_stores!(reminders_go_out_at_their_time_and_once);
async fn reminders_go_out_at_their_time_and_once(backend: Backend) {
    // A fallback poll far longer than the test: the dispatcher must wake for the reminders.
    let app = spawn_app_on(
        backend,
        &[
            ("ENDPOINT_ALLOWED_NETWORKS", "127.0.0.0/8"),
            ("DISPATCH_MODE", "continuous"),
            ("SCHEDULER_INTERVAL", "60s"),
        ],
    )
    .await;
    notify(&app).await;
    rule(&app, expiry(&["-2s", "0s"])).await;
    let (wall, clock) = (Utc::now(), Instant::now());
    let target = wall + chrono::Duration::seconds(4);
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": iso(target), "email": "a@example.com"}}),
    )
    .await;
    wait_until(
        "both reminders received",
        Duration::from_secs(20),
        || async { received(&app).len() >= 2 },
    )
    .await;
    let got = received(&app);
    for (body, arrived) in &got {
        let offset = body["reminder"]["offset"].as_str().unwrap();
        let due = target
            + if offset == "-2s" {
                chrono::Duration::seconds(-2)
            } else {
                chrono::Duration::zero()
            };
        let arrived = wall + chrono::Duration::from_std(arrived.duration_since(clock)).unwrap();
        assert!(
            arrived >= due - chrono::Duration::milliseconds(50),
            "{offset} came at {arrived}, due {due}"
        );
        assert!(
            arrived < due + chrono::Duration::seconds(3),
            "{offset} came at {arrived}, due {due}"
        );
        assert_eq!(body["email"], "a@example.com");
        assert_eq!(body["reminder"]["subject"], "u1");
    }
    wait_until("both recorded sent", Duration::from_secs(10), || async {
        reminders(&app, "status=sent").await.len() == 2
    })
    .await;
    // The same event again: they were sent for this target, so not again.
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": iso(target)}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received(&app).len(), 2);
    assert_eq!(reminders(&app, "").await.len(), 2);
}

both_stores!(a_reminder_already_sent_is_sent_again_only_for_a_new_date);
async fn a_reminder_already_sent_is_sent_again_only_for_a_new_date(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    rule(&app, expiry(&["-58s", "0s"])).await;
    let first = Utc::now() + chrono::Duration::seconds(60);
    let post = |target: DateTime<Utc>| {
        let app = &app;
        async move {
            event(
                app,
                json!({"type": "user.password_set",
                "payload": {"user_id": "u1", "expires_at": iso(target)}}),
            )
            .await;
        }
    };
    post(first).await;
    wait_until("-58s sent", Duration::from_secs(15), || async {
        reminders(&app, "status=sent").await.len() == 1
    })
    .await;
    // The date moves: -58s falls due again for it (a new reminder), 0s moves.
    let second = first + chrono::Duration::seconds(3600);
    post(second).await;
    let all = reminders(&app, "").await;
    let rows = |offset: &str| {
        all.iter()
            .filter(|r| r["offset"] == offset)
            .cloned()
            .collect::<Vec<_>>()
    };
    let early = rows("-58s");
    assert_eq!(early.len(), 2, "{all:#?}");
    assert_eq!(
        (early[0]["status"].as_str(), early[0]["current"].as_bool()),
        (Some("sent"), Some(false))
    );
    assert_eq!(
        (early[1]["status"].as_str(), early[1]["current"].as_bool()),
        (Some("pending"), Some(true))
    );
    assert_eq!(
        iso(at(&early[1], "send_at")),
        iso(second - chrono::Duration::seconds(58))
    );
    let last = rows("0s");
    assert_eq!(last.len(), 1);
    assert_eq!(iso(at(&last[0], "send_at")), iso(second));
    // Back to the first date: -58s was sent for it, so the new one is cancelled, not resent.
    post(first).await;
    let pending = reminders(&app, "status=pending").await;
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(pending[0]["offset"], "0s");
    assert_eq!(received(&app).len(), 1);
}
