//! The breaker's rules, driven by a hand-moved clock.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
}

const FAIL: Signal = Signal::Failing;
const OK: Signal = Signal::Delivered;

fn breaker() -> Breaker {
    Breaker::new(BreakerRules::default(), t(0))
}

#[test]
fn ten_consecutive_failures_open_it_and_an_answer_resets_the_run() {
    let mut b = breaker();
    for i in 0..9 {
        assert_eq!(b.record(FAIL, t(i * 4_000)), None);
    }
    // A 4xx answer is no failure and ends the run (and the old ones left the 30 s window).
    assert_eq!(b.record(Signal::Refused, t(36_000)), None);
    for i in 0..9 {
        assert_eq!(b.record(FAIL, t(40_000 + i * 4_000)), None, "failure {i}");
    }
    assert_eq!(b.record(FAIL, t(76_000)), Some(BreakerState::Open));
    assert_eq!(b.reason.as_deref(), Some("10 consecutive failures"));
    assert_eq!(b.until, Some(t(81_000)));
}

#[test]
fn seventy_percent_of_ten_attempts_in_thirty_seconds_open_it() {
    let mut b = breaker();
    let mut at = 0;
    // Alternating: never 10 in a row. 3 successes and 7 failures within 30 s trip it.
    for s in [OK, FAIL, FAIL, OK, FAIL, FAIL, OK, FAIL, FAIL] {
        assert_eq!(b.record(s, t(at)), None);
        at += 1_000;
    }
    assert_eq!(b.record(FAIL, t(at)), Some(BreakerState::Open));
    assert_eq!(b.reason.as_deref(), Some("7 of 10 attempts failed in 30 s"));
}

#[test]
fn the_window_forgets_attempts_older_than_thirty_seconds() {
    let mut b = breaker();
    for i in 0..6 {
        b.record(FAIL, t(i));
        b.record(OK, t(i));
    }
    // 40 s later: the 12 old attempts are gone; 9 of 9 new failures are under the minimum.
    for i in 0..9 {
        assert_eq!(b.record(FAIL, t(40_000 + i)), None);
    }
}

#[test]
fn open_defers_without_an_attempt_then_one_probe_closes_it() {
    let mut b = breaker();
    for i in 0..10 {
        b.record(FAIL, t(i));
    }
    assert_eq!(b.admit(t(100)), Admit::Defer { until: t(5_009) });
    assert_eq!(b.admit(t(5_009)), Admit::Probe);
    assert_eq!(b.state, BreakerState::HalfOpen);
    // One probe at a time: the others wait for its answer.
    assert!(matches!(b.admit(t(5_010)), Admit::Defer { .. }));
    assert_eq!(b.record(OK, t(5_200)), Some(BreakerState::Closed));
    assert_eq!(b.admit(t(5_201)), Admit::Go);
    assert_eq!(b.cooldown, Duration::from_secs(5));
}

#[test]
fn a_failed_probe_doubles_the_cool_down_up_to_five_minutes() {
    let mut b = breaker();
    for i in 0..10 {
        b.record(FAIL, t(i));
    }
    let mut now = 9;
    let mut lengths = Vec::new();
    for _ in 0..9 {
        let Some(until) = b.until else { panic!("open") };
        now = (until - t(0)).num_milliseconds();
        assert_eq!(b.admit(t(now)), Admit::Probe);
        assert_eq!(b.record(FAIL, t(now)), Some(BreakerState::Open));
        lengths.push(b.cooldown.as_secs());
    }
    assert_eq!(lengths, [10, 20, 40, 80, 160, 300, 300, 300, 300]);
    assert_eq!(b.reason.as_deref(), Some("the probe failed"));
    assert_eq!(b.until, Some(t(now + 300_000)));
}

#[test]
fn attempts_that_sent_nothing_are_not_counted() {
    let mut b = breaker();
    for i in 0..20 {
        assert_eq!(b.record(Signal::NotSent, t(i)), None);
    }
    assert_eq!(b.state, BreakerState::Closed);
}
