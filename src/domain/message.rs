//! Message values: the recipient (E.164), the content (bounded, in characters) and the status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value was refused at the edge; the text is meant for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// A phone number in E.164 form: `+`, a non-zero digit, 7 to 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Recipient(String);

impl Recipient {
    /// Accepts E.164, tolerating the usual separators (spaces, dashes, dots, parentheses),
    /// which are removed: `+90 (555) 123-45-67` becomes `+905551234567`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(ValidationError(
                "recipient must be an E.164 phone number starting with '+', e.g. +905551234567"
                    .into(),
            ));
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(ValidationError(format!(
                        "recipient contains {}; an E.164 number has only digits after '+'",
                        describe_char(c)
                    )));
                }
            }
        }
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(ValidationError(
                "recipient must have 7 to 15 digits after '+', the first not 0 (E.164)".into(),
            ));
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `'x'` for a visible character, `U+0000` for a control or invisible one.
fn describe_char(c: char) -> String {
    if c.is_control() || is_invisible(c) {
        format!("the control or invisible character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Characters that show nothing: whitespace, zero-width and joiner characters, the byte order
/// mark, the soft hyphen and bidirectional controls. Text made only of these is blank.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}')
}

/// Message text: at most `max_chars` characters (Unicode scalar values), not blank (not made
/// only of whitespace and invisible characters), and free of control characters other than
/// tab, line feed and carriage return (NUL cannot be stored, and the others are never text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Content(String);

impl Content {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        if raw.chars().all(is_invisible) {
            return Err(ValidationError(
                "content must not be empty or blank (whitespace and invisible characters only)"
                    .into(),
            ));
        }
        if let Some((at, c)) = raw
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ValidationError(format!(
                "content contains the control character U+{:04X} at position {at}; only tab, line feed and carriage return are allowed",
                c as u32
            )));
        }
        let count = raw.chars().count();
        if count > max_chars {
            return Err(ValidationError(format!(
                "content is {count} characters long; the limit is {max_chars}"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Cuts `raw` to at most `max_chars` characters (never inside a character), for generated text.
    pub fn truncated(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        let cut: String = raw.chars().take(max_chars).collect();
        Self::parse(cut.trim_end(), max_chars)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a message is in its life. Stored as text with a CHECK constraint listing these values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Waiting for `next_attempt_at`.
    Pending,
    /// Claimed by a worker holding a lease.
    Sending,
    /// Accepted by the webhook.
    Sent,
    /// Given up: permanent error or retries exhausted.
    Failed,
    /// Cancelled before it was sent; never sent.
    Cancelled,
    /// A message no endpoint took (with `WEBHOOK_URL=none` and no other endpoint for it). Never
    /// a delivery's status, so not in [`MessageStatus::ALL`].
    Unrouted,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 5] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unrouted => "unrouted",
        }
    }
}

impl FromStr for MessageStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| ValidationError(format!("unknown status '{s}'")))
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_is_normalised_to_e164() {
        let r = Recipient::parse(" +90 (555) 123-45-67 ").unwrap();
        assert_eq!(r.as_str(), "+905551234567");
    }

    #[test]
    fn recipient_without_plus_or_with_letters_or_bad_length_is_refused() {
        for bad in [
            "905551234567",
            "+90555abc4567",
            "+0555123456",
            "+12345",
            "+1234567890123456",
            "",
        ] {
            assert!(Recipient::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn content_limit_counts_characters_not_bytes() {
        let turkish = "ğ".repeat(160);
        assert_eq!(turkish.len(), 320);
        assert!(Content::parse(&turkish, 160).is_ok());
        let err = Content::parse(&"ğ".repeat(161), 160).unwrap_err();
        assert!(err.0.contains("161"), "{err}");
    }

    #[test]
    fn blank_content_is_refused() {
        assert!(Content::parse("   \n", 160).is_err());
        assert!(Content::parse("", 160).is_err());
    }

    #[test]
    fn invisible_only_content_is_blank() {
        for blank in [
            "\u{200B}\u{200B}",
            "\u{FEFF} \u{2060}",
            "\u{00AD}\n\u{200D}",
        ] {
            let err = Content::parse(blank, 160).unwrap_err();
            assert!(err.0.contains("blank"), "{err}");
        }
        assert!(Content::parse("a\u{200B}b", 160).is_ok());
    }

    #[test]
    fn control_characters_other_than_tab_and_newlines_are_refused() {
        let err = Content::parse("a\u{0}b", 160).unwrap_err();
        assert!(
            err.0.contains("U+0000") && err.0.contains("position 1"),
            "{err}"
        );
        for bad in ["a\u{7}", "\u{1B}[31m", "x\u{7F}", "x\u{85}"] {
            assert!(Content::parse(bad, 160).is_err(), "{bad:?}");
        }
        assert!(Content::parse("line one\r\nline\ttwo", 160).is_ok());
        let err = Recipient::parse("+90555\u{0}1234567").unwrap_err();
        assert!(
            err.0.starts_with("recipient") && err.0.contains("U+0000"),
            "{err}"
        );
    }

    #[test]
    fn truncated_cuts_on_character_boundaries() {
        let c = Content::truncated(&"é".repeat(200), 160).unwrap();
        assert_eq!(c.as_str().chars().count(), 160);
    }

    #[test]
    fn status_round_trips_through_text() {
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>().unwrap(), s);
        }
        assert!("sending ".parse::<MessageStatus>().is_err());
    }
}
