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

    fn tolerance(self) -> Duration {
        self.interval() * self.burst.saturating_sub(1)
    }
}

/// What the limiter decided for one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// Held back until then: not an attempt, and the retry schedule does not move.
    Wait {
        until: DateTime<Utc>,
    },
}

/// The state of one endpoint's limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gcra {
    /// The theoretical arrival time; `None` before the first delivery.
    tat: Option<DateTime<Utc>>,
}

impl Gcra {
    /// Takes one delivery's slot at `now` if the rate allows it.
    pub fn take(&mut self, rate: Rate, now: DateTime<Utc>) -> Decision {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let earliest = tat - chrono_duration(rate.tolerance());
        if now < earliest {
            return Decision::Wait { until: earliest };
        }
        self.tat = Some(tat + chrono_duration(rate.interval()));
        Decision::Go
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
        for _ in 0..3 {
            assert_eq!(g.take(rate, t(0)), Decision::Go);
        }
        assert_eq!(g.take(rate, t(0)), Decision::Wait { until: t(100) });
        assert_eq!(g.take(rate, t(100)), Decision::Go);
        assert_eq!(g.take(rate, t(150)), Decision::Wait { until: t(200) });
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
            if g.take(rate, t(ms)) == Decision::Go {
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
        assert_eq!(g.take(rate, t(0)), Decision::Go);
        // Idle for a minute: two at once again, not sixty.
        assert_eq!(g.take(rate, t(60_000)), Decision::Go);
        assert_eq!(g.take(rate, t(60_000)), Decision::Go);
        assert_eq!(g.take(rate, t(60_000)), Decision::Wait { until: t(61_000) });
    }
}
