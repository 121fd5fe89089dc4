//! The breaker's rules, driven by a hand-moved clock.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
}

const FAIL: Signal = Signal::Failing;
const OK: Signal = Signal::Delivered;
const RULES: BreakerRules = BreakerRules {
    consecutive: 10,
    ratio: 0.7,
    min_attempts: 10,
    window: Duration::from_secs(30),
    cooldown: Duration::from_secs(5),
    cooldown_max: Duration::from_secs(300),
};

#[test]
fn ten_consecutive_failures_trip_it_and_an_answer_resets_the_run() {
    let mut trip = Trip::default();
    for i in 0..9 {
        assert_eq!(trip.record(&RULES, FAIL, t(i * 4_000)), None);
    }
    // A 4xx answer is no failure and ends the run (and the old ones left the 30 s window).
    assert_eq!(trip.record(&RULES, Signal::Refused, t(36_000)), None);
    for i in 0..9 {
        assert_eq!(
            trip.record(&RULES, FAIL, t(40_000 + i * 4_000)),
            None,
            "failure {i}"
        );
    }
    assert_eq!(
        trip.record(&RULES, FAIL, t(76_000)).as_deref(),
        Some("10 consecutive failures")
    );
    // Tripped: the count starts again.
    assert_eq!(trip.record(&RULES, FAIL, t(77_000)), None);
}

#[test]
fn seventy_percent_of_ten_attempts_in_thirty_seconds_trip_it() {
    let mut trip = Trip::default();
    let signals = [FAIL, FAIL, OK, FAIL, FAIL, OK, FAIL, FAIL, OK, FAIL];
    let mut reason = None;
    for (i, s) in signals.iter().enumerate() {
        reason = trip.record(&RULES, *s, t(i as i64 * 1_000));
        if i < 9 {
            assert_eq!(reason, None, "attempt {i}");
        }
    }
    assert_eq!(reason.as_deref(), Some("7 of 10 attempts failed in 30 s"));
}

#[test]
fn failures_spread_beyond_the_window_and_unsent_requests_do_not_trip_it() {
    let mut trip = Trip::default();
    for i in 0..40 {
        // Two failures then a success, every 4 s: 67 %, never 10 in a row.
        let s = if i % 3 == 2 { OK } else { FAIL };
        assert_eq!(trip.record(&RULES, s, t(i * 4_000)), None, "attempt {i}");
    }
    for i in 0..20 {
        assert_eq!(trip.record(&RULES, Signal::NotSent, t(200_000 + i)), None);
    }
    // 429 and timeouts count as failures; a 4xx does not.
    let mut trip = Trip::default();
    for i in 0..9 {
        let s = Signal::Congested { retry_after: None };
        assert_eq!(trip.record(&RULES, s, t(i)), None);
    }
    assert!(trip.record(&RULES, FAIL, t(10)).is_some());
}

#[test]
fn a_failed_probe_doubles_the_cool_down_up_to_the_cap_and_an_answer_closes_it() {
    let open = opened(t(0), "10 consecutive failures".into(), RULES.cooldown);
    assert_eq!(open.state, BreakerState::Open);
    assert_eq!(open.until, Some(t(5_000)));
    let again = after_probe(&open, &RULES, FAIL, t(6_000)).unwrap();
    assert_eq!(again.state, BreakerState::Open);
    assert_eq!(again.until, Some(t(16_000)), "10 s: twice 5 s");
    assert_eq!(
        again.reason.as_deref(),
        Some("10 consecutive failures; the probe failed")
    );
    let mut record = again;
    for _ in 0..10 {
        record = after_probe(&record, &RULES, FAIL, t(0)).unwrap();
    }
    assert_eq!(record.cooldown_ms, 300_000, "capped at 5 min");
    assert!(record.reason.as_deref().unwrap().matches("probe").count() == 1);
    let closed = after_probe(&record, &RULES, Signal::Refused, t(1)).unwrap();
    assert_eq!(closed.state, BreakerState::Closed);
    assert_eq!((closed.until, closed.reason), (None, None));
    assert_eq!(after_probe(&record, &RULES, Signal::NotSent, t(1)), None);
}
