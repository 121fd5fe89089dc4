//! The adaptive rate's rules, driven by a hand-moved clock.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
}

const BUSY: Signal = Signal::Congested { retry_after: None };

fn successes(a: &mut Adaptive, n: u32) {
    for _ in 0..n {
        a.record(Signal::Delivered, t(0), 0.0);
    }
}

#[test]
fn overload_halves_the_rate_down_to_the_floor() {
    let mut a = Adaptive::new(AdaptiveRules::default(), Some(40.0));
    let mut seen = Vec::new();
    for i in 0..7 {
        a.record(BUSY, t(i * 1_000), 0.0);
        seen.push(a.effective().unwrap());
    }
    assert_eq!(seen, [20.0, 10.0, 5.0, 2.5, 1.25, 1.0, 1.0]);
}

#[test]
fn the_deliveries_in_flight_pushed_back_at_once_cut_it_once() {
    let mut a = Adaptive::new(AdaptiveRules::default(), Some(40.0));
    for ms in [0, 10, 200, 999] {
        a.record(BUSY, t(ms), 0.0);
    }
    assert_eq!(a.effective(), Some(20.0));
    a.record(BUSY, t(1_000), 0.0);
    assert_eq!(
        a.effective(),
        Some(10.0),
        "a second later it is a new signal"
    );
}

#[test]
fn runs_of_successes_raise_it_back_to_the_configured_rate() {
    let mut a = Adaptive::new(AdaptiveRules::default(), Some(40.0));
    a.record(BUSY, t(0), 0.0);
    a.record(BUSY, t(1_000), 0.0);
    assert_eq!(a.effective(), Some(10.0));
    successes(&mut a, 19);
    assert_eq!(a.effective(), Some(10.0), "not before a whole run");
    successes(&mut a, 1);
    assert_eq!(a.effective(), Some(14.0));
    successes(&mut a, 20 * 10);
    assert_eq!(a.effective(), Some(40.0), "never above the configured rate");
}

#[test]
fn without_a_configured_rate_the_limit_is_lifted_again() {
    let mut a = Adaptive::new(AdaptiveRules::default(), None);
    assert_eq!(a.effective(), None);
    // Sent at 100/s when the receiver pushed back.
    a.record(BUSY, t(0), 100.0);
    assert_eq!(a.effective(), Some(50.0));
    // Steps of 20 (a tenth of 200): 70, 90, …, 190, then lifted at 200.
    successes(&mut a, 20 * 7);
    assert_eq!(a.effective(), Some(190.0));
    successes(&mut a, 20);
    assert_eq!(a.effective(), None);
}

#[test]
fn a_failure_that_is_not_overload_leaves_the_rate_alone() {
    let mut a = Adaptive::new(AdaptiveRules::default(), Some(8.0));
    a.record(Signal::Failing, t(0), 0.0);
    a.record(Signal::Refused, t(0), 0.0);
    assert_eq!(a.effective(), Some(8.0));
}

#[test]
fn retry_after_pauses_the_endpoint_until_then_capped_at_an_hour() {
    let mut a = Adaptive::new(AdaptiveRules::default(), None);
    a.record(
        Signal::Congested {
            retry_after: Some(Duration::from_secs(30)),
        },
        t(0),
        10.0,
    );
    assert_eq!(a.paused(t(1_000)), Some(t(30_000)));
    assert_eq!(a.pause_reason, Some(PauseReason::RetryAfter));
    assert_eq!(a.paused(t(30_000)), None);
    // A shorter Retry-After does not shorten the pause in force.
    a.record(
        Signal::Congested {
            retry_after: Some(Duration::from_secs(5)),
        },
        t(2_000),
        10.0,
    );
    assert_eq!(a.paused(t(8_000)), Some(t(30_000)));
    a.record(
        Signal::Congested {
            retry_after: Some(Duration::from_secs(86_400)),
        },
        t(3_000),
        10.0,
    );
    assert_eq!(a.paused(t(3_000)), Some(t(3_603_000)));
}

#[test]
fn a_new_configured_rate_starts_from_there_and_keeps_the_pause() {
    let mut a = Adaptive::new(AdaptiveRules::default(), Some(10.0));
    a.record(
        Signal::Congested {
            retry_after: Some(Duration::from_secs(60)),
        },
        t(0),
        0.0,
    );
    assert_eq!(a.effective(), Some(5.0));
    a.reconfigure(Some(100.0));
    assert_eq!(a.effective(), Some(100.0));
    assert_eq!(a.paused(t(1)), Some(t(60_000)));
}
