//! kill -9 during a replay: a drained queue, then a replay of every event, and the process
//! killed and restarted while it runs. Every event reaches the receiver again; the job enqueues
//! each event exactly once (its cursor moves with its batches); duplicates are at most the
//! deliveries in flight at the kills, under the same `webhook-id`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::{TestDb, redis_url};
use crate::process::{Herald, base_env, drained, migrate, queue, set_dispatch};
use crate::receiver::{Reply, TestWebhook};
use crate::{Row, Scale};

const CONCURRENCY: usize = 32;

async fn job(http: &reqwest::Client, address: &str, id: &str) -> Option<serde_json::Value> {
    let response = http
        .get(format!("{address}/replays/{id}"))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

pub async fn kill9_mid_replay(scale: Scale) -> Row {
    let (n, kills) = (scale.pick(20_000, 2_000), scale.pick(5, 3));
    let db = TestDb::create();
    migrate(&db.url);
    set_dispatch(&db.url, false);
    queue(&db.url, n, "replay");
    let webhook = TestWebhook::start_with_workers(2);
    webhook.always(Reply::accepted().delay(Duration::from_millis(5)));
    let env = base_env(&db.url, &redis_url(), &webhook.url);
    set_dispatch(&db.url, true);
    let mut herald = Herald::start(&env, "replay").await;
    let first = drained(&db.url, Duration::from_secs(180)).await;
    let http = reqwest::Client::new();
    let made = http
        .post(format!("{}/replays", herald.address))
        .json(
            &serde_json::json!({"endpoint": "default", "from": "2000-01-01T00:00:00Z",
                                  "mode": "all", "confirm": true}),
        )
        .send()
        .await
        .ok();
    let id = match made {
        Some(r) if r.status().as_u16() == 202 => r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|j| j["id"].as_str().map(str::to_owned)),
        _ => None,
    };
    let Some(id) = id.filter(|_| first.is_some()) else {
        return Row {
            scenario: "kill -9 mid-replay".into(),
            messages: n,
            lost: n,
            duplicates: 0,
            recovery: None,
            notes: "the first drain or the replay's creation failed".into(),
            ok: false,
        };
    };
    let before = webhook.tally().0;
    let mut mid = 0;
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let replayed = webhook.tally().0 - before;
        mid += usize::from(replayed > 0 && replayed < n);
        herald.kill9();
        herald = Herald::start(&env, "replay").await;
    }
    let started = Instant::now();
    let mut done = None;
    while started.elapsed() < Duration::from_secs(180) {
        if let Some(j) = job(&http, &herald.address, &id).await
            && j["status"] == "done"
        {
            done = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovery = match done {
        Some(_) => drained(&db.url, Duration::from_secs(120)).await,
        None => None,
    }
    .map(|_| started.elapsed());
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in webhook.received() {
        *per_id.entry(r.webhook_id).or_default() += 1;
    }
    // Each event: once in the drain, once by the replay.
    let lost = n - per_id.values().filter(|&&k| k >= 2).count();
    let duplicates: usize = per_id.values().map(|k| k.saturating_sub(2)).sum();
    let enqueued = done
        .as_ref()
        .and_then(|j| j["enqueued"].as_i64())
        .unwrap_or(-1);
    let bound = kills * 2 * CONCURRENCY;
    Row {
        scenario: format!("kill -9 ×{kills} mid-replay"),
        messages: n,
        lost,
        duplicates,
        recovery,
        notes: format!(
            "{mid} kills mid-replay; the job enqueued {enqueued} of {n}; duplicates ≤ in flight at the kills ({bound}), same webhook-id"
        ),
        ok: lost == 0 && duplicates <= bound && enqueued == n as i64 && recovery.is_some(),
    }
}
