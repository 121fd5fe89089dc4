//! What one instance knows of one endpoint (its failures, its adaptive rate, its failing run),
//! and what one attempt's signal makes of it: the store writes the guard then makes.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Rules, chrono_of};
use crate::db::EndpointRow;
use crate::domain::AttemptOutcome;
use crate::protect::{Adaptive, Signal, Trip};

/// What this instance knows of one endpoint.
pub(super) struct Local {
    pub(super) trip: Trip,
    pub(super) adaptive: Adaptive,
    /// The start of the failing run, as last stored.
    pub(super) failing: Option<DateTime<Utc>>,
    /// This instance opened the breaker: until then its own deliveries wait.
    pub(super) open_until: Option<DateTime<Utc>>,
    /// Attempts in the current second, and the rate of the last one.
    pub(super) second: (Instant, u32),
    pub(super) observed: f64,
    /// `default`, the operator's own endpoint: it keeps the message contract as it was (each
    /// message retried on its own schedule, a `Retry-After` for that message only, a 410 fails
    /// that message). Only a rate its operator sets applies to it.
    pub(super) exempt: bool,
}

impl Local {
    pub(super) fn new(rules: &Rules, row: &EndpointRow) -> Self {
        Self {
            trip: Trip::default(),
            adaptive: Adaptive::new(rules.adaptive, row.protection.rate_per_sec)
                .resumed(row.state.effective_rate),
            failing: row.state.failing_since,
            open_until: None,
            second: (Instant::now(), 0),
            observed: 0.0,
            exempt: row.id == crate::db::DEFAULT_ENDPOINT_ID,
        }
    }

    pub(super) fn count(&mut self) {
        let elapsed = self.second.0.elapsed();
        if elapsed >= Duration::from_secs(1) {
            self.observed = f64::from(self.second.1) / elapsed.as_secs_f64();
            self.second = (Instant::now(), 0);
        }
        self.second.1 += 1;
    }
}

/// The store writes one attempt's signal calls for, decided under the lock, made after it.
#[derive(Default)]
pub(super) struct Writes {
    pub(super) rate: Option<Option<f64>>,
    pub(super) pause: Option<DateTime<Utc>>,
    pub(super) open: Option<String>,
    pub(super) probe: bool,
    pub(super) failing: Option<Option<DateTime<Utc>>>,
    pub(super) disable: Option<(String, Option<DateTime<Utc>>)>,
}

impl Local {
    /// What one attempt's signal changes, and the writes that tells the store.
    pub(super) fn decide(
        &mut self,
        rules: &Rules,
        probe: bool,
        signal: Signal,
        now: DateTime<Utc>,
        outcome: &AttemptOutcome,
    ) -> Writes {
        let mut w = Writes::default();
        self.count();
        if self.exempt {
            return w;
        }
        let (rate, paused) = (self.adaptive.effective(), self.adaptive.paused_until);
        let observed = self.observed();
        self.adaptive.record(signal, now, observed);
        if self.adaptive.effective() != rate {
            w.rate = Some(self.adaptive.effective());
        }
        if self.adaptive.paused_until != paused {
            w.pause = self.adaptive.paused_until;
        }
        if probe {
            w.probe = true;
        } else if let Some(reason) = self.trip.record(&rules.breaker, signal, now) {
            self.open_until = Some(now + chrono_of(rules.breaker.cooldown));
            w.open = Some(reason);
        }
        if signal == Signal::Gone {
            w.disable = Some(("the receiver answered 410 Gone".into(), None));
        } else if signal.is_failure() {
            match self.failing {
                None => w.failing = Some(Some(now)),
                Some(since) => {
                    let span = rules.disable_after.max(rules.disable_min_gap);
                    if since <= now - chrono_of(span) {
                        let reason = format!(
                            "failing since {} ({})",
                            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            outcome.describe_error().unwrap_or_default()
                        );
                        w.disable = Some((reason, Some(now - chrono_of(span))));
                    }
                }
            }
        }
        if signal.is_answer() && self.failing.is_some() {
            self.failing = None;
            w.failing = Some(None);
        }
        w
    }

    /// The rate this endpoint was being sent at lately: the last whole second, or the current
    /// one so far when it is busier (at least a tenth of a second of it).
    fn observed(&self) -> f64 {
        let elapsed = self.second.0.elapsed().max(Duration::from_millis(100));
        self.observed
            .max(f64::from(self.second.1) / elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ErrorClass;
    use crate::protect::{AdaptiveRules, BreakerRules};

    fn rules() -> Rules {
        Rules {
            breaker: BreakerRules::default(),
            adaptive: AdaptiveRules::default(),
            disable_after: Duration::from_secs(3600),
            disable_min_gap: Duration::from_secs(60),
        }
    }

    fn local(rate: Option<f64>) -> Local {
        let now = Utc::now();
        let row = EndpointRow {
            id: uuid::Uuid::new_v4(),
            name: "e".into(),
            url: "https://e.example.com".into(),
            event_types: None,
            channels: None,
            filter: None,
            template: None,
            headers: Default::default(),
            secret: None,
            enabled: true,
            description: None,
            max_in_flight: 8,
            protection: crate::db::Protection {
                rate_per_sec: rate,
                ..Default::default()
            },
            state: Default::default(),
            created_at: now,
            updated_at: now,
        };
        Local::new(&rules(), &row)
    }

    fn status(status: u16) -> AttemptOutcome {
        AttemptOutcome::Rejected {
            status,
            retry_after: None,
            excerpt: String::new(),
        }
    }

    #[test]
    fn a_410_disables_at_once_and_other_4xx_say_nothing() {
        let mut l = local(None);
        let w = l.decide(
            &rules(),
            false,
            Signal::of(&status(410)),
            Utc::now(),
            &status(410),
        );
        assert!(
            w.disable
                .is_some_and(|(why, before)| why.contains("410") && before.is_none())
        );
        let w = l.decide(
            &rules(),
            false,
            Signal::of(&status(422)),
            Utc::now(),
            &status(422),
        );
        assert!(w.disable.is_none() && w.open.is_none() && w.failing.is_none());
    }

    #[test]
    fn default_keeps_the_message_contract() {
        let (r, now) = (rules(), Utc::now());
        let mut l = local(Some(10.0));
        l.exempt = true;
        let w = l.decide(&r, false, Signal::of(&status(410)), now, &status(410));
        assert!(w.disable.is_none() && w.failing.is_none(), "never disabled");
        let busy = AttemptOutcome::Rejected {
            status: 429,
            retry_after: Some(Duration::from_secs(5)),
            excerpt: String::new(),
        };
        for _ in 0..20 {
            let w = l.decide(&r, false, Signal::of(&busy), now, &busy);
            assert!(w.open.is_none() && w.pause.is_none() && w.rate.is_none());
        }
        assert_eq!(l.adaptive.effective(), Some(10.0), "its own rate only");
    }

    #[test]
    fn a_failing_run_starts_once_disables_after_the_span_and_ends_with_an_answer() {
        let (r, now) = (rules(), Utc::now());
        let fail = AttemptOutcome::Failed {
            class: ErrorClass::Connect,
            detail: "refused".into(),
        };
        let mut l = local(None);
        let w = l.decide(&r, false, Signal::of(&fail), now, &fail);
        assert_eq!(w.failing, Some(Some(now)), "the run starts");
        l.failing = Some(now);
        let w = l.decide(
            &r,
            false,
            Signal::of(&fail),
            now + chrono::Duration::minutes(30),
            &fail,
        );
        assert!(
            w.failing.is_none() && w.disable.is_none(),
            "half an hour: not yet"
        );
        let later = now + chrono::Duration::minutes(61);
        let w = l.decide(&r, false, Signal::of(&fail), later, &fail);
        let (why, before) = w.disable.unwrap();
        assert!(
            why.starts_with("failing since") && why.contains("refused"),
            "{why}"
        );
        assert_eq!(before, Some(later - chrono::Duration::hours(1)));
        let ok = AttemptOutcome::Delivered {
            status: 200,
            message_id: None,
            excerpt: String::new(),
        };
        let w = l.decide(&r, false, Signal::Delivered, later, &ok);
        assert_eq!(w.failing, Some(None), "an answer ends it");
    }

    #[test]
    fn ten_failures_open_the_breaker_here_and_a_429_halves_the_configured_rate() {
        let (r, now) = (rules(), Utc::now());
        let mut l = local(Some(40.0));
        for i in 0..9 {
            let w = l.decide(&r, false, Signal::Failing, now, &status(500));
            assert!(w.open.is_none(), "failure {i}");
        }
        let w = l.decide(&r, false, Signal::Failing, now, &status(500));
        assert_eq!(w.open.as_deref(), Some("10 consecutive failures"));
        assert!(l.open_until.is_some_and(|u| u > now));
        let w = l.decide(&r, true, Signal::of(&status(429)), now, &status(429));
        assert!(
            w.probe && w.open.is_none(),
            "a probe's answer is the store's to apply"
        );
        assert_eq!(w.rate, Some(Some(20.0)));
    }
}
