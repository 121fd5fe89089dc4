//! What protects one endpoint, as the store keeps it: the settings a user writes (a rate, an
//! ordering key) and the state the dispatchers write (the circuit breaker, a pause, the adaptive
//! rate, the start of a failing run, why it was disabled). Both live on the endpoint's row, so
//! every instance and a restart see them.

use chrono::{DateTime, Utc};

/// The settings of [`EndpointRow`](super::EndpointRow) that protect its receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protection {
    /// Deliveries per second, across instances; `None`: no limit.
    pub rate_per_sec: Option<f64>,
    /// Deliveries allowed at once on top of the rate (1 when absent).
    pub burst: Option<u32>,
    /// A singular path into the payload: deliveries that share its value go one at a time, in
    /// creation order.
    pub ordering_key: Option<String>,
    pub on_failure: OnFailure,
}

/// What the head of an ordering key does to its followers when it fails for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// It is failed and the next one goes.
    #[default]
    Skip,
    /// The key waits until the head is retried or cancelled.
    Block,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "skip" => Some(Self::Skip),
            "block" => Some(Self::Block),
            _ => None,
        }
    }
}

/// The circuit breaker's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BreakerState {
    #[default]
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

    pub fn parse(s: &str) -> Self {
        match s {
            "open" => Self::Open,
            "half_open" => Self::HalfOpen,
            _ => Self::Closed,
        }
    }

    /// `herald_breaker_state`: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// The breaker as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BreakerRecord {
    pub state: BreakerState,
    pub since: Option<DateTime<Utc>>,
    /// Open: when the cool-down ends. Half-open: when the probe's answer is due.
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The cool-down it last opened with, in milliseconds (0 before it first opened).
    pub cooldown_ms: i64,
}

/// What the dispatchers know about an endpoint's receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointState {
    pub breaker: BreakerRecord,
    /// No delivery starts before then (`Retry-After`).
    pub paused_until: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    /// The rate in force after adaptive back-off; `None`: the configured rate, or no limit.
    pub effective_rate: Option<f64>,
    /// The first failure of the current run of failures.
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}
