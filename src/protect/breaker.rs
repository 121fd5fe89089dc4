//! The circuit breaker of one endpoint: a state machine driven by attempt signals and an
//! injected clock. Closed, it lets everything through and counts failures; open, it defers
//! every delivery until its cool-down ends; half-open, it lets one probe through, whose result
//! closes it or opens it again with twice the cool-down.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Signal;

/// When the breaker opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerRules {
    /// Opens after this many failures in a row.
    pub consecutive: u32,
    /// …or when at least this share of the attempts in `window` failed,
    pub ratio: f64,
    /// …counting only once there were at least this many.
    pub min_attempts: u32,
    pub window: Duration,
    /// The first cool-down; each failed probe doubles it, up to `cooldown_max`.
    pub cooldown: Duration,
    pub cooldown_max: Duration,
}

impl Default for BreakerRules {
    fn default() -> Self {
        Self {
            consecutive: 10,
            ratio: 0.7,
            min_attempts: 10,
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(5),
            cooldown_max: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// What the breaker says about the next delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// Go, as the one probe of a half-open breaker.
    Probe,
    /// Not now: deferred to `until`, no attempt spent.
    Defer {
        until: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Breaker {
    pub state: BreakerState,
    pub since: DateTime<Utc>,
    pub reason: Option<String>,
    /// While open: when the cool-down ends.
    pub until: Option<DateTime<Utc>>,
    /// The length of the next cool-down.
    pub cooldown: Duration,
    rules: BreakerRules,
    consecutive: u32,
    /// `(when, failed)` of the attempts in the window, oldest first.
    recent: VecDeque<(DateTime<Utc>, bool)>,
    probing: bool,
}

/// How long a half-open breaker defers the others while its probe is out.
const PROBE_WAIT: Duration = Duration::from_secs(1);

impl Breaker {
    pub fn new(rules: BreakerRules, now: DateTime<Utc>) -> Self {
        Self {
            state: BreakerState::Closed,
            since: now,
            reason: None,
            until: None,
            cooldown: rules.cooldown,
            rules,
            consecutive: 0,
            recent: VecDeque::new(),
            probing: false,
        }
    }

    /// Whether a delivery may go now. Moves an open breaker whose cool-down ended to half-open
    /// and hands out its one probe.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Admit {
        match self.state {
            BreakerState::Closed => Admit::Go,
            BreakerState::Open => match self.until {
                Some(until) if now < until => Admit::Defer { until },
                _ => {
                    self.state = BreakerState::HalfOpen;
                    self.since = now;
                    self.until = None;
                    self.probing = true;
                    Admit::Probe
                }
            },
            BreakerState::HalfOpen if self.probing => Admit::Defer {
                until: now + PROBE_WAIT,
            },
            BreakerState::HalfOpen => {
                self.probing = true;
                Admit::Probe
            }
        }
    }

    /// Takes one attempt's signal; returns the new state when it changed.
    pub fn record(&mut self, signal: Signal, now: DateTime<Utc>) -> Option<BreakerState> {
        if signal == Signal::NotSent {
            return None;
        }
        let failed = signal.is_failure();
        match self.state {
            BreakerState::HalfOpen => {
                self.probing = false;
                if failed {
                    self.cooldown = (self.cooldown * 2).min(self.rules.cooldown_max);
                    self.open(now, "the probe failed".into());
                } else if signal.is_answer() {
                    self.close(now);
                }
                Some(self.state)
            }
            // An attempt that was already out when the breaker opened: nothing more to learn.
            BreakerState::Open => None,
            BreakerState::Closed => {
                self.remember(now, failed);
                if !failed {
                    self.consecutive = 0;
                    return None;
                }
                self.consecutive += 1;
                let reason = self.trips(now)?;
                self.open(now, reason);
                Some(self.state)
            }
        }
    }

    fn remember(&mut self, now: DateTime<Utc>, failed: bool) {
        self.recent.push_back((now, failed));
        let window = chrono::Duration::from_std(self.rules.window).unwrap_or_default();
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| *at <= now - window)
        {
            self.recent.pop_front();
        }
    }

    /// Why the breaker must open now, if it must.
    fn trips(&self, _now: DateTime<Utc>) -> Option<String> {
        if self.consecutive >= self.rules.consecutive {
            return Some(format!("{} consecutive failures", self.consecutive));
        }
        let attempts = self.recent.len() as u32;
        let failures = self.recent.iter().filter(|(_, f)| *f).count() as u32;
        (attempts >= self.rules.min_attempts
            && f64::from(failures) >= self.rules.ratio * f64::from(attempts))
        .then(|| {
            format!(
                "{failures} of {attempts} attempts failed in {} s",
                self.rules.window.as_secs()
            )
        })
    }

    fn open(&mut self, now: DateTime<Utc>, reason: String) {
        self.state = BreakerState::Open;
        self.since = now;
        self.until = Some(now + chrono::Duration::from_std(self.cooldown).unwrap_or_default());
        self.reason = Some(reason);
        self.consecutive = 0;
        self.recent.clear();
    }

    fn close(&mut self, now: DateTime<Utc>) {
        self.state = BreakerState::Closed;
        self.since = now;
        self.until = None;
        self.reason = None;
        self.cooldown = self.rules.cooldown;
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
