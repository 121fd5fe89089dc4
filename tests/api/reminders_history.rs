//! Reminders over time, on both stores: 50 copies of one event at once schedule each reminder
//! once; a user's DELETE holds; a restart keeps rules and reminders; deleting a rule cancels
//! what is pending and keeps the history; retention takes an old event's rule notes but keeps
//! its reminders, so a repeat of the event schedules nothing twice.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::reminders::{expiry, notify, reminders, rule};
use crate::routing::{ROUTING, event, json_of};
use crate::testdb::Backend as Kind;

both_stores!(retention_takes_the_old_event_and_keeps_its_reminders);
async fn retention_takes_the_old_event_and_keeps_its_reminders(backend: Backend) {
    let app = spawn_app_on(
        backend,
        &[
            ("ENDPOINT_ALLOWED_NETWORKS", "127.0.0.0/8"),
            ("DISPATCH_MODE", "continuous"),
            ("EVENT_RETENTION", "1h"),
            ("RETENTION_INTERVAL", "200ms"),
        ],
    )
    .await;
    notify(&app).await;
    rule(&app, expiry(&["-7d", "-1d"])).await;
    let payload = json!({"user_id": "u1", "expires_at": "2999-06-01T09:00:00Z"});
    let source = event(
        &app,
        json!({"type": "user.password_set", "payload": payload}),
    )
    .await;
    let source = source["id"].as_str().unwrap().to_owned();
    wait_until(
        "the event sent to default",
        Duration::from_secs(20),
        || async { json_of(&app, &format!("/events/{source}")).await["status"] == "sent" },
    )
    .await;
    assert_eq!(
        app.db
            .count_in("rule_notes", &format!("event_id = '{source}'")),
        1
    );
    let backdate = match app.db.backend {
        Kind::Postgres => format!(
            "UPDATE events SET created_at = now() - interval '2 hours' WHERE id = '{source}'"
        ),
        Kind::Sqlite => format!(
            "UPDATE events SET created_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) - 7200000 WHERE id = '{source}'"
        ),
    };
    assert_eq!(app.db.exec(&backdate).unwrap(), 1);
    wait_until(
        "the source event pruned",
        Duration::from_secs(20),
        || async {
            app.get(&format!("/events/{source}"))
                .await
                .status()
                .as_u16()
                == 404
        },
    )
    .await;
    assert_eq!(
        app.db
            .count_in("rule_notes", &format!("event_id = '{source}'")),
        0
    );
    let kept = reminders(&app, "status=pending").await;
    assert_eq!(kept.len(), 2, "{kept:#?}");
    // The same event again finds them: nothing new.
    event(
        &app,
        json!({"type": "user.password_set", "payload": payload}),
    )
    .await;
    assert_eq!(reminders(&app, "").await.len(), 2);
    assert_eq!(
        json_of(&app, "/events/count?type=reminder.expiry").await["count"],
        2
    );
}

both_stores!(fifty_copies_at_once_schedule_each_reminder_once);
async fn fifty_copies_at_once_schedule_each_reminder_once(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    rule(&app, expiry(&["-7d", "-1d", "0s"])).await;
    for (subject, keyed) in [("plain", false), ("keyed", true)] {
        let body = json!({"type": "user.password_set",
            "payload": {"user_id": subject, "expires_at": "2027-06-01T09:00:00Z"}});
        let posts = (0..50).map(|_| {
            let mut request = app.http.post(format!("{}/events", app.address)).json(&body);
            if keyed {
                request = request.header("Idempotency-Key", "one-password-set");
            }
            request.send()
        });
        let answers = futures_util::future::join_all(posts).await;
        let statuses: Vec<u16> = answers
            .iter()
            .map(|a| a.as_ref().unwrap().status().as_u16())
            .collect();
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 200),
            "{statuses:?}"
        );
        if keyed {
            assert_eq!(
                statuses.iter().filter(|s| **s == 201).count(),
                1,
                "{statuses:?}"
            );
        }
        let all = reminders(&app, &format!("subject={subject}")).await;
        assert_eq!(all.len(), 3, "{subject}: {all:#?}");
        assert!(all.iter().all(|r| r["status"] == "pending"), "{all:#?}");
    }
    let count = json_of(&app, "/events/count?type=reminder.expiry").await;
    assert_eq!(count["count"], 6);
}

both_stores!(deleting_a_rule_cancels_what_is_pending_and_a_restart_keeps_the_rest);
async fn deleting_a_rule_cancels_what_is_pending_and_a_restart_keeps_the_rest(backend: Backend) {
    let mut app = spawn_app_on(backend, ROUTING).await;
    notify(&app).await;
    rule(&app, expiry(&["-7d", "-1d"])).await;
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-06-01T09:00:00Z"}}),
    )
    .await;
    // A user cancels one reminder's delivery: it respects that, and a repeat does not revive it.
    let pending = reminders(&app, "status=pending").await;
    let one = pending[0]["event_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/events/{one}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(reminders(&app, "status=cancelled").await.len(), 1);
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-06-01T09:00:00Z"}}),
    )
    .await;
    assert_eq!(reminders(&app, "status=pending").await.len(), 1);

    // A restart: the rule and its reminders are there, and the next event moves them.
    app.shutdown().await;
    let app = spawn_on(app.db.share(), app.webhook.clone(), ROUTING).await;
    let rules = json_of(&app, "/rules").await;
    assert_eq!(
        (
            rules["count"].as_i64(),
            rules["rules"][0]["pending"].as_i64()
        ),
        (Some(1), Some(1))
    );
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-07-01T09:00:00Z"}}),
    )
    .await;
    let pending = reminders(&app, "status=pending").await;
    assert_eq!(
        pending.len(),
        2,
        "the moved one and the one a user cancelled, for the new date: {pending:#?}"
    );

    // Deleting the rule cancels them; the history stays on the events.
    let source = pending[0]["source_event_id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete("/rules/expiry").await.status().as_u16(), 204);
    assert_error(app.get("/rules/expiry").await, 404, "no rule").await;
    let detail = json_of(&app, &format!("/events/{source}")).await;
    let kept = detail["reminders"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "{detail:#}");
    assert!(
        kept.iter()
            .all(|r| r["status"] == "cancelled" && r["reason"] == "the rule was deleted")
    );
    // The name is free again, and the new rule starts from nothing.
    rule(&app, expiry(&["-1d"])).await;
    assert!(reminders(&app, "").await.is_empty());
}

both_stores!(a_failed_reminder_is_retried_like_any_delivery);
async fn a_failed_reminder_is_retried_like_any_delivery(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    // The receiver refuses the reminder once (400: failed at once), then takes it.
    let refused = std::sync::atomic::AtomicBool::new(false);
    app.webhook.rule(move |r, _| {
        let reminder = r.headers.get("x-to").map(String::as_str) == Some("notify");
        if reminder && !refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
            crate::receiver::Reply::status(400)
        } else {
            crate::receiver::Reply::accepted()
        }
    });
    notify(&app).await;
    rule(&app, expiry(&["0s"])).await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": due.to_rfc3339()}}),
    )
    .await;
    wait_until("the reminder failed", Duration::from_secs(15), || async {
        reminders(&app, "status=failed").await.len() == 1
    })
    .await;
    let failed = reminders(&app, "status=failed").await;
    let id = failed[0]["event_id"].as_str().unwrap();
    assert_eq!(
        app.post(&format!("/events/{id}/retry"))
            .await
            .status()
            .as_u16(),
        200
    );
    wait_until("the reminder sent", Duration::from_secs(15), || async {
        reminders(&app, "status=sent").await.len() == 1
    })
    .await;
    assert_eq!(reminders(&app, "").await.len(), 1, "retried, not copied");
}
