//! A rule's fields are checked one by one, and each error names its field.

use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

fn input(change: Value) -> RuleInput {
    let mut base = json!({"name": "expiry", "event_type": "user.password_set",
        "subject": "$.user_id", "target": "$.expires_at", "offsets": ["-7d", "-1d"],
        "endpoint": "default"});
    if let (Value::Object(b), Value::Object(c)) = (&mut base, change) {
        b.extend(c);
    }
    serde_json::from_value(base).unwrap()
}

fn error(change: Value) -> String {
    input(change).parse(Uuid::nil(), Uuid::nil()).unwrap_err()
}

#[test]
fn a_full_rule_parses() {
    let rule = input(json!({"timezone": "Europe/Istanbul", "quiet_hours": {"start": "22:00", "end": "08:00"},
        "at_time": "10:30", "past_due": "send_now", "grace": "2h", "cancel_on": ["user.password_changed"],
        "filter": {"path": "$.active", "op": "eq", "value": true},
        "template": {"kind": "mapping", "set": [{"src": "$.subject", "dest": "/user"}]}}))
    .parse(Uuid::nil(), Uuid::nil())
    .unwrap();
    assert_eq!(rule.offsets.len(), 2);
    assert_eq!(rule.zone.tz, chrono_tz::Europe::Istanbul);
    assert!(
        matches!(rule.zone.past_due, PastDue::SendNow { grace } if grace == chrono::Duration::hours(2))
    );
    assert_eq!(rule.cancel_on, vec!["user.password_changed"]);
}

#[test]
fn each_bad_field_is_named() {
    let cases = [
        (json!({"timezone": "Mars/Olympus"}), "timezone:"),
        (
            json!({"quiet_hours": {"start": "10pm", "end": "08:00"}}),
            "quiet_hours.start:",
        ),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "8:00"}}),
            "quiet_hours.end:",
        ),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "22:00"}}),
            "quiet_hours:",
        ),
        (
            json!({"offsets": ["1d","2d","3d","4d","5d","6d","7d","8d","9d","10d","11d"]}),
            "offsets: 1 to 10",
        ),
        (json!({"offsets": []}), "offsets: 1 to 10"),
        (json!({"offsets": ["soon"]}), "offsets:"),
        (json!({"offsets": ["-366d"]}), "365 days"),
        (json!({"offsets": ["-1d", "-1d"]}), "twice"),
        (json!({"target": "$.dates[*]"}), "target:"),
        (json!({"subject": "$..id"}), "subject:"),
        (json!({"subject": "user_id"}), "subject:"),
        (json!({"cancel_on": ["user.password_set"]}), "cancel_on:"),
        (json!({"name": "Expiry"}), "name:"),
        (json!({"past_due": "later"}), "past_due:"),
        (json!({"grace": "forever"}), "grace:"),
        (json!({"at_time": "9am"}), "at_time:"),
        (json!({"filter": {"path": "$.a", "op": "near"}}), "filter:"),
        (
            json!({"template": {"kind": "text", "body": "hi"}}),
            "template:",
        ),
        (json!({"event_type": ""}), "event_type:"),
    ];
    for (change, want) in cases {
        let e = error(change.clone());
        assert!(e.contains(want), "{change} -> {e}");
    }
}

#[test]
fn unknown_fields_are_refused() {
    let e =
        serde_json::from_value::<RuleInput>(json!({"name": "x", "offset": ["-1d"]})).unwrap_err();
    assert!(e.to_string().contains("unknown field `offset`"), "{e}");
    let e = serde_json::from_value::<RuleInput>(
        json!({"quiet_hours": {"start": "22:00", "end": "08:00", "tz": "UTC"}}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `tz`"), "{e}");
}

#[test]
fn a_patch_replaces_what_it_gives_and_null_clears() {
    let base = input(json!({"timezone": "Europe/Berlin", "grace": "2h"}));
    let patch: RuleInput = serde_json::from_value(json!({"offsets": ["-3d"]})).unwrap();
    let merged = patch.over(&base, &["timezone".into()]).unwrap();
    assert_eq!(merged.offsets, Some(vec!["-3d".to_owned()]));
    assert_eq!(merged.timezone, None);
    assert_eq!(merged.grace.as_deref(), Some("2h"));
    assert_eq!(merged.name.as_deref(), Some("expiry"));
}
