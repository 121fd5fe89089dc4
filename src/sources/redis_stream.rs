//! A Redis stream read through a consumer group. Each instance is its own consumer; at start,
//! and after a batch that was not stored, it reads its own pending entries again (`0`) before
//! new ones (`>`), and every half `SOURCE_CLAIM_IDLE` it takes over entries another consumer
//! left pending longer than that (`XAUTOCLAIM`). A batch is acknowledged, and its poison
//! entries added to `<stream>:herald-dead`, in one `MULTI` after its commit.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamReadReply};
use redis::{AsyncConnectionConfig, RedisError, Value};

use super::entry::redis_fields;
use super::runner::{Read, Reader, Runner};
use super::spec::{Source, Start};

/// An entry's fields, by name, as read.
type Fields = Vec<(String, Vec<u8>)>;

/// How long a read waits for new entries.
const BLOCK_MS: u64 = 1000;

pub struct RedisStream {
    conn: MultiplexedConnection,
    name: String,
    stream: String,
    group: String,
    consumer: String,
    /// Own pending entries are read first (when no batch of ours is in its commit).
    own_pending: bool,
    /// Batches read and not yet settled or released.
    in_flight: usize,
    claim_idle: Duration,
    claimed_at: Instant,
    claim_cursor: String,
}

/// A batch as read: each entry's id and fields.
pub type Batch = Vec<(String, Fields)>;

fn why(e: RedisError) -> String {
    format!("redis: {e}")
}

/// The id a new group starts after: `$` (new entries), `0` (all), or just before a time.
pub fn start_id(start: Start) -> String {
    match start {
        Start::New => "$".into(),
        Start::All => "0".into(),
        Start::At(t) => match t.timestamp_millis() {
            ms if ms <= 0 => "0".into(),
            ms => format!("{}-{}", ms - 1, u64::MAX),
        },
    }
}

fn fields(entry: StreamId) -> (String, Fields) {
    let mut fields: Fields = entry
        .map
        .into_iter()
        .map(|(k, v)| {
            let bytes = match v {
                Value::BulkString(b) => b,
                other => redis::from_redis_value::<String>(other)
                    .unwrap_or_default()
                    .into_bytes(),
            };
            (k, bytes)
        })
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    (entry.id, fields)
}

fn reads(batch: &Batch) -> Vec<Read> {
    batch
        .iter()
        .map(|(id, fields)| Read {
            id: id.clone(),
            body: if fields.is_empty() {
                Err("the entry was deleted from the stream".into())
            } else {
                redis_fields(fields)
            },
        })
        .collect()
}

impl RedisStream {
    async fn group_read(
        &mut self,
        n: usize,
        from: &str,
        block: bool,
    ) -> Result<Vec<StreamId>, String> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(n);
        if block {
            cmd.arg("BLOCK").arg(BLOCK_MS);
        }
        cmd.arg("STREAMS").arg(&self.stream).arg(from);
        let reply: Option<StreamReadReply> = cmd.query_async(&mut self.conn).await.map_err(why)?;
        Ok(reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }

    async fn take_over(&mut self, n: usize) -> Result<Vec<StreamId>, String> {
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(self.claim_idle.as_millis() as u64)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(n)
            .query_async(&mut self.conn)
            .await
            .map_err(why)?;
        self.claim_cursor = reply.next_stream_id;
        // While there is something to take over, the next read looks again at once; a full
        // pass that found nothing waits half a SOURCE_CLAIM_IDLE.
        if reply.claimed.is_empty() && self.claim_cursor == "0-0" {
            self.claimed_at = Instant::now();
        }
        if !reply.claimed.is_empty() {
            tracing::info!(source = %self.name, entries = reply.claimed.len(),
                "source took over entries another consumer left pending (SOURCE_CLAIM_IDLE)");
        }
        Ok(reply.claimed)
    }
}

impl Reader for RedisStream {
    type Batch = Batch;

    async fn connect(source: &Source, runner: &Runner) -> Result<Self, String> {
        let settings = &runner.settings;
        let client = redis::Client::open(source.url.as_str()).map_err(why)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(
                Duration::from_millis(BLOCK_MS) + Duration::from_secs(4),
            ));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(why)?;
        let made: Result<(), RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&source.stream)
            .arg(&source.group)
            .arg(start_id(source.start))
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match made {
            Ok(()) => tracing::info!(source = %source.name, group = %source.group,
                "source made its consumer group"),
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(why(e)),
        }
        Ok(Self {
            conn,
            name: source.name.clone(),
            stream: source.stream.clone(),
            group: source.group.clone(),
            consumer: runner.consumer.clone(),
            own_pending: true,
            in_flight: 0,
            claim_idle: settings.claim_idle,
            claimed_at: Instant::now(),
            claim_cursor: "0-0".into(),
        })
    }

    async fn read(&mut self, n: usize, wait: bool) -> Result<(Vec<Read>, Batch), String> {
        let mut entries = Vec::new();
        if self.own_pending && self.in_flight == 0 {
            entries = self.group_read(n, "0", false).await?;
            self.own_pending = !entries.is_empty();
        }
        if entries.is_empty() && self.claimed_at.elapsed() >= self.claim_idle / 2 {
            entries = self.take_over(n).await?;
        }
        if entries.is_empty() {
            entries = self.group_read(n, ">", wait).await?;
        }
        let batch: Batch = entries.into_iter().map(fields).collect();
        if !batch.is_empty() {
            self.in_flight += 1;
        }
        Ok((reads(&batch), batch))
    }

    async fn settle(&mut self, batch: Batch, dead: &[(usize, String)]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        let mut pipe = redis::pipe();
        pipe.atomic();
        let dead_key = format!("{}:herald-dead", self.stream);
        for (i, reason) in dead {
            let (id, fields) = &batch[*i];
            let add = pipe
                .cmd("XADD")
                .arg(&dead_key)
                .arg("*")
                .arg("herald_source")
                .arg(&self.name)
                .arg("herald_entry")
                .arg(id)
                .arg("herald_reason")
                .arg(reason);
            for (k, v) in fields {
                add.arg(k).arg(v);
            }
            add.ignore();
        }
        let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
        pipe.cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&ids)
            .ignore();
        pipe.query_async::<()>(&mut self.conn).await.map_err(why)
    }

    async fn release(&mut self, batch: Batch) {
        if !batch.is_empty() {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.own_pending = true;
        }
    }

    async fn lag(&mut self) -> Result<Option<u64>, String> {
        let reply: StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.stream)
            .query_async(&mut self.conn)
            .await
            .map_err(why)?;
        Ok(reply
            .groups
            .into_iter()
            .find(|g| g.name == self.group)
            .and_then(|g| g.lag)
            .map(|l| l as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_group_starts_after_the_id_just_before_its_time() {
        assert_eq!(start_id(Start::New), "$");
        assert_eq!(start_id(Start::All), "0");
        let t = chrono::Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        assert_eq!(start_id(Start::At(t)), "1700000000122-18446744073709551615");
        let epoch = chrono::Utc.timestamp_millis_opt(0).unwrap();
        assert_eq!(start_id(Start::At(epoch)), "0");
    }
}
