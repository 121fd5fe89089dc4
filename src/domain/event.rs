//! Event values: the type (`order.created`), channels, endpoint names, and the rolled-up
//! status of an event. Each parses at the edge; an invalid value cannot exist past it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::message::{MessageStatus, ValidationError};

/// `[A-Za-z0-9._:-]{1,128}`, e.g. `order.created`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    /// The type of the events `/messages` creates.
    pub const MESSAGE: &'static str = "message";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        token(raw, 128, "type", true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A channel an event is published on and an endpoint listens to: `[A-Za-z0-9._:-]{1,64}`.
pub fn parse_channel(raw: &str) -> Result<String, ValidationError> {
    token(raw, 64, "a channel", true)
}

/// An endpoint's unique name: `[a-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EndpointName(String);

impl EndpointName {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        token(raw, 64, "name", false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn token(raw: &str, max: usize, what: &str, wide: bool) -> Result<String, ValidationError> {
    let allowed = |c: char| {
        if wide {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
        } else {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')
        }
    };
    let pattern = if wide {
        "[A-Za-z0-9._:-]"
    } else {
        "[a-z0-9_-]"
    };
    if raw.is_empty() || raw.len() > max || !raw.chars().all(allowed) {
        return Err(ValidationError(format!(
            "{what} must be 1 to {max} characters from {pattern}, got '{}'",
            raw.chars().take(140).collect::<String>()
        )));
    }
    Ok(raw.to_owned())
}

/// An event's status, rolled up from its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Some delivery is pending or sending.
    Pending,
    /// Every delivery that was not cancelled succeeded.
    Sent,
    /// None is pending, and at least one failed.
    Failed,
    /// Every delivery was cancelled.
    Cancelled,
    /// No endpoint matched when it was stored.
    Unrouted,
}

impl EventStatus {
    pub const ALL: [EventStatus; 5] = [
        Self::Pending,
        Self::Sent,
        Self::Failed,
        Self::Cancelled,
        Self::Unrouted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unrouted => "unrouted",
        }
    }

    /// The roll-up of delivery statuses (none: unrouted): the rule. Both stores keep it as a
    /// generated column over counters of open, failed and cancelled deliveries (see the routing
    /// migrations), which the store contract suite holds to this.
    pub fn roll_up(deliveries: impl IntoIterator<Item = MessageStatus>) -> Self {
        let (mut any, mut open, mut failed, mut all_cancelled) = (false, false, false, true);
        for status in deliveries {
            any = true;
            open |= matches!(status, MessageStatus::Pending | MessageStatus::Sending);
            failed |= status == MessageStatus::Failed;
            all_cancelled &= status == MessageStatus::Cancelled;
        }
        match () {
            _ if !any => Self::Unrouted,
            _ if open => Self::Pending,
            _ if all_cancelled => Self::Cancelled,
            _ if failed => Self::Failed,
            _ => Self::Sent,
        }
    }
}

impl FromStr for EventStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                ValidationError(format!(
                    "unknown status '{s}'; expected pending, sent, failed, cancelled or unrouted"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn status_rolls_up_from_deliveries() {
        assert_eq!(EventStatus::roll_up([]), EventStatus::Unrouted);
        assert_eq!(EventStatus::roll_up([Sent, Sending]), EventStatus::Pending);
        assert_eq!(EventStatus::roll_up([Sent, Cancelled]), EventStatus::Sent);
        assert_eq!(
            EventStatus::roll_up([Cancelled, Cancelled]),
            EventStatus::Cancelled
        );
        assert_eq!(
            EventStatus::roll_up([Sent, Failed, Cancelled]),
            EventStatus::Failed
        );
        assert_eq!(
            EventStatus::roll_up([Failed, Pending]),
            EventStatus::Pending
        );
    }

    #[test]
    fn types_names_and_channels_parse_at_the_edge() {
        assert!(EventType::parse("order.created:v2-x_y").is_ok());
        assert!(EventType::parse("").is_err());
        assert!(EventType::parse("a b").is_err());
        assert!(EventType::parse(&"a".repeat(129)).is_err());
        assert!(EndpointName::parse("billing-eu_1").is_ok());
        assert!(EndpointName::parse("Billing").is_err());
        assert!(parse_channel("eu").is_ok());
        assert!(parse_channel("e/u").is_err());
    }
}
