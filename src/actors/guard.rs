//! Guard: protects each endpoint's receiver on this instance. Before an attempt it says whether
//! the delivery may go now, later within its claim, or must be deferred (a pause, a breaker this
//! instance opened, the rate in force); after the attempt it takes the outcome's signal and moves
//! the adaptive rate, `Retry-After` pauses, the circuit breaker and the failing run (which can
//! disable the endpoint, as a `410` does at once). What every instance must see is written to
//! the endpoint's row; the counts behind it stay in process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::continuous::Wake;
use super::limiter::Limiter;
use crate::db::{BreakerState, Claim, EndpointRow, Op, Store};
use crate::domain::AttemptOutcome;
use crate::monitor::Monitor;
use crate::protect::{AdaptiveRules, BreakerRules, Decision, Rate, Signal};
use crate::routing::{Compiled, Endpoints};

/// The rules every endpoint is protected by.
#[derive(Debug, Clone)]
pub struct Rules {
    pub breaker: BreakerRules,
    pub adaptive: AdaptiveRules,
    pub disable_after: Duration,
    pub disable_min_gap: Duration,
}

/// What a delivery may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go at this time (now, or a slot of the rate limit within the claim's lease).
    GoAt(DateTime<Utc>),
    /// Not within this claim: hand it back, due at `until`, with no attempt spent.
    Defer {
        until: DateTime<Utc>,
        reason: &'static str,
    },
}

#[path = "guard_local.rs"]
mod local;
use local::{Local, Writes};

#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    endpoints: Endpoints,
    monitor: Arc<Monitor>,
    limiter: Limiter,
    rules: Rules,
    local: Mutex<HashMap<Uuid, Local>>,
    /// The endpoint that hears of disabled endpoints, and the wake-up for its event.
    ops: Option<(String, Wake)>,
}

impl Guard {
    pub fn new(
        store: Store,
        endpoints: Endpoints,
        monitor: Arc<Monitor>,
        limiter: Limiter,
        rules: Rules,
        ops: Option<(String, Wake)>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                endpoints,
                monitor,
                limiter,
                rules,
                local: Mutex::default(),
                ops,
            }),
        }
    }

    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    fn with<T>(&self, row: &EndpointRow, f: impl FnOnce(&mut Local) -> T) -> T {
        let mut local = self.inner.local.lock().unwrap_or_else(|p| p.into_inner());
        let l = local
            .entry(row.id)
            .or_insert_with(|| Local::new(&self.inner.rules, row));
        l.adaptive.reconfigure(row.protection.rate_per_sec);
        f(l)
    }

    /// Whether a delivery to `endpoint` may go within `horizon`, taking its slot of the rate.
    pub async fn admit(&self, endpoint: &Compiled, horizon: Duration) -> Admission {
        let now = Utc::now();
        let row = &endpoint.row;
        let (paused, open, rate) = self.with(row, |l| {
            let open = l.open_until.filter(|u| *u > now);
            (l.adaptive.paused(now), open, l.adaptive.effective())
        });
        if let Some(until) = paused {
            return Admission::Defer {
                until,
                reason: "paused",
            };
        }
        if let Some(until) = open {
            return Admission::Defer {
                until,
                reason: "breaker",
            };
        }
        let Some(per_sec) = rate else {
            return Admission::GoAt(now);
        };
        let rate = Rate {
            per_sec,
            burst: row.protection.burst.unwrap_or(1),
        };
        let inner = &self.inner;
        match inner
            .limiter
            .reserve(&inner.monitor, row.id, rate, horizon)
            .await
        {
            Decision::Go { at } => Admission::GoAt(at),
            Decision::Wait { until } => Admission::Defer {
                until,
                reason: "rate_limit",
            },
        }
    }

    /// Takes one attempt's outcome: the adaptive rate, a pause, the breaker, the failing run.
    pub async fn observe(&self, claim: &Claim, endpoint: &Compiled, outcome: &AttemptOutcome) {
        let signal = Signal::of(outcome);
        let now = Utc::now();
        let rules = &self.inner.rules;
        let writes = self.with(&endpoint.row, |l| {
            l.decide(rules, claim.probe, signal, now, outcome)
        });
        self.write(endpoint, signal, now, writes).await;
    }

    async fn write(&self, endpoint: &Compiled, signal: Signal, now: DateTime<Utc>, w: Writes) {
        let (id, name) = (endpoint.row.id, endpoint.row.name.clone());
        let metrics = &self.inner.monitor.metrics;
        if let Some(rate) = w.rate {
            metrics
                .effective_rate
                .with_label_values(&[&name])
                .set(rate.unwrap_or(0.0));
            tracing::info!(endpoint = %name, effective_rate = ?rate, "endpoint rate changed");
            self.run(move |s| s.set_effective_rate(id, rate)).await;
        }
        if let Some(until) = w.pause {
            tracing::info!(endpoint = %name, paused_until = %until, "endpoint paused (Retry-After)");
            self.run(move |s| s.pause_endpoint(id, until, "retry_after"))
                .await;
        }
        if let Some(reason) = w.open {
            let record = crate::protect::opened(now, reason, self.inner.rules.breaker.cooldown);
            self.move_breaker(&name, id, BreakerState::Closed, record)
                .await;
        }
        if w.probe {
            super::guard_breaker::probed(self, &name, id, signal, now).await;
        }
        if let Some(failing) = w.failing {
            let stored = self.run(move |s| s.mark_failing(id, failing)).await;
            if let Some(since) = stored {
                self.with(&endpoint.row, |l| l.failing = since);
            }
        }
        if let Some((reason, before)) = w.disable {
            super::guard_breaker::disable(self, id, reason, before).await;
        }
    }

    pub(super) async fn move_breaker(
        &self,
        name: &str,
        id: Uuid,
        from: BreakerState,
        record: crate::db::BreakerRecord,
    ) {
        let state = record.state;
        let reason = record.reason.clone();
        let moved = self
            .run(move |s| s.set_breaker(id, from, &record))
            .await
            .unwrap_or(false);
        if moved {
            self.inner
                .monitor
                .metrics
                .breaker_state
                .with_label_values(&[name])
                .set(state.gauge());
            tracing::warn!(endpoint = %name, breaker = state.as_str(), reason = ?reason,
                "endpoint breaker moved");
        }
    }

    /// Runs a protection write; a failure is logged (the store counts it) and the state is
    /// written again by the next attempt's signal.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn crate::db::Backend) -> Result<T, crate::db::StoreError> + Send + 'static,
    ) -> Option<T> {
        match self.inner.store.run(Op::Change, f).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %crate::monitor::chain(&e), "endpoint protection state not written");
                None
            }
        }
    }

    pub(super) fn parts(&self) -> (&Store, &Endpoints, &Rules, Option<&(String, Wake)>) {
        let i = &self.inner;
        (&i.store, &i.endpoints, &i.rules, i.ops.as_ref())
    }
}

pub(super) fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
