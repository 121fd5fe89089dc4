//! Fan-out under faults: events routed to three endpoints (one filtered to half of them);
//! PostgreSQL restarted under a healthy instance mid-drain, then the instance killed with -9.
//! Every (event, endpoint) pair must arrive; no duplicate while the instance is healthy, and
//! afterwards at most the deliveries the killed process had in flight.

use std::time::Duration;

use serde_json::json;

use crate::process::{Herald, base_env, drained, migrate, set_dispatch};
use crate::receiver::{Reply, TestWebhook};
use crate::throwaway::ThrowawayPg;
use crate::{Row, Scale};

const CONCURRENCY: usize = 32;

/// Requests and distinct ids over the three receivers: (expected − distinct, requests − distinct).
fn tally(hooks: &[&TestWebhook], expected: usize) -> (usize, usize) {
    let (received, distinct) = hooks
        .iter()
        .map(|h| h.tally())
        .fold((0, 0), |a, t| (a.0 + t.0, a.1 + t.1));
    (
        expected.saturating_sub(distinct),
        received.saturating_sub(distinct),
    )
}

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

pub async fn fanout(scale: Scale) -> Row {
    let n: usize = scale.pick(6_000, 2_000);
    let pg = ThrowawayPg::start();
    let url = pg.url("postgres");
    migrate(&url);
    set_dispatch(&url, false);
    let (a, b, c) = (
        TestWebhook::start_with_workers(2),
        TestWebhook::start_with_workers(2),
        TestWebhook::start_with_workers(2),
    );
    for hook in [&a, &b, &c] {
        hook.always(Reply::accepted().delay(Duration::from_millis(20)));
    }
    let mut env = base_env(&url, &crate::helpers::redis_url(), &a.url);
    env.insert("ENDPOINT_ALLOWED_NETWORKS".into(), "127.0.0.0/8".into());
    env.insert("LEASE_DURATION".into(), "15s".into());
    let mut herald = Herald::start(&env, "fanout").await;
    let http = reqwest::Client::new();
    post(
        &http,
        format!("{}/endpoints", herald.address),
        json!({"name": "all", "url": b.url}),
    )
    .await;
    post(
        &http,
        format!("{}/endpoints", herald.address),
        json!({"name": "half", "url": c.url,
        "filter": {"path": "$.half", "op": "eq", "value": true}}),
    )
    .await;
    for start in (0..n).step_by(500) {
        let events: Vec<_> = (start..(start + 500).min(n))
            .map(|i| json!({"type": "order.created", "payload": {"n": i, "half": i % 2 == 0}}))
            .collect();
        post(
            &http,
            format!("{}/events/batch", herald.address),
            json!({"events": events}),
        )
        .await;
    }
    let expected = n * 2 + n.div_ceil(2);
    set_dispatch(&url, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restart = tokio::task::spawn_blocking(move || {
        pg.restart();
        pg
    });
    let pg = restart.await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, while_healthy) = tally(&[&a, &b, &c], expected);
    let delivered_before_kill = [&a, &b, &c].iter().map(|h| h.tally().1).sum::<usize>();
    // Then the process dies without a word, deliveries in flight.
    herald.kill9();
    let herald = Herald::start(&env, "fanout").await;
    // Duplicates of the killed process's in-flight deliveries land once their leases run out.
    let finished = drained(&url, Duration::from_secs(180)).await;
    let (lost, duplicates) = tally(&[&a, &b, &c], expected);
    // Sent, and not yet recorded: at most two per delivery slot (the sender's bound).
    let bound = 2 * CONCURRENCY;
    let per = [&a, &b, &c].map(|h| h.tally().1);
    drop((herald, pg));
    Row {
        scenario: "fan-out to 3 endpoints, kill -9, PostgreSQL restart".into(),
        messages: expected,
        lost,
        duplicates,
        recovery: finished,
        notes: format!(
            "{n} events → default/all/half got {}/{}/{} distinct; {while_healthy} duplicates across the PostgreSQL restart; killed after {delivered_before_kill} of {expected}; duplicates ≤ sent and not yet recorded at the kill ({bound})",
            per[0], per[1], per[2]
        ),
        ok: lost == 0
            && while_healthy == 0
            && duplicates <= bound
            && finished.is_some()
            && per == [n, n, n.div_ceil(2)]
            && delivered_before_kill < expected,
    }
}
