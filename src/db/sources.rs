//! Event sources as they cross the store boundary: a source's row (its spec as the API took
//! it, and its counts), and what one batch read from a broker writes in its commit.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A source as stored.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub id: Uuid,
    pub name: String,
    /// `redis_stream` or `nats_jetstream`.
    pub kind: String,
    /// The rest of the input, normalised (see `sources::spec`).
    pub spec: Value,
    pub enabled: bool,
    pub counts: SourceCounts,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a source has done since it was made, on every instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Entries read from the broker, a redelivery counted again.
    pub read: i64,
    /// Entries that became events.
    pub stored: i64,
    /// Entries read again whose event was stored already (skipped).
    pub duplicates: i64,
    /// Entries moved aside: to the dead stream, or terminated.
    pub dead: i64,
    /// The last entry id read.
    pub last_entry: Option<String>,
}

/// One batch's counts, written with its events: `read` and `dead` as the reader saw them; the
/// store adds what it stored and what it skipped.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub read: i64,
    pub dead: i64,
    pub last_entry: Option<String>,
}

/// What a batch's commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    pub stored: usize,
    pub duplicates: usize,
}

/// The fingerprint stored with a source's events: their key is the entry's, so a repeat is a
/// duplicate whatever it holds.
pub const SOURCE_FINGERPRINT: &str = "source";

/// The keys of `events` (each has one) that are not in `taken`, as indices.
pub(super) fn fresh(events: &[super::NewEvent], taken: &[String]) -> Vec<usize> {
    let taken: std::collections::HashSet<&str> = taken.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            let key = e.idempotency.as_ref().map_or("", |k| k.0.as_str());
            !taken.contains(key) && seen.insert(key.to_owned())
        })
        .map(|(i, _)| i)
        .collect()
}

/// The events at `keep`, in order.
pub(super) fn keep(events: Vec<super::NewEvent>, keep: &[usize]) -> Vec<super::NewEvent> {
    let mut wanted = keep.iter().copied().peekable();
    events
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            (wanted.peek() == Some(&i)).then(|| {
                wanted.next();
                e
            })
        })
        .collect()
}

/// The idempotency keys of `events`.
pub(super) fn keys(events: &[super::NewEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.idempotency.as_ref().map(|k| k.0.clone()))
        .collect()
}
