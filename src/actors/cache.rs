//! Cache writer: copies each sent message to the cache (`message:{id}` with a TTL), in
//! pipelined groups. State: a queue to its writer task, which owns the cache backend and the
//! TTL. Receives: [`RecordSent`] (from the sender, after the database commit). Emits: nothing. A cache failure is logged once (on the change to failing),
//! counted in `herald_cache_errors_total` and shown in `/health`; it never reaches the sender.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::cache::{SentCache, SentEntry};
use crate::monitor::Monitor;

/// The most entries one pipelined write carries.
const MAX_GROUP: usize = 512;

pub struct CacheWriter {
    queue: mpsc::UnboundedSender<(Uuid, SentEntry)>,
}

impl CacheWriter {
    /// Starts the writer task: whatever queued while the last group was written goes out as
    /// one pipelined group, so a busy sender costs one Redis round trip per group.
    pub fn new(cache: Arc<dyn SentCache>, ttl: Duration, monitor: Arc<Monitor>) -> Self {
        let (queue, mut rx) = mpsc::unbounded_channel();
        actix_rt::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
                match cache.put_sent(std::mem::take(&mut group), ttl).await {
                    Ok(()) => monitor.cache.succeeded(),
                    Err(e) => {
                        monitor.metrics.cache_errors.inc();
                        monitor.cache.failed(&e);
                    }
                }
            }
        });
        Self { queue }
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
    type Result = ();

    /// Queues the entry; the writer task sends it with the next group.
    fn handle(&mut self, msg: RecordSent, _: &mut Self::Context) {
        let _ = self
            .queue
            .send((msg.id, SentEntry::new(msg.message_id, msg.sent_at)));
    }
}
