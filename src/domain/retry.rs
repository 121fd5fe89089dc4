//! The retry policy: a pure function from (attempt number, outcome, a random number) to the
//! [`Finish`] the store records. No clock, no I/O: the store adds the delay to its "now".

use std::time::Duration;

use super::outcome::{AttemptOutcome, OutcomeKind};

/// What an attempt does to its message: the one answer to "what next", recorded as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// Mark `sent`, keeping the webhook's own id when it gave one.
    Sent { message_id: Option<String> },
    /// Back to `pending`, due `after` from now (the database's now).
    Retry { after: Duration, error: String },
    /// Mark `failed`.
    Failed { error: String },
}

/// `schedule[i]` is the delay before attempt `i + 2`; so at most `schedule.len() + 1` attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    /// Each delay is multiplied by a factor in `[1 - jitter, 1 + jitter]`.
    jitter: f64,
    /// A `Retry-After` longer than this is clamped to it.
    retry_after_cap: Duration,
}

impl RetryPolicy {
    pub fn new(schedule: Vec<Duration>, jitter: f64, retry_after_cap: Duration) -> Self {
        Self {
            schedule,
            jitter: jitter.clamp(0.0, 1.0),
            retry_after_cap,
        }
    }

    pub fn max_attempts(&self) -> u32 {
        self.schedule.len() as u32 + 1
    }

    /// `attempt` is the number of the attempt that just ended (1 for the first).
    /// `unit` is a random number in `[0, 1)` that places the jitter.
    pub fn decide(&self, attempt: u32, outcome: &AttemptOutcome, unit: f64) -> Finish {
        let error = || outcome.describe_error().unwrap_or_default();
        match outcome {
            AttemptOutcome::Delivered { message_id, .. } => Finish::Sent {
                message_id: message_id.clone(),
            },
            _ if outcome.kind() != OutcomeKind::Retryable => Finish::Failed { error: error() },
            _ => {
                let Some(base) = self.schedule.get(attempt.saturating_sub(1) as usize) else {
                    return Finish::Failed { error: error() };
                };
                let factor = 1.0 - self.jitter + 2.0 * self.jitter * unit.clamp(0.0, 1.0);
                let jittered = base.mul_f64(factor);
                let asked = outcome
                    .retry_after()
                    .map(|d| d.min(self.retry_after_cap))
                    .unwrap_or_default();
                Finish::Retry {
                    after: jittered.max(asked),
                    error: error(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ErrorClass;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            vec![
                Duration::from_secs(10),
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(900),
            ],
            0.2,
            Duration::from_secs(3600),
        )
    }

    fn retry(secs: u64) -> Finish {
        Finish::Retry {
            after: Duration::from_secs(secs),
            error: "HTTP 503".into(),
        }
    }

    fn failed(error: &str) -> Finish {
        Finish::Failed {
            error: error.into(),
        }
    }

    fn server_error(retry_after: Option<Duration>) -> AttemptOutcome {
        AttemptOutcome::Rejected {
            status: 503,
            retry_after,
            excerpt: String::new(),
        }
    }

    #[test]
    fn delays_follow_the_schedule_with_jitter_bounds() {
        let p = policy();
        let out = server_error(None);
        assert_eq!(p.decide(1, &out, 0.0), retry(8));
        assert_eq!(p.decide(1, &out, 0.5), retry(10));
        assert_eq!(p.decide(2, &out, 1.0), retry(72));
        assert_eq!(p.decide(4, &out, 0.5), retry(900));
    }

    #[test]
    fn the_attempt_after_the_last_scheduled_one_gives_up() {
        let p = policy();
        assert_eq!(p.max_attempts(), 5);
        assert_eq!(p.decide(5, &server_error(None), 0.5), failed("HTTP 503"));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        let asked = server_error(Some(Duration::from_secs(120)));
        assert_eq!(p.decide(1, &asked, 0.5), retry(120));
        let greedy = server_error(Some(Duration::from_secs(86_400)));
        assert_eq!(p.decide(1, &greedy, 0.5), retry(3600));
        let endless = server_error(Some(Duration::MAX));
        assert_eq!(p.decide(1, &endless, 0.5), retry(3600));
        // A Retry-After shorter than the schedule does not make us retry sooner.
        let short = server_error(Some(Duration::from_secs(1)));
        assert_eq!(p.decide(2, &short, 0.5), retry(60));
    }

    #[test]
    fn success_and_permanent_errors_end_at_once() {
        let p = policy();
        let ok = AttemptOutcome::Delivered {
            status: 202,
            message_id: None,
            excerpt: String::new(),
        };
        assert_eq!(p.decide(1, &ok, 0.5), Finish::Sent { message_id: None });
        let bad = AttemptOutcome::Rejected {
            status: 400,
            retry_after: None,
            excerpt: String::new(),
        };
        assert_eq!(p.decide(1, &bad, 0.5), failed("HTTP 400"));
        let unbuildable = AttemptOutcome::Failed {
            class: ErrorClass::Request,
            detail: "bad header".into(),
        };
        assert_eq!(
            p.decide(1, &unbuildable, 0.5),
            failed("request: bad header")
        );
    }

    #[test]
    fn an_empty_schedule_means_a_single_attempt() {
        let p = RetryPolicy::new(vec![], 0.2, Duration::from_secs(1));
        assert_eq!(p.decide(1, &server_error(None), 0.5), failed("HTTP 503"));
    }
}
