//! Rate limits and adaptive back-off against real receivers: a rate held across two instances
//! through Redis (and through PostgreSQL without it, and in process on SQLite); a 429 halving
//! the rate in force and successes raising it back; `Retry-After` pausing the whole endpoint.
//! A delivery held back is deferred: its attempt is not spent.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::receiver::{Received, Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, events_batch, json_of, numbered};

async fn batch(app: &TestApp, kind: &str, n: usize) {
    events_batch(app, numbered(kind, n)).await;
}

/// Arrivals within `span` of the first one.
fn within(received: &[Received], span: Duration) -> usize {
    let first = received.iter().map(|r| r.at).min().unwrap();
    received.iter().filter(|r| r.at < first + span).count()
}

/// Every event of the endpoint `name` was attempted once: holding back spent no attempt.
async fn one_attempt_each(app: &TestApp, hook: &TestWebhook) {
    for r in hook.received() {
        let event = json_of(app, &format!("/events/{}", r.webhook_id)).await;
        let attempts = event["deliveries"][0]["attempts"].as_u64();
        assert_eq!(attempts, Some(1), "{event}");
    }
}

async fn rate_across_two_instances(redis: bool) {
    let mut settings = ROUTING.to_vec();
    if !redis {
        settings.push(("REDIS_URL", ""));
    }
    let a = spawn_app_with(&settings).await;
    // Instances of one deployment share the Redis key prefix.
    let mut shared = settings.clone();
    shared.push(("CACHE_PREFIX", &a.prefix));
    let b = spawn_on(a.db.share(), a.webhook.clone(), &shared).await;
    let hook = TestWebhook::start();
    let created = endpoint(
        &a,
        json!({"name": "limited", "url": hook.url, "event_types": ["x"], "rate_per_sec": 10,
               "burst": 2, "max_in_flight": 4}),
    )
    .await;
    assert_eq!(
        (created["rate_per_sec"].as_f64(), created["burst"].as_u64()),
        (Some(10.0), Some(2))
    );
    // Both instances see the endpoint before the events arrive.
    let _ = json_of(&b, "/endpoints/limited").await;
    batch(&a, "x", 160).await;
    wait_until("10 s of deliveries", Duration::from_secs(25), || async {
        hook.received().len() > 115
    })
    .await;
    // 10/s for 10 s, plus the burst of 2 at the start: 102, held within 10 %.
    let in_ten = within(&hook.received(), Duration::from_secs(10));
    assert!(
        (92..=112).contains(&in_ten),
        "{in_ten} deliveries in 10 s at 10/s"
    );
    let view = json_of(&b, "/endpoints/limited").await;
    assert_eq!(view["effective_rate"].as_f64(), Some(10.0), "{view}");
    one_attempt_each(&a, &hook).await;
    let health = json_of(&a, "/health").await;
    let limiter = if redis { "redis" } else { "postgres" };
    assert_eq!(
        health["checks"]["endpoints"]["limiter"], limiter,
        "{health}"
    );
}

#[actix_rt::test]
async fn a_rate_holds_within_ten_percent_across_two_instances_through_redis() {
    rate_across_two_instances(true).await;
}

#[actix_rt::test]
async fn without_redis_two_instances_share_the_rate_through_postgres() {
    rate_across_two_instances(false).await;
}

#[actix_rt::test]
async fn on_sqlite_the_rate_is_held_in_process() {
    let mut settings = ROUTING.to_vec();
    settings.push(("SENDER_CONCURRENCY", "64"));
    settings.push(("BATCH_SIZE", "64"));
    let app = spawn_app_on(Backend::Sqlite, &settings).await;
    let hook = TestWebhook::start();
    endpoint(
        &app,
        json!({"name": "limited", "url": hook.url, "event_types": ["x"], "rate_per_sec": 20,
               "max_in_flight": 40}),
    )
    .await;
    batch(&app, "x", 70).await;
    wait_until("3 s of deliveries", Duration::from_secs(10), || async {
        hook.count() >= 65
    })
    .await;
    let in_three = within(&hook.received(), Duration::from_secs(3));
    assert!((54..=66).contains(&in_three), "{in_three} in 3 s at 20/s");
    // 40 claimed at once at 20/s: those whose slot is over a second away were deferred.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let deferred = metrics
        .lines()
        .find(|l| {
            l.starts_with("herald_deferred_total{endpoint=\"limited\",reason=\"rate_limit\"}")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(deferred.is_some_and(|n| n > 0), "{metrics}");
    one_attempt_each(&app, &hook).await;
}

both_stores!(a_429_halves_the_rate_in_force_and_successes_raise_it_back);
async fn a_429_halves_the_rate_in_force_and_successes_raise_it_back(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    // One 429, then every delivery is accepted.
    hook.script([Reply::status(429)]);
    hook.always(Reply::accepted());
    endpoint(
        &app,
        json!({"name": "busy", "url": hook.url, "event_types": ["x"], "rate_per_sec": 40,
               "burst": 4}),
    )
    .await;
    batch(&app, "x", 200).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let halved = loop {
        let v = json_of(&app, "/endpoints/busy").await;
        let rate = v["effective_rate"].as_f64().unwrap_or(f64::MAX);
        if rate < 40.0 || Instant::now() > deadline {
            break rate;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(halved, 20.0, "halved from 40, once");
    wait_until(
        "the rate is raised back",
        Duration::from_secs(15),
        || async {
            json_of(&app, "/endpoints/busy").await["effective_rate"].as_f64() == Some(40.0)
        },
    )
    .await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("herald_effective_rate{endpoint=\"busy\"} 40"),
        "{metrics}"
    );
}

both_stores!(retry_after_pauses_the_whole_endpoint_not_only_that_delivery);
async fn retry_after_pauses_the_whole_endpoint_not_only_that_delivery(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    let hook = TestWebhook::start();
    hook.script([Reply::status(429).header("retry-after", "2")]);
    hook.always(Reply::accepted());
    endpoint(
        &app,
        json!({"name": "paused", "url": hook.url, "event_types": ["x"], "max_in_flight": 1}),
    )
    .await;
    batch(&app, "x", 1).await;
    // The receiver has answered once Herald shows the pause.
    wait_until("the pause", Duration::from_secs(3), || async {
        json_of(&app, "/endpoints/paused").await["pause_reason"] == "retry_after"
    })
    .await;
    let paused_at = Instant::now();
    let view = json_of(&app, "/endpoints/paused").await;
    assert_eq!(view["pause_reason"], "retry_after", "{view}");
    assert!(view["paused_until"].is_string(), "{view}");
    // Five more events while it is paused: none goes before the pause ends.
    batch(&app, "x", 5).await;
    wait_until("all six delivered", Duration::from_secs(8), || async {
        hook.count() == 7
    })
    .await;
    let received = hook.received();
    let first = received[0].at;
    for r in &received[1..] {
        assert!(
            r.at >= first + Duration::from_millis(1_900),
            "a delivery went {:?} after the 429 that asked for 2 s",
            r.at - first
        );
    }
    assert!(paused_at.elapsed() < Duration::from_secs(8));
    let health = json_of(&app, "/health").await;
    assert_eq!(
        health["status"], "ok",
        "a paused customer endpoint is not Herald's state: {health}"
    );
}

#[actix_rt::test]
async fn with_redis_down_the_rate_is_held_in_process_and_the_failure_shows() {
    // Nothing listens on this port: the cache and the shared limiter both fail.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = format!("redis://127.0.0.1:{port}");
    let mut settings = ROUTING.to_vec();
    settings.push(("REDIS_URL", &redis));
    let app = spawn_app_with(&settings).await;
    let hook = TestWebhook::start();
    endpoint(
        &app,
        json!({"name": "limited", "url": hook.url, "event_types": ["x"], "rate_per_sec": 20}),
    )
    .await;
    batch(&app, "x", 30).await;
    wait_until("every event delivered", Duration::from_secs(10), || async {
        hook.count() == 30
    })
    .await;
    let in_one = within(&hook.received(), Duration::from_secs(1));
    assert!(
        (18..=22).contains(&in_one),
        "{in_one} in the first second at 20/s"
    );
    let health = json_of(&app, "/health").await;
    assert_eq!(
        health["checks"]["endpoints"]["limiter"], "redis",
        "{health}"
    );
    assert_eq!(
        health["checks"]["endpoints"]["limiter_status"], "down",
        "{health}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("herald_limiter_errors_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(errors.is_some_and(|n| n >= 30), "{metrics}");
}
