//! Cache writer: copies each sent message to the cache (`message:{id}` with a TTL).
//! State: the cache backend, the TTL. Receives: [`RecordSent`] (from the sender, after the
//! database commit). Emits: nothing. A cache failure is logged once (on the change to failing),
//! counted in `herald_cache_errors_total` and shown in `/health`; it never reaches the sender.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::cache::{SentCache, SentEntry};
use crate::monitor::Monitor;

pub struct CacheWriter {
    cache: Arc<dyn SentCache>,
    ttl: Duration,
    monitor: Arc<Monitor>,
}

impl CacheWriter {
    pub fn new(cache: Arc<dyn SentCache>, ttl: Duration, monitor: Arc<Monitor>) -> Self {
        Self {
            cache,
            ttl,
            monitor,
        }
    }
}

impl Actor for CacheWriter {
    type Context = Context<Self>;
}

/// A message's `sent` status was committed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RecordSent {
    pub id: Uuid,
    pub message_id: Option<String>,
    pub sent_at: DateTime<Utc>,
}

impl Handler<RecordSent> for CacheWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: RecordSent, _: &mut Self::Context) -> Self::Result {
        let (cache, ttl, monitor) = (Arc::clone(&self.cache), self.ttl, Arc::clone(&self.monitor));
        Box::pin(async move {
            let entry = SentEntry::new(msg.message_id, msg.sent_at);
            match cache.put_sent(msg.id, entry, ttl).await {
                Ok(()) => monitor.cache.succeeded(),
                Err(e) => {
                    monitor.metrics.cache_errors.inc();
                    monitor.cache.failed(&e);
                }
            }
        })
    }
}
