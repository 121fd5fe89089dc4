//! Processes that die or are told to stop: kill -9 in the middle of a drain, three instances
//! sharing a database, SIGTERM while a client uploads slowly and deliveries are busy.

use std::time::{Duration, Instant};

use super::tally;
use crate::helpers::{TestDb, redis_url, slow_upload};
use crate::process::{Herald, base_env, drained, migrate, queue, set_dispatch};
use crate::receiver::{Reply, TestWebhook};
use crate::{Row, Scale};

const CONCURRENCY: usize = 32;

fn prepared(n: usize, tag: &str) -> TestDb {
    let db = TestDb::create();
    migrate(&db.url);
    set_dispatch(&db.url, false);
    queue(&db.url, n, tag);
    db
}

pub async fn kill9(scale: Scale) -> Row {
    let (n, kills) = (scale.pick(10_000, 2_000), scale.pick(10, 3));
    let db = prepared(n, "kill9");
    let webhook = TestWebhook::start_with_workers(2);
    webhook.always(Reply::accepted().delay(Duration::from_millis(20)));
    let env = base_env(&db.url, &redis_url(), &webhook.url);
    set_dispatch(&db.url, true);
    let mut herald = Herald::start(&env, "kill9").await;
    let mut killed_mid_drain = 0;
    for _ in 0..kills {
        // Some deliveries in flight, then the process dies without a word.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (received, _) = webhook.tally();
        killed_mid_drain += usize::from(received > 0 && received < n);
        herald.kill9();
        herald = Herald::start(&env, "kill9").await;
    }
    let recovery = drained(&db.url, Duration::from_secs(180)).await;
    let (received, distinct) = webhook.tally();
    let (lost, duplicates) = tally(n, received, distinct);
    // Sent, and not yet recorded: at most two per delivery slot (the sender's bound).
    let bound = kills * 2 * CONCURRENCY;
    Row {
        scenario: format!("kill -9 ×{kills} mid-drain"),
        messages: n,
        lost,
        duplicates,
        recovery,
        notes: format!(
            "{killed_mid_drain} kills mid-drain; duplicates ≤ sent and not yet recorded ({bound}), same webhook-id"
        ),
        ok: lost == 0 && duplicates <= bound && recovery.is_some(),
    }
}

pub async fn three_instances(scale: Scale) -> Row {
    let n = scale.pick(10_000, 2_000);
    let db = prepared(n, "three");
    let webhook = TestWebhook::start_with_workers(2);
    let env = base_env(&db.url, &redis_url(), &webhook.url);
    let mut instances = Vec::new();
    for i in 0..3 {
        instances.push(Herald::start(&env, &format!("three-{i}")).await);
    }
    set_dispatch(&db.url, true);
    let took = drained(&db.url, Duration::from_secs(180)).await;
    let (received, distinct) = webhook.tally();
    let (lost, duplicates) = tally(n, received, distinct);
    let rate = took.map_or(0.0, |t| n as f64 / t.as_secs_f64());
    Row {
        scenario: "3 instances on one database".into(),
        messages: n,
        lost,
        duplicates,
        recovery: None,
        notes: format!("drained at {rate:.0} msg/s"),
        ok: lost == 0 && duplicates == 0 && took.is_some(),
    }
}

pub async fn sigterm(scale: Scale) -> Row {
    let n = scale.pick(5_000, 2_000);
    let db = prepared(n, "sigterm");
    let webhook = TestWebhook::start_with_workers(2);
    webhook.always(Reply::accepted().delay(Duration::from_millis(20)));
    let env = base_env(&db.url, &redis_url(), &webhook.url);
    set_dispatch(&db.url, true);
    let mut herald = Herald::start(&env, "sigterm").await;
    let _client = slow_upload(&herald.address);
    let busy = Instant::now() + Duration::from_secs(20);
    while webhook.tally().0 < 200 && Instant::now() < busy {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_signal = webhook.tally().0;
    let (status, took) = herald.terminate().await;
    let after_signal = webhook.tally().0 - at_signal;
    // A second instance finishes what the first handed back.
    let _next = Herald::start(&env, "sigterm-next").await;
    let finished = drained(&db.url, Duration::from_secs(120)).await;
    let (received, distinct) = webhook.tally();
    let (lost, duplicates) = tally(n, received, distinct);
    let grace = Duration::from_secs(2);
    let ok = status.success()
        && took <= grace + Duration::from_secs(1)
        && after_signal <= CONCURRENCY
        && lost == 0
        && duplicates == 0
        && finished.is_some();
    Row {
        scenario: "SIGTERM, slow client, busy drain".into(),
        messages: n,
        lost,
        duplicates,
        recovery: Some(took),
        notes: format!(
            "exit {:?} in {:.2} s (grace 2 s); {after_signal} arrivals after the signal (≤ {CONCURRENCY} in flight)",
            status.code(),
            took.as_secs_f64()
        ),
        ok,
    }
}
