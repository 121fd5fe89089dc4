//! What the running service knows about itself, shared by the actors (who report) and the
//! HTTP layer (which shows it in `/health`, `/stats` and `/metrics`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::metrics::Metrics;

/// A dependency's last known state. A failure is logged once, when it starts, with its cause;
/// the recovery is logged once too. Every failure still counts in the metrics.
pub struct Dependency {
    name: &'static str,
    healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Dependency {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            healthy: AtomicBool::new(true),
            last_error: Mutex::new(None),
        }
    }

    pub fn failed(&self, cause: &dyn std::fmt::Display) {
        let text = cause.to_string();
        if self.healthy.swap(false, Ordering::SeqCst) {
            tracing::error!(dependency = self.name, error = %text, "dependency failed");
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
    }

    pub fn succeeded(&self) {
        if !self.healthy.swap(true, Ordering::SeqCst) {
            tracing::info!(dependency = self.name, "dependency recovered");
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// An error and its sources, `outer: inner: root`, for one log line or one health field.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub struct Monitor {
    pub metrics: Metrics,
    pub database: Dependency,
    pub cache: Dependency,
    pub webhook: Dependency,
    last_tick: Mutex<Option<DateTime<Utc>>>,
    pub scheduler_interval: Duration,
}

impl Monitor {
    pub fn new(scheduler_interval: Duration) -> Self {
        Self {
            metrics: Metrics::new(),
            database: Dependency::new("database"),
            cache: Dependency::new("cache"),
            webhook: Dependency::new("webhook"),
            last_tick: Mutex::new(None),
            scheduler_interval,
        }
    }

    pub fn tick_finished(&self, at: DateTime<Utc>) {
        *self.last_tick.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    pub fn last_tick(&self) -> Option<DateTime<Utc>> {
        *self.last_tick.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Active dispatch whose last finished tick is older than two intervals is stalled.
    pub fn is_stalled(&self, now: DateTime<Utc>, started_at: DateTime<Utc>) -> bool {
        let window = chrono::Duration::from_std(self.scheduler_interval * 2)
            .unwrap_or(chrono::Duration::MAX);
        let reference = self.last_tick().unwrap_or(started_at);
        now - reference > window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_is_stalled_when_no_tick_finished_within_two_intervals() {
        let monitor = Monitor::new(Duration::from_secs(120));
        let start = Utc::now();
        let at = |secs| start + chrono::Duration::seconds(secs);
        assert!(
            !monitor.is_stalled(at(239), start),
            "no tick yet, but within two intervals of start"
        );
        assert!(
            monitor.is_stalled(at(241), start),
            "no tick for more than two intervals"
        );
        monitor.tick_finished(at(200));
        assert!(!monitor.is_stalled(at(439), start));
        assert!(monitor.is_stalled(at(441), start));
    }

    #[test]
    fn a_dependency_remembers_its_last_error_until_it_recovers() {
        let cache = Dependency::new("cache");
        assert!(cache.is_healthy());
        cache.failed(&"connection refused");
        cache.failed(&"still refused");
        assert!(!cache.is_healthy());
        assert_eq!(cache.last_error().as_deref(), Some("still refused"));
        cache.succeeded();
        assert!(cache.is_healthy());
    }
}
