//! What one attempt's outcome tells the protection policies about its endpoint. The retry
//! policy decides about the delivery; these signals are about the receiver.

use std::time::Duration;

use crate::domain::{AttemptOutcome, ErrorClass};

/// An outcome, as the breaker, the adaptive rate and auto-disable see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A 2xx answer.
    Delivered,
    /// 429 or 503, or no answer in time: the receiver is overloaded. `retry_after` is its
    /// `Retry-After`, when it sent one.
    Congested { retry_after: Option<Duration> },
    /// A connection error, a transport error, or another 5xx: the receiver is failing.
    Failing,
    /// `410 Gone`: the receiver asks for no more deliveries (Standard Webhooks).
    Gone,
    /// Any other answer (3xx, other 4xx): the receiver works and refused this request, a bug on
    /// its side. It fails the delivery but says nothing against the endpoint's health.
    Refused,
    /// Herald could not build the request (bad template, bad header): nothing was sent.
    NotSent,
}

impl Signal {
    pub fn of(outcome: &AttemptOutcome) -> Self {
        match outcome {
            AttemptOutcome::Delivered { .. } => Self::Delivered,
            AttemptOutcome::Redirected { .. } => Self::Refused,
            AttemptOutcome::Rejected {
                status,
                retry_after,
                ..
            } => match status {
                429 | 503 => Self::Congested {
                    retry_after: *retry_after,
                },
                410 => Self::Gone,
                500..=599 => Self::Failing,
                _ => Self::Refused,
            },
            AttemptOutcome::Failed { class, .. } => match class {
                ErrorClass::Timeout => Self::Congested { retry_after: None },
                ErrorClass::Connect | ErrorClass::Transport => Self::Failing,
                ErrorClass::Request | ErrorClass::Template => Self::NotSent,
            },
        }
    }

    /// Counted against the endpoint by the breaker: connection errors, timeouts, 5xx and 429.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Congested { .. } | Self::Failing)
    }

    /// The receiver answered or was reached: it ends a run of consecutive failures.
    pub fn is_answer(self) -> bool {
        matches!(self, Self::Delivered | Self::Refused | Self::Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16, retry_after: Option<u64>) -> AttemptOutcome {
        AttemptOutcome::Rejected {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            excerpt: String::new(),
        }
    }

    fn failed(class: ErrorClass) -> AttemptOutcome {
        AttemptOutcome::Failed {
            class,
            detail: String::new(),
        }
    }

    #[test]
    fn overload_failure_and_receiver_bugs_are_told_apart() {
        assert_eq!(
            Signal::of(&rejected(429, Some(7))),
            Signal::Congested {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            Signal::of(&rejected(503, None)),
            Signal::Congested { retry_after: None }
        );
        assert_eq!(
            Signal::of(&failed(ErrorClass::Timeout)),
            Signal::Congested { retry_after: None }
        );
        assert_eq!(Signal::of(&rejected(500, None)), Signal::Failing);
        assert_eq!(Signal::of(&failed(ErrorClass::Connect)), Signal::Failing);
        assert_eq!(Signal::of(&rejected(410, None)), Signal::Gone);
        assert_eq!(Signal::of(&rejected(400, None)), Signal::Refused);
        assert_eq!(Signal::of(&rejected(404, None)), Signal::Refused);
        assert_eq!(Signal::of(&failed(ErrorClass::Template)), Signal::NotSent);
    }

    #[test]
    fn only_overload_and_failures_count_against_the_endpoint() {
        assert!(Signal::of(&rejected(429, None)).is_failure());
        assert!(Signal::of(&rejected(502, None)).is_failure());
        assert!(!Signal::of(&rejected(422, None)).is_failure());
        assert!(Signal::of(&rejected(422, None)).is_answer());
        assert!(!Signal::of(&failed(ErrorClass::Request)).is_failure());
        assert!(!Signal::of(&failed(ErrorClass::Request)).is_answer());
    }
}
