//! Rate limiting by GCRA (the generic cell rate algorithm): one timestamp per endpoint, the
//! theoretical arrival time of the next delivery. A delivery may go when that time is no more
//! than `burst - 1` intervals ahead of now; otherwise it is deferred to the moment it would be.
//! The same arithmetic runs in process here and, shared by several instances, in Redis.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A rate and the burst allowed on top of it, both at least 1 (checked at the edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: u32,
}

impl Rate {
    /// The time between two deliveries at this rate.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_sec)
    }

    pub fn tolerance(self) -> Duration {
        self.interval() * self.burst.saturating_sub(1)
    }
}

/// What the limiter decided for one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Its slot is taken: it goes at `at` (now, or within the horizon asked for).
    Go { at: DateTime<Utc> },
    /// Its slot is beyond the horizon, and not taken: defer it to `until`. It is not an
    /// attempt, and the retry schedule does not move.
    Wait { until: DateTime<Utc> },
}

/// The state of one endpoint's limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gcra {
    /// The theoretical arrival time; `None` before the first delivery.
    tat: Option<DateTime<Utc>>,
}

impl Gcra {
    /// Takes the next slot of `rate` if it comes by `now + horizon`: a delivery reserves its
    /// turn and waits for it, rather than every waiting delivery asking again.
    pub fn reserve(&mut self, rate: Rate, now: DateTime<Utc>, horizon: Duration) -> Decision {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let at = (tat - chrono_duration(rate.tolerance())).max(now);
        if at > now + chrono_duration(horizon) {
            return Decision::Wait { until: at };
        }
        self.tat = Some(tat + chrono_duration(rate.interval()));
        Decision::Go { at }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_burst_goes_at_once_then_one_per_interval() {
        let rate = Rate {
            per_sec: 10.0,
            burst: 3,
        };
        let mut g = Gcra::default();
        let now = Duration::ZERO;
        for _ in 0..3 {
            assert_eq!(g.reserve(rate, t(0), now), Decision::Go { at: t(0) });
        }
        assert_eq!(g.reserve(rate, t(0), now), Decision::Wait { until: t(100) });
        assert_eq!(g.reserve(rate, t(100), now), Decision::Go { at: t(100) });
        assert_eq!(
            g.reserve(rate, t(150), now),
            Decision::Wait { until: t(200) }
        );
        // Within a horizon, the next slots are reserved one after another.
        let soon = Duration::from_millis(250);
        assert_eq!(g.reserve(rate, t(150), soon), Decision::Go { at: t(200) });
        assert_eq!(g.reserve(rate, t(150), soon), Decision::Go { at: t(300) });
        assert_eq!(g.reserve(rate, t(150), soon), Decision::Go { at: t(400) });
        assert_eq!(
            g.reserve(rate, t(150), soon),
            Decision::Wait { until: t(500) }
        );
    }

    #[test]
    fn over_ten_seconds_the_count_is_the_rate_plus_the_burst() {
        let rate = Rate {
            per_sec: 50.0,
            burst: 5,
        };
        let mut g = Gcra::default();
        let mut went = 0;
        // Asked every millisecond for 10 s.
        for ms in 0..10_000 {
            if matches!(g.reserve(rate, t(ms), Duration::ZERO), Decision::Go { .. }) {
                went += 1;
            }
        }
        assert_eq!(went, 500 + 4);
    }

    #[test]
    fn an_idle_endpoint_gets_its_burst_back_but_no_more() {
        let rate = Rate {
            per_sec: 1.0,
            burst: 2,
        };
        let mut g = Gcra::default();
        let now = Duration::ZERO;
        assert_eq!(g.reserve(rate, t(0), now), Decision::Go { at: t(0) });
        // Idle for a minute: two at once again, not sixty.
        let go = Decision::Go { at: t(60_000) };
        assert_eq!(g.reserve(rate, t(60_000), now), go);
        assert_eq!(g.reserve(rate, t(60_000), now), go);
        assert_eq!(
            g.reserve(rate, t(60_000), now),
            Decision::Wait { until: t(61_000) }
        );
    }
}
