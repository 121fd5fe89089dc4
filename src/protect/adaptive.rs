//! The adaptive rate of one endpoint (AIMD): halved when the receiver says it is overloaded
//! (429, 503, a timeout), at most once a second, down to a floor; raised by a step after each run of successes, up to
//! the endpoint's `rate_per_sec`, or until the limit is lifted when none is set. `Retry-After`
//! pauses the whole endpoint. Pure: the clock and the observed rate are arguments.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Signal;

/// The tuning of the adaptive rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveRules {
    /// Never below this many deliveries per second.
    pub floor: f64,
    /// Successes in a row that raise the rate by one step.
    pub run: u32,
    /// The longest pause a `Retry-After` can ask for.
    pub max_pause: Duration,
    /// At most one cut per this long: the deliveries in flight when a receiver pushes back all
    /// say so at once, and that is one signal, not one per delivery.
    pub cut_gap: Duration,
}

impl Default for AdaptiveRules {
    fn default() -> Self {
        Self {
            floor: 1.0,
            run: 20,
            max_pause: Duration::from_secs(3600),
            cut_gap: Duration::from_secs(1),
        }
    }
}

/// Why an endpoint is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    RetryAfter,
}

impl PauseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetryAfter => "retry_after",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Adaptive {
    rules: AdaptiveRules,
    /// The endpoint's own `rate_per_sec`, if it has one.
    configured: Option<f64>,
    /// The rate in force; `None` is no limit.
    effective: Option<f64>,
    /// With no configured rate: the rate at the first cut, twice which the limit is lifted.
    lift_at: Option<f64>,
    successes: u32,
    /// When the rate was last cut.
    last_cut: Option<DateTime<Utc>>,
    pub paused_until: Option<DateTime<Utc>>,
    pub pause_reason: Option<PauseReason>,
}

impl Adaptive {
    pub fn new(rules: AdaptiveRules, configured: Option<f64>) -> Self {
        Self {
            rules,
            configured,
            effective: configured,
            lift_at: None,
            successes: 0,
            last_cut: None,
            paused_until: None,
            pause_reason: None,
        }
    }

    /// Resumes from a rate in force that was stored (after a restart, or by another instance).
    pub fn resumed(mut self, effective: Option<f64>) -> Self {
        if effective.is_some() {
            self.effective = effective;
        }
        self
    }

    /// The rate in force, in deliveries per second; `None` is no limit.
    pub fn effective(&self) -> Option<f64> {
        self.effective
    }

    /// A new configured rate (the endpoint was changed): it starts again from there.
    pub fn reconfigure(&mut self, configured: Option<f64>) {
        if configured != self.configured {
            *self = Self {
                paused_until: self.paused_until,
                pause_reason: self.pause_reason,
                ..Self::new(self.rules, configured)
            };
        }
    }

    /// The pause in force at `now`, if any.
    pub fn paused(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.paused_until.filter(|until| *until > now)
    }

    /// Takes one attempt's signal. `observed` is the rate the endpoint was being sent at
    /// lately, which a cut starts from when no limit was in force.
    pub fn record(&mut self, signal: Signal, now: DateTime<Utc>, observed: f64) {
        match signal {
            Signal::Congested { retry_after } => {
                self.successes = 0;
                let gap = chrono::Duration::from_std(self.rules.cut_gap).unwrap_or_default();
                if self.last_cut.is_none_or(|at| now - at >= gap) {
                    self.last_cut = Some(now);
                    let from = self.effective.unwrap_or(observed.max(self.rules.floor));
                    if self.configured.is_none() && self.lift_at.is_none() {
                        self.lift_at = Some(from);
                    }
                    self.effective = Some((from / 2.0).max(self.rules.floor));
                }
                if let Some(wait) = retry_after {
                    let wait = wait.min(self.rules.max_pause);
                    let until = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    if self.paused_until.is_none_or(|p| p < until) {
                        self.paused_until = Some(until);
                        self.pause_reason = Some(PauseReason::RetryAfter);
                    }
                }
            }
            Signal::Delivered => {
                self.successes += 1;
                if self.successes >= self.rules.run {
                    self.successes = 0;
                    self.raise();
                }
            }
            Signal::Failing | Signal::Gone | Signal::Refused | Signal::NotSent => {}
        }
        if self.paused_until.is_some_and(|p| p <= now) {
            self.paused_until = None;
            self.pause_reason = None;
        }
    }

    /// One additive step: a tenth of the ceiling (the configured rate, or the rate the limit
    /// is lifted at), at least the floor.
    fn raise(&mut self) {
        let Some(current) = self.effective else {
            return;
        };
        let ceiling = self.configured.or(self.lift_at.map(|r| r * 2.0));
        let step = ceiling
            .map_or(self.rules.floor, |c| c / 10.0)
            .max(self.rules.floor);
        let next = current + step;
        self.effective = match (self.configured, ceiling) {
            (Some(configured), _) => Some(next.min(configured)),
            (None, Some(lift)) if next >= lift => {
                self.lift_at = None;
                None
            }
            _ => Some(next),
        };
    }
}

#[cfg(test)]
#[path = "adaptive_tests.rs"]
mod tests;
