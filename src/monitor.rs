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
