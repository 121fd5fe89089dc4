//! The JSON shapes of endpoints. A secret is shown only when an endpoint is created and by
//! `GET /endpoints/{id}/secret`; header values that look like credentials are masked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BreakerState, EndpointActivity, EndpointRow};

/// An endpoint, as lists and reads show it (without its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// `null`: every type.
    pub event_types: Option<Vec<String>>,
    /// `null`: any channel.
    pub channels: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub template: Option<Value>,
    /// Values of headers whose name suggests a credential are shown as `***`.
    pub headers: BTreeMap<String, String>,
    pub enabled: bool,
    pub description: Option<String>,
    /// Deliveries it may have in flight per instance.
    #[schema(example = 8)]
    pub max_in_flight: u32,
    /// Deliveries per second to it, across instances; `null`: no limit.
    pub rate_per_sec: Option<f64>,
    /// Deliveries allowed at once on top of the rate.
    pub burst: Option<u32>,
    /// Deliveries sharing this payload value go one at a time, in creation order.
    pub ordering_key: Option<String>,
    /// `skip` or `block`: what a key's head that fails for good does to the ones behind it.
    #[schema(example = "skip")]
    pub on_failure: &'static str,
    /// The rate in force now, after adaptive back-off (429, 503, timeouts); `null`: no limit.
    pub effective_rate: Option<f64>,
    /// No delivery starts before then (the receiver's `Retry-After`).
    pub paused_until: Option<DateTime<Utc>>,
    /// `retry_after`, while paused.
    pub pause_reason: Option<String>,
    pub breaker: BreakerView,
    /// When it was disabled by Herald (a `410 Gone`, or failing for `ENDPOINT_DISABLE_AFTER`).
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Whether deliveries are signed (`default` without `WEBHOOK_SECRET` is not).
    pub signed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Attempts in the last 15 minutes (in `GET /endpoints`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent: Option<EndpointActivity>,
}

/// The circuit breaker of an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakerView {
    /// `closed`, `open` (deliveries are deferred, no retry spent) or `half_open` (one probe).
    #[schema(example = "closed")]
    pub state: &'static str,
    /// When it entered this state; `null` if it never opened.
    pub since: Option<DateTime<Utc>>,
    /// Why it opened.
    pub reason: Option<String>,
    /// Open: when the cool-down ends and a probe goes.
    pub until: Option<DateTime<Utc>>,
}

/// What `POST /endpoints` answers: the endpoint and its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCreated {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`: the key receivers verify signatures with.
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSecret {
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
    pub count: usize,
}

/// What `POST /endpoints/{id}/test` takes: an event to explain, not stored, not sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "order.created", "payload": {"total": 120}}))]
pub struct TestEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub channels: Option<Vec<String>>,
}

/// Whether the event would go to the endpoint, why, and the body it would receive.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Types, channels and filter all match (enabled or not).
    pub matched: bool,
    pub type_matched: bool,
    pub channels_matched: bool,
    /// One entry per filter clause: its path, op, the value found and the result.
    pub reasons: Vec<crate::routing::Reason>,
    /// The rendered body as text; `null` when the template failed.
    pub body: Option<String>,
    pub content_type: Option<String>,
    /// Why the template failed.
    pub error: Option<String>,
}

fn masked(name: &str) -> bool {
    [
        "auth",
        "key",
        "token",
        "secret",
        "password",
        "cookie",
        "signature",
    ]
    .iter()
    .any(|w| name.contains(w))
}

impl EndpointView {
    pub fn of(row: &EndpointRow) -> Self {
        let (p, st) = (&row.protection, &row.state);
        let paused = st.paused_until.filter(|u| *u > Utc::now());
        Self {
            id: row.id,
            name: row.name.clone(),
            url: row.url.clone(),
            event_types: row.event_types.clone(),
            channels: row.channels.clone(),
            filter: row.filter.clone(),
            template: row.template.clone(),
            headers: row
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), if masked(k) { "***".into() } else { v.clone() }))
                .collect(),
            enabled: row.enabled,
            description: row.description.clone(),
            max_in_flight: row.max_in_flight,
            rate_per_sec: p.rate_per_sec,
            burst: p.burst,
            ordering_key: p.ordering_key.clone(),
            on_failure: p.on_failure.as_str(),
            effective_rate: st.effective_rate.or(p.rate_per_sec),
            paused_until: paused,
            pause_reason: paused.and(st.pause_reason.clone()),
            breaker: BreakerView {
                state: st.breaker.state.as_str(),
                since: st.breaker.since,
                reason: st.breaker.reason.clone(),
                until: st
                    .breaker
                    .until
                    .filter(|_| st.breaker.state != BreakerState::Closed),
            },
            disabled_at: st.disabled_at,
            disabled_reason: st.disabled_reason.clone(),
            signed: row.secret.is_some(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            recent: None,
        }
    }
}
