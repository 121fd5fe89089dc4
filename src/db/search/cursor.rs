//! [`Cursor`]: where a page of events ends, as an opaque token (`next_cursor`), so that paging
//! through millions of events is an index range scan from there, not an offset to skip.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a list is sorted by, newest first; ties go by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Created,
    /// Sent events, by when they were sent.
    Sent,
}

impl Order {
    pub fn column(self) -> &'static str {
        match self {
            Self::Created => "created_at",
            Self::Sent => "sent_at",
        }
    }
}

/// The last event of a page: the next page holds what sorts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub order: Order,
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("cursor is not one that Herald gave (use the next_cursor of a page)")]
    Foreign,
    #[error("cursor belongs to a list in another order (status=sent lists by sent_at)")]
    OtherOrder,
}

const PREFIX: &str = "h1";

impl Cursor {
    pub fn encode(&self) -> String {
        let order = match self.order {
            Order::Created => 'c',
            Order::Sent => 's',
        };
        let text = format!(
            "{PREFIX}:{order}:{}:{}",
            self.at.timestamp_micros(),
            self.id.simple()
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// The cursor a page answered, for a list in `order`.
    pub fn decode(token: &str, order: Order) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| CursorError::Foreign)?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError::Foreign)?;
        let mut parts = text.split(':');
        let (Some(PREFIX), Some(kind), Some(micros), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CursorError::Foreign);
        };
        let found = match kind {
            "c" => Order::Created,
            "s" => Order::Sent,
            _ => return Err(CursorError::Foreign),
        };
        let at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or(CursorError::Foreign)?;
        let id = Uuid::try_parse(id).map_err(|_| CursorError::Foreign)?;
        if found != order {
            return Err(CursorError::OtherOrder);
        }
        Ok(Self {
            order: found,
            at,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_it_was_written() {
        let c = Cursor {
            order: Order::Created,
            at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&c.encode(), Order::Created), Ok(c));
        assert_eq!(
            Cursor::decode(&c.encode(), Order::Sent),
            Err(CursorError::OtherOrder)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "abc", "!!!!", &URL_SAFE_NO_PAD.encode("h2:c:1:x")] {
            assert_eq!(
                Cursor::decode(bad, Order::Created),
                Err(CursorError::Foreign),
                "{bad}"
            );
        }
        let forged = URL_SAFE_NO_PAD.encode(format!("h1:c:1:{}", Uuid::nil().simple()));
        assert!(Cursor::decode(&forged, Order::Created).is_ok());
    }
}
