//! The sent-message cache: after a message's `sent` status is committed, a copy of what was sent
//! goes to `{prefix}message:{id}` with a TTL. The cache is a convenience copy, never a source of
//! truth, so its failures are reported and counted but never fail a delivery.
//! Backends: Redis ([`RedisCache`]) and in-memory ([`MemoryCache`], for tests and embedded mode).

mod memory;
mod redis;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use memory::MemoryCache;
pub use redis::RedisCache;

/// The cached value: `{"messageId": <webhook's id or null>, "sentAt": <RFC 3339>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentEntry {
    pub message_id: Option<String>,
    pub sent_at: String,
}

impl SentEntry {
    pub fn new(message_id: Option<String>, sent_at: DateTime<Utc>) -> Self {
        Self {
            message_id,
            sent_at: sent_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cache error: {0}")]
pub struct CacheError(pub String);

/// What the rest of Herald needs from a cache.
pub trait SentCache: Send + Sync + 'static {
    /// Writes a group of entries (Redis: one pipelined round trip).
    fn put_sent(
        &self,
        entries: Vec<(Uuid, SentEntry)>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), CacheError>>;
    fn get_sent(&self, id: Uuid) -> BoxFuture<'_, Result<Option<SentEntry>, CacheError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>>;
    /// `redis` or `memory`, as `/health` shows it.
    fn backend(&self) -> &'static str;
}

/// The key of a message's entry.
pub fn key(prefix: &str, id: Uuid) -> String {
    format!("{prefix}message:{id}")
}
