//! Three receivers at once: one healthy, one that times out (then recovers), one that answers
//! 429 with `Retry-After` (then recovers), the last two with a backlog. The healthy endpoint's
//! events, posted one at a time at about 100/s, must arrive as fast as with nothing else going
//! on; every event must reach each endpoint it was routed to, and none twice where the receiver
//! answered in time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestDb, redis_url};
use crate::process::{Herald, base_env, drained, migrate};
use crate::receiver::{Reply, TestWebhook};
use crate::{Row, Scale};

async fn post(http: &reqwest::Client, url: String, body: serde_json::Value) {
    let response = http
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("Herald answers");
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// Accepted answers per `webhook-id`.
type Accepted = Arc<Mutex<HashMap<String, usize>>>;

fn accept(accepted: &Accepted, id: &str) -> Reply {
    *accepted.lock().unwrap().entry(id.to_owned()).or_default() += 1;
    Reply::accepted()
}

pub async fn protect(scale: Scale) -> Row {
    let (backlog, healthy_n): (usize, usize) = scale.pick((2_000, 500), (500, 200));
    let db = TestDb::create();
    migrate(&db.url);
    let (healthy, slow, throttled) = (
        TestWebhook::start_with_workers(4),
        TestWebhook::start_with_workers(8),
        TestWebhook::start_with_workers(4),
    );
    let started = Instant::now();
    let (ok_slow, ok_throttled): (Accepted, Accepted) = Default::default();
    let acc = Arc::clone(&ok_slow);
    // Times out (WEBHOOK_TIMEOUT is 1 s) for the first 6 s, then answers at once.
    slow.rule(move |r, _| {
        if started.elapsed() < Duration::from_secs(6) {
            Reply::accepted().delay(Duration::from_secs(3))
        } else {
            accept(&acc, &r.webhook_id)
        }
    });
    let acc = Arc::clone(&ok_throttled);
    throttled.rule(move |r, _| {
        if started.elapsed() < Duration::from_secs(4) {
            Reply::status(429).header("retry-after", "1")
        } else {
            accept(&acc, &r.webhook_id)
        }
    });
    let mut env = base_env(&db.url, &redis_url(), "none");
    env.insert("ENDPOINT_ALLOWED_NETWORKS".into(), "127.0.0.0/8".into());
    env.insert("DISPATCH_MODE".into(), "continuous".into());
    env.insert(
        "RETRY_SCHEDULE".into(),
        "200ms,500ms,1s,2s,5s,10s,10s,10s,10s".into(),
    );
    let _herald = Herald::start(&env, "protect").await;
    let http = reqwest::Client::new();
    let base = _herald.address.clone();
    for (name, hook, kind) in [
        ("healthy", &healthy, "h"),
        ("slow", &slow, "s"),
        ("throttled", &throttled, "t"),
    ] {
        post(
            &http,
            format!("{base}/endpoints"),
            json!({"name": name, "url": hook.url, "event_types": [kind]}),
        )
        .await;
    }
    for kind in ["s", "t"] {
        for start in (0..backlog).step_by(500) {
            let events: Vec<_> = (start..(start + 500).min(backlog))
                .map(|i| json!({"type": kind, "payload": {"n": i}}))
                .collect();
            post(
                &http,
                format!("{base}/events/batch"),
                json!({"events": events}),
            )
            .await;
        }
    }
    let mut posted = HashMap::new();
    let pace = tokio::time::interval(Duration::from_millis(10));
    tokio::pin!(pace);
    for i in 0..healthy_n {
        pace.as_mut().tick().await;
        let response = http
            .post(format!("{base}/events"))
            .json(&json!({"type": "h", "payload": {"n": i}}))
            .send()
            .await
            .expect("Herald answers");
        let event: serde_json::Value = response.json().await.unwrap_or_default();
        posted.insert(
            event["id"].as_str().unwrap_or_default().to_owned(),
            Instant::now(),
        );
    }
    let finished = drained(&db.url, Duration::from_secs(180)).await;
    let mut latencies: Vec<Duration> = healthy
        .received()
        .iter()
        .filter_map(|r| Some(r.at.saturating_duration_since(*posted.get(&r.webhook_id)?)))
        .collect();
    latencies.sort();
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or(Duration::MAX);
    let expected = healthy_n + 2 * backlog;
    let (h_received, h_distinct) = healthy.tally();
    let (s_distinct, t_distinct) = (slow.tally().1, throttled.tally().1);
    let t_twice = ok_throttled
        .lock()
        .unwrap()
        .values()
        .filter(|n| **n > 1)
        .count();
    let s_twice = ok_slow.lock().unwrap().values().filter(|n| **n > 1).count();
    let lost = expected.saturating_sub(h_distinct + s_distinct + t_distinct);
    let duplicates = h_received - h_distinct + t_twice;
    Row {
        scenario: "3 endpoints: healthy, timing out, 429 + Retry-After".into(),
        messages: expected,
        lost,
        duplicates,
        recovery: finished,
        notes: format!(
            "healthy p99 {:.1} ms from 201 to arrival over {} events at ~100/s; {} deliveries to the slow endpoint arrived twice (answered after its timeout: at least once); throttled got {} requests for {backlog}",
            p99.as_secs_f64() * 1000.0,
            latencies.len(),
            s_twice,
            throttled.count(),
        ),
        ok: finished.is_some()
            && lost == 0
            && duplicates == 0
            && latencies.len() == healthy_n
            && p99 < Duration::from_millis(100),
    }
}
