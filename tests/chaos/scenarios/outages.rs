//! Dependencies that go away: PostgreSQL restarted and stopped under API load and dispatch,
//! Redis killed and frozen during a drain. Both on throwaway servers of their own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::tally;
use crate::helpers::{TestDb, redis_url};
use crate::process::{Herald, base_env, drained, error_lines, migrate, queue, set_dispatch};
use crate::receiver::{Reply, TestWebhook};
use crate::throwaway::{ThrowawayPg, ThrowawayRedis};
use crate::{Row, Scale};

#[derive(Default)]
struct Seen {
    statuses: Vec<u16>,
    created: usize,
}

/// A client creating, listing and reading stats until told to stop.
async fn client(address: String, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let body = serde_json::json!({"recipient": "+905551111111", "content": "under load"});
    while !stop.load(Ordering::Relaxed) {
        let created = http
            .post(format!("{address}/messages"))
            .json(&body)
            .send()
            .await;
        let listed = http
            .get(format!("{address}/messages?status=all"))
            .send()
            .await;
        {
            let mut seen = seen.lock().unwrap();
            if let Ok(response) = &created {
                seen.created += usize::from(response.status() == 201);
            }
            for response in [created, listed].into_iter().flatten() {
                seen.statuses.push(response.status().as_u16());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn health_is(address: &str, want: u16, within: Duration) -> Option<Duration> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(r) = http.get(format!("{address}/health")).send().await
            && r.status().as_u16() == want
        {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

pub async fn postgres(scale: Scale) -> Row {
    let (restarts, stop_for, queued) = (
        scale.pick(5, 2),
        scale.pick(20, 5),
        scale.pick(5_000, 1_000),
    );
    let pg = Arc::new(ThrowawayPg::start());
    let url = pg.url("postgres");
    migrate(&url);
    queue(&url, queued, "pg");
    let webhook = TestWebhook::start_with_workers(2);
    webhook.always(Reply::accepted().delay(Duration::from_millis(5)));
    let mut env = base_env(&url, &redis_url(), &webhook.url);
    // Outcomes wait for the database within a lease longer than the outage.
    env.insert("LEASE_DURATION".into(), format!("{}s", stop_for + 10));
    env.insert("BATCH_SIZE".into(), "50".into());
    let herald = Herald::start(&env, "postgres").await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let clients: Vec<_> = (0..3)
        .map(|_| actix_rt::spawn(client(herald.address.clone(), stop.clone(), seen.clone())))
        .collect();
    let faults = {
        let pg = Arc::clone(&pg);
        tokio::task::spawn_blocking(move || {
            for _ in 0..restarts {
                std::thread::sleep(Duration::from_millis(800));
                pg.restart();
            }
            std::thread::sleep(Duration::from_millis(800));
            pg.stop();
            std::thread::sleep(Duration::from_secs(stop_for));
            pg.resume();
        })
    };
    // While stopped, /health must say down.
    let saw_down = health_is(&herald.address, 503, Duration::from_secs(stop_for + 30))
        .await
        .is_some();
    faults.await.unwrap();
    let recovery = health_is(&herald.address, 200, Duration::from_secs(60)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    let (statuses, created) = {
        let seen = seen.lock().unwrap();
        (seen.statuses.clone(), seen.created)
    };
    let drained_in = drained(&url, Duration::from_secs(stop_for + 60)).await;
    let (received, distinct) = webhook.tally();
    let expected = queued + created;
    let (lost, duplicates) = tally(expected, received, distinct);
    let server_errors = statuses.iter().filter(|s| **s >= 500 && **s != 503).count();
    let unavailable = statuses.iter().filter(|s| **s == 503).count();
    let (errors, outage_lines) = error_lines(&herald.log);
    let outages = restarts + 1;
    Row {
        scenario: format!("PostgreSQL fast restart ×{restarts}, then stopped {stop_for} s"),
        messages: expected,
        lost,
        duplicates,
        recovery,
        notes: format!(
            "{} API calls: {unavailable} × 503, {server_errors} × 5xx other than 503; /health down seen: {saw_down}; {errors} ERROR lines for {outages} outages",
            statuses.len()
        ),
        ok: lost == 0
            && server_errors == 0
            && saw_down
            && recovery.is_some()
            && drained_in.is_some()
            && errors == outage_lines
            && errors <= outages,
    }
}

pub async fn redis(scale: Scale) -> Row {
    let (down_for, frozen_for) = (scale.pick(10, 2), scale.pick(30, 5));
    // A slow webhook (100 ms, 32 in flight: about 320 msg/s) keeps the drain going through both faults.
    let n = 320 * (down_for + frozen_for + 6) as usize;
    let db = TestDb::create();
    migrate(&db.url);
    set_dispatch(&db.url, false);
    queue(&db.url, n, "redis");
    let mut redis = ThrowawayRedis::start();
    let webhook = TestWebhook::start_with_workers(2);
    webhook.always(Reply::accepted().delay(Duration::from_millis(100)));
    let env = base_env(&db.url, &redis.url(), &webhook.url);
    let herald = Herald::start(&env, "redis").await;
    set_dispatch(&db.url, true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rate = |from: usize, to: usize, d: Duration| (to - from) as f64 / d.as_secs_f64();
    // The pace with Redis up, to compare the faults with.
    let (before, t0) = (webhook.tally().0, Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = rate(before, webhook.tally().0, t0.elapsed());

    let (before, t0) = (webhook.tally().0, Instant::now());
    redis.kill();
    tokio::time::sleep(Duration::from_secs(down_for)).await;
    let while_down = rate(before, webhook.tally().0, t0.elapsed());
    redis.resume();

    let (before, t0) = (webhook.tally().0, Instant::now());
    redis.freeze(true);
    tokio::time::sleep(Duration::from_secs(frozen_for)).await;
    let while_frozen = rate(before, webhook.tally().0, t0.elapsed());
    redis.freeze(false);
    let recovery = health_is(&herald.address, 200, Duration::from_secs(30)).await;
    let finished = drained(&db.url, Duration::from_secs(180)).await;
    let (received, distinct) = webhook.tally();
    let (lost, duplicates) = tally(n, received, distinct);
    Row {
        scenario: format!("Redis killed {down_for} s, then frozen {frozen_for} s"),
        messages: n,
        lost,
        duplicates,
        recovery,
        notes: format!(
            "delivery rate with Redis up {baseline:.0} msg/s, while down {while_down:.0}, while frozen {while_frozen:.0}"
        ),
        // Unaffected: at least 70 % of the pace with Redis up (the machine's noise included).
        ok: lost == 0
            && duplicates == 0
            && finished.is_some()
            && while_down >= 0.7 * baseline
            && while_frozen >= 0.7 * baseline,
    }
}
