//! The reminders of one subject through a life: scheduled, moved earlier and later, moved after
//! one was sent, moved back, removed, cancelled, repeated; the store's two keys hold after every
//! step.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A store of rows that applies changes as the real ones do.
#[derive(Default)]
struct Rows(Vec<SlotRow>);

const RULE: Uuid = Uuid::from_u128(1);

impl Rows {
    fn apply(&mut self, want: &Want) -> Summary {
        let (changes, summary) = decide(self.0.clone(), want, Uuid::now_v7(), RULE, "u1");
        for change in changes {
            match change {
                Change::Write(row) => match self.0.iter_mut().find(|r| r.id == row.id) {
                    Some(old) => *old = row,
                    None => self.0.push(row),
                },
                Change::CancelEvent(e) => {
                    let row = self.0.iter_mut().find(|r| r.event_id == Some(e)).unwrap();
                    row.delivery = Some((MessageStatus::Cancelled, 0));
                }
                Change::AddEvent(_) | Change::MoveEvent { .. } => {}
            }
        }
        self.check_keys();
        summary
    }

    fn check_keys(&self) {
        for (i, a) in self.0.iter().enumerate() {
            for b in &self.0[i + 1..] {
                assert!(
                    !(a.offset == b.offset && a.target == b.target),
                    "two rows for one target: {:#?}",
                    self.0
                );
                assert!(
                    !(a.offset == b.offset && a.current && b.current),
                    "two current rows: {:#?}",
                    self.0
                );
            }
        }
    }

    fn sent(&mut self, offset: &str) {
        let row = self
            .0
            .iter_mut()
            .find(|r| r.offset == offset && r.live())
            .unwrap();
        row.delivery = Some((MessageStatus::Sent, 1));
    }

    fn live(&self) -> Vec<(String, DateTime<Utc>)> {
        let mut live: Vec<_> = self
            .0
            .iter()
            .filter(|r| r.live())
            .map(|r| (r.offset.clone(), r.send_at))
            .collect();
        live.sort();
        live
    }
}

fn remind(target: &str, offsets: &[(&str, i64)], now: &str) -> Want {
    let target = t(target);
    let planned = offsets
        .iter()
        .map(|(offset, hours)| {
            let at = target + Duration::hours(*hours);
            let outcome = if at >= t(now) {
                Outcome::Send(at)
            } else {
                Outcome::Skip("past due".into())
            };
            let event = matches!(outcome, Outcome::Send(_)).then(|| event(at));
            Planned {
                offset: (*offset).into(),
                at,
                outcome,
                event,
            }
        })
        .collect();
    Want::Remind { target, planned }
}

fn event(at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: "reminder.r".into(),
        payload: json!({"at": at}),
        channels: Vec::new(),
        send_at: Some(at),
        idempotency: None,
        routes: Vec::new(),
        hand_off: None,
        reminders: Vec::new(),
    }
}

const NOW: &str = "2026-12-01T00:00:00Z";
const OFFSETS: &[(&str, i64)] = &[("-2d", -48), ("-1d", -24)];

#[test]
fn a_first_event_schedules_each_offset_and_a_repeat_changes_nothing() {
    let mut rows = Rows::default();
    let s = rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    assert_eq!(s.scheduled, vec!["-2d", "-1d"]);
    for _ in 0..3 {
        let s = rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
        assert_eq!(s.unchanged, vec!["-2d", "-1d"], "{s:?}");
        assert!(s.scheduled.is_empty() && s.moved.is_empty());
    }
    assert_eq!(rows.0.len(), 2);
}

#[test]
fn a_moved_target_moves_the_pending_reminders_earlier_then_later() {
    let mut rows = Rows::default();
    rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    let s = rows.apply(&remind("2026-12-05T09:00:00Z", OFFSETS, NOW));
    assert_eq!(s.moved, vec!["-2d", "-1d"]);
    assert_eq!(
        rows.live(),
        vec![
            ("-1d".into(), t("2026-12-04T09:00:00Z")),
            ("-2d".into(), t("2026-12-03T09:00:00Z"))
        ]
    );
    rows.apply(&remind("2026-12-20T09:00:00Z", OFFSETS, NOW));
    assert_eq!(
        rows.live(),
        vec![
            ("-1d".into(), t("2026-12-19T09:00:00Z")),
            ("-2d".into(), t("2026-12-18T09:00:00Z"))
        ]
    );
    assert_eq!(rows.0.len(), 2, "moved in place, not copied");
}

#[test]
fn a_sent_reminder_is_sent_again_only_for_a_new_date() {
    let mut rows = Rows::default();
    rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    rows.sent("-2d");
    let s = rows.apply(&remind("2026-12-12T09:00:00Z", OFFSETS, NOW));
    assert_eq!(
        (s.scheduled.clone(), s.moved.clone()),
        (vec!["-2d".to_owned()], vec!["-1d".to_owned()])
    );
    assert_eq!(
        rows.live(),
        vec![
            ("-1d".into(), t("2026-12-11T09:00:00Z")),
            ("-2d".into(), t("2026-12-10T09:00:00Z"))
        ]
    );
    // Back to the first date: -2d was sent for it, so it is not sent again.
    let s = rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    assert_eq!(s.unchanged, vec!["-2d"]);
    assert_eq!(s.cancelled, vec!["-2d"]);
    assert_eq!(rows.live(), vec![("-1d".into(), t("2026-12-09T09:00:00Z"))]);
}

#[test]
fn a_removed_target_or_a_cancel_cancels_what_is_pending_and_a_new_date_schedules_again() {
    let mut rows = Rows::default();
    rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    rows.sent("-2d");
    let s = rows.apply(&Want::Cancel {
        reason: "the event has no target".into(),
    });
    assert_eq!(s.cancelled, vec!["-1d"]);
    assert!(rows.live().is_empty());
    // The same target again: -1d was never sent, so it is scheduled again; -2d was.
    let s = rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    assert_eq!(
        (s.scheduled, s.unchanged),
        (vec!["-1d".to_owned()], vec!["-2d".to_owned()])
    );
    assert_eq!(rows.live(), vec![("-1d".into(), t("2026-12-09T09:00:00Z"))]);
}

#[test]
fn past_due_offsets_are_skipped_and_a_later_date_can_schedule_them() {
    let mut rows = Rows::default();
    let s = rows.apply(&remind("2026-12-01T12:00:00Z", OFFSETS, NOW));
    assert_eq!(s.skipped.len(), 2);
    assert!(rows.live().is_empty());
    let s = rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    assert_eq!(s.scheduled, vec!["-2d", "-1d"]);
    // A pending one whose new time has passed is cancelled, and the new one is recorded skipped.
    let s = rows.apply(&remind("2026-12-01T20:00:00Z", OFFSETS, NOW));
    assert_eq!(s.cancelled, vec!["-2d", "-1d"]);
    assert!(rows.live().is_empty());
}

#[test]
fn an_offset_dropped_from_the_rule_is_cancelled() {
    let mut rows = Rows::default();
    rows.apply(&remind("2026-12-10T09:00:00Z", OFFSETS, NOW));
    let s = rows.apply(&remind("2026-12-10T09:00:00Z", &[("-1d", -24)], NOW));
    assert_eq!(s.cancelled, vec!["-2d"]);
    assert_eq!(rows.live(), vec![("-1d".into(), t("2026-12-09T09:00:00Z"))]);
}

#[test]
fn a_tried_reminder_is_not_moved() {
    let mut rows = Rows::default();
    rows.apply(&remind("2026-12-10T09:00:00Z", &[("0s", 0)], NOW));
    // One attempt failed and it waits for a retry: the receiver may have had it.
    rows.0[0].delivery = Some((MessageStatus::Pending, 1));
    let s = rows.apply(&remind("2026-12-11T09:00:00Z", &[("0s", 0)], NOW));
    assert_eq!(s.scheduled, vec!["0s"]);
    assert!(s.cancelled.is_empty());
    assert_eq!(rows.0.len(), 2);
}
