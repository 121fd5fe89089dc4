//! The result of one delivery attempt, as a value: the sender records it and the retry
//! policy decides on it, neither needs to know about HTTP clients.

use std::time::Duration;

/// Why an attempt produced no HTTP response (or an unusable one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// No answer within `WEBHOOK_TIMEOUT`.
    Timeout,
    /// The connection could not be made or was dropped.
    Connect,
    /// The request could not be built (bad URL, bad header value): retrying cannot help.
    Request,
    /// Anything else the HTTP client reported while talking to the webhook.
    Transport,
    /// The endpoint's template could not render this event's body: retrying cannot help.
    Template,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Request => "request",
            Self::Transport => "transport",
            Self::Template => "template",
        }
    }
}

/// How an attempt is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Success,
    Retryable,
    Permanent,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 3] = [Self::Success, Self::Retryable, Self::Permanent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
        }
    }
}

/// Everything one attempt tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Any 2xx. `message_id` is the webhook's id when its body carried one.
    Delivered {
        status: u16,
        message_id: Option<String>,
        excerpt: String,
    },
    /// A 3xx answer. Redirects are never followed: the content would not arrive (a 301/302/303
    /// turns a POST into a bodiless GET) and the credentials would go to another host.
    Redirected {
        status: u16,
        /// The `Location` header, when there was one.
        location: Option<String>,
    },
    /// Any other non-2xx answer.
    Rejected {
        status: u16,
        retry_after: Option<Duration>,
        excerpt: String,
    },
    /// No usable answer.
    Failed { class: ErrorClass, detail: String },
}

impl AttemptOutcome {
    /// 2xx succeeds; 408, 429, 5xx and transport failures are retryable; any other 4xx or
    /// 1xx/3xx, and a request that cannot be built, are permanent.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Delivered { .. } => OutcomeKind::Success,
            Self::Redirected { .. } => OutcomeKind::Permanent,
            Self::Rejected { status, .. } => match status {
                408 | 429 | 500..=599 => OutcomeKind::Retryable,
                _ => OutcomeKind::Permanent,
            },
            Self::Failed {
                class: ErrorClass::Request | ErrorClass::Template,
                ..
            } => OutcomeKind::Permanent,
            Self::Failed { .. } => OutcomeKind::Retryable,
        }
    }

    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Delivered { status, .. }
            | Self::Redirected { status, .. }
            | Self::Rejected { status, .. } => Some(*status),
            Self::Failed { .. } => None,
        }
    }

    pub fn error_class(&self) -> Option<ErrorClass> {
        match self {
            Self::Failed { class, .. } => Some(*class),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short excerpt of the answer, or the error's detail.
    pub fn excerpt(&self) -> &str {
        match self {
            Self::Delivered { excerpt, .. } | Self::Rejected { excerpt, .. } => excerpt,
            Self::Redirected { location, .. } => location.as_deref().unwrap_or_default(),
            Self::Failed { detail, .. } => detail,
        }
    }

    /// The error kept on the message when this attempt did not succeed.
    pub fn describe_error(&self) -> Option<String> {
        match self {
            Self::Delivered { .. } => None,
            Self::Redirected { status, location } => Some(format!(
                "HTTP {status}: redirect to {} not followed (the webhook URL must answer itself)",
                location.as_deref().unwrap_or("(no Location header)")
            )),
            Self::Rejected {
                status, excerpt, ..
            } if excerpt.is_empty() => Some(format!("HTTP {status}")),
            Self::Rejected {
                status, excerpt, ..
            } => Some(format!("HTTP {status}: {excerpt}")),
            Self::Failed { class, detail } => Some(format!("{}: {detail}", class.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> AttemptOutcome {
        AttemptOutcome::Rejected {
            status,
            retry_after: None,
            excerpt: String::new(),
        }
    }

    #[test]
    fn status_codes_are_classified_as_the_contract_says() {
        for s in [408, 429, 500, 502, 503, 599] {
            assert_eq!(rejected(s).kind(), OutcomeKind::Retryable, "{s}");
        }
        for s in [400, 401, 403, 404, 409, 410, 422, 301, 304] {
            assert_eq!(rejected(s).kind(), OutcomeKind::Permanent, "{s}");
        }
    }

    #[test]
    fn a_redirect_fails_at_once_and_names_where_it_pointed() {
        let moved = AttemptOutcome::Redirected {
            status: 302,
            location: Some("http://elsewhere.example/hook".into()),
        };
        assert_eq!(moved.kind(), OutcomeKind::Permanent);
        assert_eq!(moved.status_code(), Some(302));
        let error = moved.describe_error().unwrap();
        assert!(
            error.contains("302") && error.contains("http://elsewhere.example/hook"),
            "{error}"
        );
    }

    #[test]
    fn transport_failures_retry_but_unbuildable_requests_do_not() {
        let f = |class| AttemptOutcome::Failed {
            class,
            detail: "x".into(),
        };
        assert_eq!(f(ErrorClass::Timeout).kind(), OutcomeKind::Retryable);
        assert_eq!(f(ErrorClass::Connect).kind(), OutcomeKind::Retryable);
        assert_eq!(f(ErrorClass::Transport).kind(), OutcomeKind::Retryable);
        assert_eq!(f(ErrorClass::Request).kind(), OutcomeKind::Permanent);
    }
}
