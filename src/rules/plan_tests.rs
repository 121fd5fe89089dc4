//! A rule's actions for the events it sees, and its preview.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::rules::RuleInput;

fn rule(change: Value) -> Rule {
    let mut base = json!({"name": "expiry", "event_type": "user.password_set",
        "subject": "$.user_id", "target": "$.expires_at", "offsets": ["-7d", "-1d"],
        "endpoint": "default", "cancel_on": ["user.password_changed"]});
    if let (Value::Object(b), Value::Object(c)) = (&mut base, change) {
        b.extend(c);
    }
    serde_json::from_value::<RuleInput>(base)
        .unwrap()
        .parse(Uuid::from_u128(9), Uuid::from_u128(1))
        .unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn seen<'a>(event_type: &'a str, payload: &'a Value) -> Seen<'a> {
    Seen {
        id: Uuid::from_u128(5),
        event_type,
        payload,
        now: t("2026-12-01T00:00:00Z"),
        endpoint: Some("default".into()),
    }
}

#[test]
fn an_event_of_the_type_plans_one_reminder_per_offset_with_its_payload() {
    let payload =
        json!({"user_id": "u1", "expires_at": "2026-12-20T09:00:00Z", "email": "a@example.com"});
    let action = rule(json!({}))
        .wants(&seen("user.password_set", &payload))
        .unwrap();
    assert_eq!(action.subject.as_deref(), Some("u1"));
    let Some(Want::Remind { target, planned }) = action.want else {
        panic!("{action:?}")
    };
    assert_eq!(target, t("2026-12-20T09:00:00Z"));
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].outcome, Outcome::Send(t("2026-12-13T09:00:00Z")));
    let event = planned[1].event.as_ref().unwrap();
    assert_eq!(event.event_type, "reminder.expiry");
    assert_eq!(event.send_at, Some(t("2026-12-19T09:00:00Z")));
    assert_eq!(event.routes[0].endpoint_id, Uuid::from_u128(1));
    assert_eq!(event.payload["email"], "a@example.com");
    assert_eq!(
        event.payload["reminder"],
        json!({"rule": "expiry", "offset": "-1d", "target": "2026-12-20T09:00:00Z", "subject": "u1"})
    );
}

#[test]
fn a_template_reads_the_scope_and_makes_the_payload() {
    let r = rule(
        json!({"template": {"kind": "mapping", "base": {"kind": "reminder"}, "set": [
        {"src": "$.payload.email", "dest": "/to"}, {"src": "$.offset", "dest": "/when"},
        {"src": "$.event.type", "dest": "/because"}, {"src": "$.target", "dest": "/due"}]}}),
    );
    let payload =
        json!({"user_id": 7, "expires_at": "2026-12-20T09:00:00Z", "email": "a@example.com"});
    let previews = preview(&r, &payload, t("2026-12-01T00:00:00Z"), "default");
    assert_eq!(
        previews[0].body,
        Some(
            json!({"kind": "reminder", "to": "a@example.com", "when": "-7d",
                    "because": "user.password_set", "due": "2026-12-20T09:00:00Z"})
        )
    );
}

#[test]
fn cancel_on_cancels_the_subject_and_other_types_are_ignored() {
    let r = rule(json!({}));
    let payload = json!({"user_id": "u1"});
    let action = r.wants(&seen("user.password_changed", &payload)).unwrap();
    assert!(
        matches!(action.want, Some(Want::Cancel { reason }) if reason.contains("user.password_changed"))
    );
    assert!(r.wants(&seen("order.created", &payload)).is_none());
}

#[test]
fn what_cannot_be_scheduled_says_why() {
    let r = rule(json!({"filter": {"path": "$.active", "op": "eq", "value": true}}));
    let why = |payload: Value| {
        let a = r.wants(&seen("user.password_set", &payload)).unwrap();
        (a.want.is_some(), a.note.unwrap_or_default())
    };
    let (wants, note) = why(json!({"expires_at": "2026-12-20", "active": true}));
    assert!(
        !wants && note.contains("subject $.user_id is not in the payload"),
        "{note}"
    );
    let (wants, note) = why(json!({"user_id": "u1", "expires_at": "soon", "active": true}));
    assert!(
        !wants && note.contains("target $.expires_at: 'soon' is not a date"),
        "{note}"
    );
    // No target, or a filter that no longer matches: what is pending is cancelled.
    let (wants, note) = why(json!({"user_id": "u1", "active": true}));
    assert!(wants && note.contains("no target"), "{note}");
    let (wants, note) = why(json!({"user_id": "u1", "expires_at": "2026-12-20", "active": false}));
    assert!(wants && note.contains("filter"), "{note}");
}

#[test]
fn a_preview_shows_skipped_offsets_with_the_reason() {
    let r = rule(json!({"offsets": ["-30d", "-1d"]}));
    let payload = json!({"user_id": "u1", "expires_at": "2026-12-20"});
    let previews = preview(&r, &payload, t("2026-12-01T00:00:00Z"), "default");
    assert_eq!(previews[0].send_at, None);
    assert!(
        previews[0]
            .skipped_reason
            .as_deref()
            .unwrap()
            .contains("past due")
    );
    assert_eq!(previews[1].send_at, Some(t("2026-12-19T09:00:00Z")));
}

#[test]
fn a_disabled_rule_schedules_nothing_but_still_cancels() {
    let r = rule(json!({"enabled": false}));
    let payload = json!({"user_id": "u1", "expires_at": "2026-12-20"});
    assert!(r.wants(&seen("user.password_set", &payload)).is_none());
    assert!(r.wants(&seen("user.password_changed", &payload)).is_some());
}
