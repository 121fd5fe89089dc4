//! Prometheus metrics, one registry per `Application` (no globals, so tests can run several).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::db::{Op, StatusCounts};
use crate::domain::{EventStatus, MessageStatus, OutcomeKind};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub messages: IntGaugeVec,
    pub oldest_due_age: prometheus::Gauge,
    pub deliveries: IntCounterVec,
    pub endpoint_deliveries: IntCounterVec,
    pub events: IntGaugeVec,
    pub delivery_latency: Histogram,
    pub webhook_duration: HistogramVec,
    pub claim_batch: Histogram,
    pub tick_duration: Histogram,
    pub cache_errors: IntCounter,
    pub store_errors: IntCounterVec,
    pub stale_finishes: IntCounter,
    pub produced: IntCounter,
    pub dispatch_active: IntGauge,
    /// Per endpoint: 0 closed, 1 half-open, 2 open.
    pub breaker_state: IntGaugeVec,
    /// Per endpoint: the rate in force (0: no limit).
    pub effective_rate: prometheus::GaugeVec,
    /// Deliveries held back without an attempt, by endpoint and reason.
    pub deferred: IntCounterVec,
    /// The shared rate limiter (Redis or PostgreSQL) could not be reached.
    pub limiter_errors: IntCounter,
    /// Deliveries stored already claimed by the request that created them, and sent without a
    /// claim (continuous dispatch).
    pub handed_off: IntCounter,
    /// Deliveries that replay jobs put back on their way.
    pub replayed: IntCounter,
    /// Rows deleted by retention, per table.
    pub pruned: IntCounterVec,
    /// Per event source: state, lag and entries.
    pub sources: crate::sources::SourceMetrics,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    // Names are static and distinct, so registration cannot collide.
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new_custom(Some("herald".into()), None).expect("valid prefix");
        let seconds = |name: &str, help: &str, buckets: Vec<f64>| {
            HistogramOpts::new(name, help).buckets(buckets)
        };
        let latency_buckets = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let e2e_buckets = vec![
            0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
        ];
        let metrics = Self {
            messages: register(
                &r,
                IntGaugeVec::new(Opts::new("messages", "Deliveries by status"), &["status"])
                    .unwrap(),
            ),
            oldest_due_age: register(
                &r,
                prometheus::Gauge::new(
                    "oldest_due_age_seconds",
                    "Age of the oldest due pending message",
                )
                .unwrap(),
            ),
            deliveries: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "deliveries_total",
                        "Delivery attempts by outcome (success, retryable, permanent)",
                    ),
                    &["outcome"],
                )
                .unwrap(),
            ),
            endpoint_deliveries: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "endpoint_deliveries_total",
                        "Delivery attempts by endpoint and outcome",
                    ),
                    &["endpoint", "outcome"],
                )
                .unwrap(),
            ),
            events: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("events", "Events by rolled-up status"),
                    &["status"],
                )
                .unwrap(),
            ),
            delivery_latency: register(
                &r,
                Histogram::with_opts(seconds(
                    "delivery_latency_seconds",
                    "From a message's creation to its successful delivery",
                    e2e_buckets,
                ))
                .unwrap(),
            ),
            webhook_duration: register(
                &r,
                HistogramVec::new(
                    seconds(
                        "webhook_request_duration_seconds",
                        "Webhook request duration",
                        latency_buckets.clone(),
                    ),
                    &["outcome"],
                )
                .unwrap(),
            ),
            claim_batch: register(
                &r,
                Histogram::with_opts(seconds(
                    "claim_batch_size",
                    "Messages claimed per scheduler tick",
                    vec![
                        0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
                    ],
                ))
                .unwrap(),
            ),
            tick_duration: register(
                &r,
                Histogram::with_opts(seconds(
                    "tick_duration_seconds",
                    "Scheduler tick duration",
                    latency_buckets,
                ))
                .unwrap(),
            ),
            cache_errors: register(
                &r,
                IntCounter::new("cache_errors_total", "Failed cache operations").unwrap(),
            ),
            store_errors: register(
                &r,
                IntCounterVec::new(
                    Opts::new("store_errors_total", "Failed database operations"),
                    &["operation"],
                )
                .unwrap(),
            ),
            stale_finishes: register(
                &r,
                IntCounter::new(
                    "stale_finishes_total",
                    "Outcomes dropped because the claim had been taken over",
                )
                .unwrap(),
            ),
            produced: register(
                &r,
                IntCounter::new("messages_produced_total", "Messages made by the producer")
                    .unwrap(),
            ),
            dispatch_active: register(
                &r,
                IntGauge::new("dispatch_active", "1 when dispatch is active").unwrap(),
            ),
            breaker_state: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "breaker_state",
                        "Circuit breaker: 0 closed, 1 half-open, 2 open",
                    ),
                    &["endpoint"],
                )
                .unwrap(),
            ),
            effective_rate: register(
                &r,
                prometheus::GaugeVec::new(
                    Opts::new(
                        "effective_rate",
                        "Deliveries per second in force (0: no limit)",
                    ),
                    &["endpoint"],
                )
                .unwrap(),
            ),
            deferred: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "deferred_total",
                        "Deliveries held back without an attempt (rate_limit, paused, breaker)",
                    ),
                    &["endpoint", "reason"],
                )
                .unwrap(),
            ),
            limiter_errors: register(
                &r,
                IntCounter::new(
                    "limiter_errors_total",
                    "Shared rate limiter failures (the delivery was limited in process)",
                )
                .unwrap(),
            ),
            handed_off: register(
                &r,
                IntCounter::new(
                    "handed_off_total",
                    "Deliveries sent straight from the request that stored them, without a claim",
                )
                .unwrap(),
            ),
            replayed: register(
                &r,
                IntCounter::new("replayed_total", "Deliveries enqueued by replay jobs").unwrap(),
            ),
            pruned: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "pruned_total",
                        "Rows deleted by retention (EVENT_RETENTION)",
                    ),
                    &["table"],
                )
                .unwrap(),
            ),
            sources: crate::sources::SourceMetrics::register(&r),
            registry: r,
        };
        metrics.initialise_labels();
        metrics
    }

    /// Every known label value starts at 0, so dashboards and alerts see each series from
    /// startup, not after its first event.
    fn initialise_labels(&self) {
        for kind in OutcomeKind::ALL {
            self.deliveries.with_label_values(&[kind.as_str()]);
            self.webhook_duration.with_label_values(&[kind.as_str()]);
        }
        for table in ["events", "deliveries", "attempts"] {
            self.pruned.with_label_values(&[table]);
        }
        for op in Op::ALL {
            self.store_errors.with_label_values(&[op.as_str()]);
        }
        for status in MessageStatus::ALL {
            self.messages.with_label_values(&[status.as_str()]);
        }
        for status in EventStatus::ALL {
            self.events.with_label_values(&[status.as_str()]);
        }
    }

    pub fn observe_counts(&self, counts: &StatusCounts) {
        for (status, n) in [
            ("pending", counts.pending),
            ("sending", counts.sending),
            ("sent", counts.sent),
            ("failed", counts.failed),
            ("cancelled", counts.cancelled),
        ] {
            self.messages.with_label_values(&[status]).set(n);
        }
        self.oldest_due_age.set(counts.oldest_due_age_seconds);
        let e = &counts.events;
        for (status, n) in [
            ("pending", e.pending),
            ("sent", e.sent),
            ("failed", e.failed),
            ("cancelled", e.cancelled),
            ("unrouted", e.unrouted),
        ] {
            self.events.with_label_values(&[status]).set(n);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_families_are_exposed_at_zero_before_any_event() {
        let text = Metrics::new().render();
        for line in [
            r#"herald_deliveries_total{outcome="success"} 0"#,
            r#"herald_deliveries_total{outcome="permanent"} 0"#,
            r#"herald_webhook_request_duration_seconds_count{outcome="retryable"} 0"#,
            r#"herald_store_errors_total{operation="claim"} 0"#,
            r#"herald_store_errors_total{operation="finish"} 0"#,
            r#"herald_messages{status="cancelled"} 0"#,
        ] {
            assert!(text.contains(line), "missing {line}");
        }
    }
}
