//! Event sources under kill -9: a stream of entries pre-loaded in Redis, or in JetStream, and
//! Herald killed at random points while it reads them, five times. Every entry must be stored
//! exactly once, with nothing left pending in the group.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{TestDb, nats_url, redis_url};
use crate::process::{Herald, base_env, migrate, set_dispatch};
use crate::receiver::TestWebhook;
use crate::{Row, Scale};

const KILLS: usize = 5;

fn stored(database_url: &str, source: &str) -> Option<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(database_url).ok()?;
    diesel::sql_query(format!(
        "SELECT count(DISTINCT idempotency_key) AS n FROM events WHERE idempotency_key LIKE 'source:{source}:%'"
    ))
    .get_result::<N>(&mut conn)
    .ok()
    .map(|r| r.n)
}

/// A pause between 50 and 450 ms, different every time.
fn random_pause() -> Duration {
    let nanos = uuid::Uuid::new_v4().as_u128();
    Duration::from_millis(50 + (nanos % 400) as u64)
}

/// What a broker still holds for the group: entries read and not acknowledged, and entries not
/// yet delivered.
trait Broker {
    async fn left(&mut self) -> Option<(u64, u64)>;
}

struct Redis {
    conn: redis::aio::MultiplexedConnection,
    stream: String,
}

impl Broker for Redis {
    async fn left(&mut self) -> Option<(u64, u64)> {
        let pending: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg("herald")
            .query_async(&mut self.conn)
            .await
            .ok()?;
        let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.stream)
            .query_async(&mut self.conn)
            .await
            .ok()?;
        let lag = groups.groups.first()?.lag? as u64;
        Some((pending.count() as u64, lag))
    }
}

struct Nats {
    js: async_nats::jetstream::Context,
    stream: String,
}

impl Broker for Nats {
    async fn left(&mut self) -> Option<(u64, u64)> {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = self
            .js
            .get_stream(&self.stream)
            .await
            .ok()?
            .get_consumer("herald")
            .await
            .ok()?;
        let info = consumer.info().await.ok()?;
        Some((info.num_ack_pending as u64, info.num_pending))
    }
}

async fn run(n: usize, kind: &str, url: &str, stream: &str, mut broker: impl Broker) -> Row {
    let db = TestDb::create();
    migrate(&db.url);
    set_dispatch(&db.url, false);
    let webhook = TestWebhook::start();
    let mut env = base_env(&db.url, &redis_url(), &webhook.url);
    env.insert("SOURCE_CLAIM_IDLE".into(), "1s".into());
    let name = format!("chaos-{}", kind.replace('_', "-"));
    let mut herald = Herald::start(&env, &name).await;
    let made = reqwest::Client::new()
        .post(format!("{}/sources", herald.address))
        .json(
            &json!({"name": name, "kind": kind, "url": url, "stream": stream,
                      "start": "all", "type": "chaos.entry"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    let mut mid_read = 0;
    for _ in 0..KILLS {
        tokio::time::sleep(random_pause()).await;
        let now = stored(&db.url, &name).unwrap_or(0) as usize;
        mid_read += usize::from(now > 0 && now < n);
        herald.kill9();
        herald = Herald::start(&env, &name).await;
    }
    let started = Instant::now();
    let mut recovery = None;
    let mut left = None;
    while started.elapsed() < Duration::from_secs(120) {
        left = broker.left().await;
        if stored(&db.url, &name) == Some(n as i64) && left == Some((0, 0)) {
            recovery = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let distinct = stored(&db.url, &name).unwrap_or(0) as usize;
    let all = crate::process::count(&db.url, "TRUE").unwrap_or(0) as usize;
    Row {
        scenario: format!("kill -9 ×{KILLS} reading a {kind} source"),
        messages: n,
        lost: n.saturating_sub(distinct),
        // The unique key refuses a second event for an entry: one delivery per event says so.
        duplicates: all.saturating_sub(distinct),
        recovery,
        notes: format!(
            "{mid_read} kills mid-read; left in the broker (unacked, undelivered): {left:?}"
        ),
        ok: distinct == n && all == n && recovery.is_some(),
    }
}

pub async fn redis_kill9(scale: Scale) -> Row {
    let n = scale.pick(10_000, 10_000);
    let stream = format!("chaos-source-{}", uuid::Uuid::new_v4().simple());
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("n")
            .arg(i)
            .ignore();
    }
    pipe.query_async::<()>(&mut conn).await.unwrap();
    let row = run(
        n,
        "redis_stream",
        &redis_url(),
        &stream,
        Redis {
            conn: conn.clone(),
            stream: stream.clone(),
        },
    )
    .await;
    let _: Result<(), _> = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await;
    row
}

pub async fn nats_kill9(scale: Scale) -> Row {
    let n = scale.pick(10_000, 10_000);
    let stream = format!("chaos_source_{}", uuid::Uuid::new_v4().simple());
    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![format!("{stream}.>")],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        acks.push(
            js.publish(format!("{stream}.x"), format!(r#"{{"n": {i}}}"#).into())
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let row = run(
        n,
        "nats_jetstream",
        &nats_url(),
        &stream,
        Nats {
            js: js.clone(),
            stream: stream.clone(),
        },
    )
    .await;
    let _ = js.delete_stream(&stream).await;
    row
}
