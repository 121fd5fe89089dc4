//! How fast a replay enqueues: the size of its next batch and how long to wait before it, from
//! its rate cap, what it has enqueued since it (re)started, and how many of its deliveries are
//! still on their way. Pure: the job loop passes the clock and the counts in.

use std::time::Duration;

/// Events examined per batch, at most (one transaction each).
pub const BATCH: u32 = 500;
/// Deliveries of one job on their way at once, at most: a replay feeds the queue as the
/// endpoint drains it, and never piles up ahead of live traffic.
pub const WINDOW: u64 = 1_000;

/// The next step of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Examine up to this many events now.
    Go(u32),
    /// Wait this long, then ask again.
    Wait(Duration),
}

/// `rate`: events per second, if capped; `enqueued` since `elapsed` ago, when the job started
/// in this instance; `open`: its deliveries still pending or sending.
pub fn next(rate: Option<f64>, enqueued: u64, elapsed: Duration, open: u64) -> Step {
    if open >= WINDOW {
        return Step::Wait(Duration::from_millis(100));
    }
    let room = (WINDOW - open).min(u64::from(BATCH)) as u32;
    let Some(rate) = rate else {
        return Step::Go(room);
    };
    // The events the cap allows by now, one second's worth ahead at most.
    let allowed = (elapsed.as_secs_f64() * rate).floor() as u64 + rate.ceil().max(1.0) as u64;
    if enqueued < allowed {
        let n = (allowed - enqueued).min(u64::from(room)).max(1);
        return Step::Go(n as u32);
    }
    // When the next one is allowed.
    let due = (enqueued + 1) as f64 / rate - rate.ceil().max(1.0) / rate;
    let wait = (due - elapsed.as_secs_f64()).max(0.001);
    Step::Wait(Duration::from_secs_f64(wait.min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_cap_a_batch_fills_the_window_up_to_its_size() {
        assert_eq!(next(None, 0, Duration::ZERO, 0), Step::Go(BATCH));
        assert_eq!(next(None, 0, Duration::ZERO, 900), Step::Go(100));
        assert!(matches!(
            next(None, 0, Duration::ZERO, WINDOW),
            Step::Wait(_)
        ));
    }

    #[test]
    fn a_cap_allows_its_rate_over_any_stretch_of_time() {
        // 10 per second: 10 at once, then one more every 100 ms.
        assert_eq!(next(Some(10.0), 0, Duration::ZERO, 0), Step::Go(10));
        let Step::Wait(w) = next(Some(10.0), 10, Duration::ZERO, 10) else {
            panic!("the first second's worth is spent")
        };
        assert!((w.as_secs_f64() - 0.1).abs() < 1e-9, "{w:?}");
        assert_eq!(
            next(Some(10.0), 10, Duration::from_millis(100), 10),
            Step::Go(1)
        );
        assert_eq!(
            next(Some(10.0), 10, Duration::from_secs(2), 0),
            Step::Go(20)
        );
    }

    #[test]
    fn the_number_enqueued_never_runs_ahead_of_the_cap_by_more_than_a_second() {
        let rate = 7.5;
        let mut enqueued = 0u64;
        for ms in (0..10_000).step_by(10) {
            let elapsed = Duration::from_millis(ms);
            if let Step::Go(n) = next(Some(rate), enqueued, elapsed, 0) {
                enqueued += u64::from(n);
            }
            assert!(enqueued as f64 <= elapsed.as_secs_f64() * rate + rate.ceil());
        }
        assert!(enqueued as f64 >= 9.99 * rate);
    }

    #[test]
    fn a_slow_rate_still_makes_progress() {
        assert_eq!(next(Some(0.5), 0, Duration::ZERO, 0), Step::Go(1));
        let Step::Wait(w) = next(Some(0.5), 1, Duration::ZERO, 1) else {
            panic!("one is allowed at first")
        };
        assert!(w <= Duration::from_secs(1));
    }
}
