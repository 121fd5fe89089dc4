//! Reminder times across daylight-saving changes, with bare dates, quiet hours and each
//! past-due policy, with `now` chosen by the test.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::json;

use super::*;
use crate::rules::offset::{Clock, Offset, Quiet};

fn zone(tz: &str) -> Zone {
    Zone {
        tz: tz.parse().unwrap(),
        quiet: None,
        at_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        past_due: PastDue::Skip,
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn o(s: &str) -> Offset {
    Offset::parse(s).unwrap()
}

const LONG_AGO: &str = "2000-01-01T00:00:00Z";

fn send(z: &Zone, target: &str, offset: &str) -> DateTime<Utc> {
    match z.when(t(target), &o(offset), t(LONG_AGO)) {
        Outcome::Send(at) => at,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_day_before_keeps_the_local_hour_across_the_spring_change() {
    // Berlin moves from +01:00 to +02:00 at 02:00 on Sunday 29 March 2026.
    let z = zone("Europe/Berlin");
    let target = "2026-03-30T09:00:00+02:00";
    assert_eq!(send(&z, target, "-1d"), t("2026-03-29T09:00:00+02:00"));
    assert_eq!(send(&z, target, "-2d"), t("2026-03-28T09:00:00+01:00"));
    // Exact hours do not: 48 h before is 08:00 local on the 28th.
    assert_eq!(send(&z, target, "-48h"), t("2026-03-28T08:00:00+01:00"));
}

#[test]
fn a_day_before_keeps_the_local_hour_across_the_autumn_change() {
    // Berlin moves from +02:00 to +01:00 at 03:00 on Sunday 25 October 2026.
    let z = zone("Europe/Berlin");
    let target = "2026-10-26T09:00:00+01:00";
    assert_eq!(send(&z, target, "-1d"), t("2026-10-25T09:00:00+01:00"));
    assert_eq!(send(&z, target, "-7d"), t("2026-10-19T09:00:00+02:00"));
    // That Sunday has 25 hours: 48 exact hours before is 10:00 local on the 24th.
    assert_eq!(send(&z, target, "-2d"), t("2026-10-24T09:00:00+02:00"));
    assert_eq!(send(&z, target, "-48h"), t("2026-10-24T10:00:00+02:00"));
}

#[test]
fn a_local_time_in_the_gap_moves_on_and_an_ambiguous_one_takes_the_first() {
    let z = zone("Europe/Berlin");
    // 02:30 does not exist on 29 March: it reads as 03:30 CEST.
    assert_eq!(
        send(&z, "2026-03-30T02:30:00+02:00", "-1d"),
        t("2026-03-29T03:30:00+02:00")
    );
    // 02:30 happens twice on 25 October: the first is CEST.
    assert_eq!(
        send(&z, "2026-10-26T02:30:00+01:00", "-1d"),
        t("2026-10-25T02:30:00+02:00")
    );
}

#[test]
fn a_bare_date_is_read_in_the_zone_at_the_time_of_day() {
    let mut z = zone("Europe/Istanbul");
    let target = z.target(&json!("2026-12-20")).unwrap();
    assert_eq!(target, t("2026-12-20T09:00:00+03:00"));
    z.at_time = NaiveTime::from_hms_opt(17, 30, 0).unwrap();
    assert_eq!(
        z.target(&json!("2026-12-20")).unwrap(),
        t("2026-12-20T14:30:00Z")
    );
    let berlin = zone("Europe/Berlin");
    let summer = berlin.target(&json!("2026-03-30")).unwrap();
    assert_eq!(summer, t("2026-03-30T07:00:00Z"));
    assert_eq!(
        send(&berlin, "2026-03-30T07:00:00Z", "-1d"),
        t("2026-03-29T07:00:00Z")
    );
    assert_eq!(
        send(&berlin, "2026-03-30T07:00:00Z", "-2d"),
        t("2026-03-28T08:00:00Z")
    );
}

#[test]
fn targets_that_are_not_dates_say_why() {
    let z = zone("UTC");
    for bad in [
        json!("next week"),
        json!("2026-13-01"),
        json!("2026-1-5"),
        json!(17),
        json!(null),
    ] {
        let e = z.target(&bad).unwrap_err();
        assert!(e.contains("is not a date"), "{bad}: {e}");
    }
    assert_eq!(
        z.target(&json!("2026-12-20T10:00:00+03:00")).unwrap(),
        t("2026-12-20T07:00:00Z")
    );
}

#[test]
fn quiet_hours_that_wrap_midnight_move_a_reminder_to_their_end() {
    let mut z = zone("Europe/Istanbul");
    let c = |s: &str| Clock::parse(s).unwrap();
    z.quiet = Some(Quiet::new(c("22:00"), c("08:00")).unwrap());
    // 23:30 local: to 08:00 the next morning.
    assert_eq!(
        send(&z, "2026-12-20T23:30:00+03:00", "0s"),
        t("2026-12-21T08:00:00+03:00")
    );
    // 03:00 local: to 08:00 the same morning.
    assert_eq!(
        send(&z, "2026-12-21T03:00:00+03:00", "0s"),
        t("2026-12-21T08:00:00+03:00")
    );
    // 08:00 and 21:59 are outside.
    assert_eq!(
        send(&z, "2026-12-21T08:00:00+03:00", "0s"),
        t("2026-12-21T08:00:00+03:00")
    );
    assert_eq!(
        send(&z, "2026-12-21T21:59:00+03:00", "0s"),
        t("2026-12-21T21:59:00+03:00")
    );
    // A day before a 23:00 target lands in the quiet hours too.
    assert_eq!(
        send(&z, "2026-12-21T23:00:00+03:00", "-1d"),
        t("2026-12-21T08:00:00+03:00")
    );
    // Hours that do not wrap.
    z.quiet = Some(Quiet::new(c("12:00"), c("14:00")).unwrap());
    assert_eq!(
        send(&z, "2026-12-21T12:15:00+03:00", "0s"),
        t("2026-12-21T14:00:00+03:00")
    );
}

#[test]
fn skip_drops_what_has_passed_and_keeps_what_is_due_now() {
    let z = zone("UTC");
    let now = t("2026-12-10T12:00:00Z");
    let target = t("2026-12-15T12:00:00Z");
    assert!(
        matches!(z.when(target, &o("-7d"), now), Outcome::Skip(why) if why.contains("past due"))
    );
    assert_eq!(z.when(target, &o("-5d"), now), Outcome::Send(now));
    assert_eq!(
        z.when(target, &o("-1d"), now),
        Outcome::Send(t("2026-12-14T12:00:00Z"))
    );
}

#[test]
fn send_now_sends_what_is_less_than_grace_late() {
    let mut z = zone("UTC");
    z.past_due = PastDue::SendNow {
        grace: chrono::Duration::hours(1),
    };
    let now = t("2026-12-10T12:00:00Z");
    let target = t("2026-12-11T12:00:00Z");
    // 30 minutes late: now.
    assert_eq!(z.when(target, &o("-1470m"), now), Outcome::Send(now));
    // Exactly an hour late is not less than grace.
    assert!(matches!(z.when(target, &o("-25h"), now), Outcome::Skip(why) if why.contains("grace")));
    assert!(matches!(z.when(target, &o("-2d"), now), Outcome::Skip(_)));
}

#[test]
fn send_now_inside_quiet_hours_waits_for_their_end() {
    let mut z = zone("UTC");
    let c = |s: &str| Clock::parse(s).unwrap();
    z.quiet = Some(Quiet::new(c("22:00"), c("08:00")).unwrap());
    z.past_due = PastDue::SendNow {
        grace: chrono::Duration::hours(3),
    };
    let now = t("2026-12-10T23:00:00Z");
    // Due at 21:00 (two hours late), and now is quiet: at 08:00.
    let target = t("2026-12-11T21:00:00Z");
    assert_eq!(
        z.when(target, &o("-1d"), now),
        Outcome::Send(t("2026-12-11T08:00:00Z"))
    );
}
