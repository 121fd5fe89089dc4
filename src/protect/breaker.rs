//! The circuit breaker of one endpoint, as pure functions of attempt signals and a clock.
//! [`Trip`] counts the failures of a closed breaker and says when it must open; [`opened`] and
//! [`after_probe`] give the record the store keeps. The store moves an open breaker whose
//! cool-down ended to half-open when it hands out the one probe (the endpoint's oldest due
//! delivery), so that only one instance probes.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Signal;
use crate::db::{BreakerRecord, BreakerState};

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

/// The failures a closed breaker has seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trip {
    consecutive: u32,
    /// `(when, failed)` of the attempts in the window, oldest first.
    recent: VecDeque<(DateTime<Utc>, bool)>,
}

impl Trip {
    /// Takes one attempt's signal; the reason to open when it trips the breaker (the count
    /// starts again from nothing then).
    pub fn record(
        &mut self,
        rules: &BreakerRules,
        signal: Signal,
        now: DateTime<Utc>,
    ) -> Option<String> {
        if signal == Signal::NotSent {
            return None;
        }
        let failed = signal.is_failure();
        self.recent.push_back((now, failed));
        let window = chrono::Duration::from_std(rules.window).unwrap_or_default();
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| *at <= now - window)
        {
            self.recent.pop_front();
        }
        if !failed {
            self.consecutive = 0;
            return None;
        }
        self.consecutive += 1;
        let attempts = self.recent.len() as u32;
        let failures = self.recent.iter().filter(|(_, f)| *f).count() as u32;
        let reason = if self.consecutive >= rules.consecutive {
            format!("{} consecutive failures", self.consecutive)
        } else if attempts >= rules.min_attempts
            && f64::from(failures) >= rules.ratio * f64::from(attempts)
        {
            format!(
                "{failures} of {attempts} attempts failed in {} s",
                rules.window.as_secs()
            )
        } else {
            return None;
        };
        *self = Self::default();
        Some(reason)
    }
}

/// The record of a breaker opened at `now` for `cooldown`.
pub fn opened(now: DateTime<Utc>, reason: String, cooldown: Duration) -> BreakerRecord {
    BreakerRecord {
        state: BreakerState::Open,
        since: Some(now),
        until: Some(now + chrono::Duration::from_std(cooldown).unwrap_or_default()),
        reason: Some(reason),
        cooldown_ms: cooldown.as_millis().min(i64::MAX as u128) as i64,
    }
}

/// What a half-open breaker's probe makes of it: closed after an answer, open again with twice
/// the cool-down after a failure; `None` when the probe says nothing (it was not sent).
pub fn after_probe(
    probed: &BreakerRecord,
    rules: &BreakerRules,
    signal: Signal,
    now: DateTime<Utc>,
) -> Option<BreakerRecord> {
    if signal.is_failure() {
        let last = Duration::from_millis(probed.cooldown_ms.max(0) as u64).max(rules.cooldown);
        let cooldown = (last * 2).min(rules.cooldown_max);
        let reason = probed.reason.clone().unwrap_or_default();
        let reason = match reason.split_once("; ") {
            Some((first, _)) => first.to_owned(),
            None => reason,
        };
        return Some(opened(now, format!("{reason}; the probe failed"), cooldown));
    }
    signal.is_answer().then(|| BreakerRecord {
        state: BreakerState::Closed,
        since: Some(now),
        ..BreakerRecord::default()
    })
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
