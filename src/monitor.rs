//! What the running service knows about itself, shared by the actors (who report) and the
//! HTTP layer (which shows it in `/health`, `/stats` and `/metrics`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::metrics::Metrics;

/// Failures that start within this long of the last one logged are not logged again: after a
/// database restart, each pooled connection that was in use fails once, interleaved with
/// successes on new connections, and that flapping is one outage to a reader of the log.
const LOG_QUIET: Duration = Duration::from_secs(10);

/// A dependency's last known state. A failure is logged once, when it starts, with its cause;
/// the recovery is logged once too. Every failure still counts in the metrics and shows in
/// `/health` at once.
pub struct Dependency {
    name: &'static str,
    healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// When a failure was last logged, and whether its recovery is still to be logged.
    logged: Mutex<(Option<Instant>, bool)>,
}

impl Dependency {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            healthy: AtomicBool::new(true),
            last_error: Mutex::new(None),
            logged: Mutex::new((None, false)),
        }
    }

    pub fn failed(&self, cause: &dyn std::fmt::Display) {
        let text = cause.to_string();
        if self.healthy.swap(false, Ordering::SeqCst) {
            let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            if logged.0.is_none_or(|at| at.elapsed() >= LOG_QUIET) {
                tracing::error!(dependency = self.name, error = %text, "dependency failed");
                *logged = (Some(Instant::now()), true);
            } else {
                tracing::debug!(dependency = self.name, error = %text, "dependency failed again");
            }
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
    }

    pub fn succeeded(&self) {
        if !self.healthy.swap(true, Ordering::SeqCst) {
            let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            if std::mem::take(&mut logged.1) {
                tracing::info!(dependency = self.name, "dependency recovered");
            }
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
    last_progress: Mutex<Option<DateTime<Utc>>>,
    /// How long due work may wait with nothing claimed or finished before dispatch is stalled.
    pub stall_window: Duration,
}

impl Monitor {
    pub fn new(stall_window: Duration) -> Self {
        Self {
            metrics: Metrics::new(),
            database: Dependency::new("database"),
            cache: Dependency::new("cache"),
            webhook: Dependency::new("webhook"),
            last_tick: Mutex::new(None),
            last_progress: Mutex::new(None),
            stall_window,
        }
    }

    pub fn tick_finished(&self, at: DateTime<Utc>) {
        *self.last_tick.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    pub fn last_tick(&self) -> Option<DateTime<Utc>> {
        *self.last_tick.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A claim or a recorded outcome: dispatch is moving.
    pub fn progressed(&self, at: DateTime<Utc>) {
        *self.last_progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    pub fn last_progress(&self) -> Option<DateTime<Utc>> {
        *self.last_progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Nothing was claimed or finished within the stall window (counted from startup before the
    /// first claim). Dispatch is stalled only if, as well, due work has waited that long: the
    /// caller asks the store.
    pub fn is_idle_too_long(&self, now: DateTime<Utc>, started_at: DateTime<Utc>) -> bool {
        let window = chrono::Duration::from_std(self.stall_window).unwrap_or(chrono::Duration::MAX);
        let reference = self.last_progress().unwrap_or(started_at);
        now - reference > window
    }
}

impl crate::db::StoreObserver for Monitor {
    fn failed(&self, operation: crate::db::Op, error: &crate::db::StoreError) {
        self.metrics
            .store_errors
            .with_label_values(&[operation.as_str()])
            .inc();
        // Logged once when the failures start, with the cause chain.
        self.database.failed(&chain(error));
    }

    fn succeeded(&self) {
        self.database.succeeded();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_means_nothing_claimed_or_finished_within_the_window() {
        let monitor = Monitor::new(Duration::from_secs(240));
        let start = Utc::now();
        let at = |secs| start + chrono::Duration::seconds(secs);
        assert!(
            !monitor.is_idle_too_long(at(239), start),
            "counted from start"
        );
        assert!(monitor.is_idle_too_long(at(241), start));
        monitor.progressed(at(200));
        assert!(!monitor.is_idle_too_long(at(439), start));
        assert!(monitor.is_idle_too_long(at(441), start));
        // A tick that ends without claiming is not progress.
        monitor.tick_finished(at(430));
        assert!(monitor.is_idle_too_long(at(441), start));
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

/// Tells background loops (replays, retention) to end: set once at shutdown, checked before
/// every step, and waking any loop that is waiting.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: std::sync::atomic::AtomicBool,
    bell: tokio::sync::Notify,
}

impl Stop {
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.bell.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits `for_` (or until `also` rings); whether the loop should end.
    pub async fn wait(
        &self,
        for_: std::time::Duration,
        also: Option<&tokio::sync::Notify>,
    ) -> bool {
        let rung = async {
            match also {
                Some(bell) => bell.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.bell.notified() => {}
            _ = rung => {}
            _ = tokio::time::sleep(for_) => {}
        }
        self.is_stopped()
    }
}
