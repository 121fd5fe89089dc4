//! Replay jobs end to end, on both stores: `failed` sends again what failed and only that,
//! `missing` gives an endpoint added later (or switched on later) exactly what it missed, `all`
//! needs `confirm`; dry runs count what is then sent; replayed attempts say so; a job pauses,
//! resumes, cancels, and carries on after its instance stops; its rate cap holds; bad input is
//! refused with nothing started.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Received, Reply};
use crate::routing::{ROUTING, endpoint, events_batch, json_of};

const FROM: &str = "2000-01-01T00:00:00Z";

async fn replay(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/replays", &body).await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    let want = if body["dry_run"] == true { 200 } else { 202 };
    assert_eq!(status, want, "{body} -> {answer}");
    answer
}

async fn until_done(app: &TestApp, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = json_of(app, &format!("/replays/{id}")).await;
        if job["status"] == "done" && job["in_flight"] == 0 {
            return job;
        }
        assert!(Instant::now() < deadline, "the replay is not done: {job:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the store has recorded `n` deliveries to `default` as sent (the receiver may
/// have them a moment before their outcomes are written).
async fn all_sent(app: &TestApp, n: i64) {
    wait_until(
        "every delivery recorded sent",
        Duration::from_secs(20),
        || async {
            json_of(app, "/events/count?endpoint=default&delivery_status=sent").await["count"] == n
        },
    )
    .await;
}

/// Deliveries the receiver got, per (endpoint header, webhook-id).
fn tally(received: &[Received]) -> HashMap<(String, String), usize> {
    let mut seen = HashMap::new();
    for r in received {
        let to = r.headers.get("x-to").cloned().unwrap_or_default();
        *seen.entry((to, r.webhook_id.clone())).or_default() += 1;
    }
    seen
}

both_stores!(failed_and_missing_send_exactly_what_was_missed);
async fn failed_and_missing_send_exactly_what_was_missed(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    // crm refuses each "bad" event the first time it gets it (400: failed at once), then takes
    // it. (The rule's own count is per webhook-id, which every endpoint shares.)
    let refused = std::sync::Mutex::new(std::collections::HashSet::new());
    app.webhook.rule(move |r, _| {
        let crm = r.headers.get("x-to").map(String::as_str) == Some("crm");
        let bad = r.body.contains("\"bad\":true");
        if crm && bad && refused.lock().unwrap().insert(r.webhook_id.clone()) {
            Reply::status(400)
        } else {
            Reply::accepted()
        }
    });
    let url = app.webhook.url.clone();
    let hook = |name: &str| json!({"name": name, "url": url, "headers": {"x-to": name}});
    endpoint(&app, hook("crm")).await;
    let mut off = hook("off");
    off["enabled"] = json!(false);
    endpoint(&app, off).await;
    let events: Vec<Value> = (0..12)
        .map(|n| json!({"type": "order.created", "payload": {"n": n, "bad": n % 3 == 0}}))
        .collect();
    let ids = events_batch(&app, events).await;
    let count = |q: &'static str| {
        let app = &app;
        async move { json_of(app, &format!("/events/count?{q}")).await["count"].clone() }
    };
    wait_until(
        "8 sent and 4 failed to crm",
        Duration::from_secs(20),
        || async {
            count("endpoint=crm&delivery_status=sent").await == 8
                && count("endpoint=crm&delivery_status=failed").await == 4
        },
    )
    .await;
    // Added after the events, for the larger orders; and `off` is switched on.
    let mut late = hook("late");
    late["filter"] = json!({"path": "$.n", "op": "gte", "value": 6});
    endpoint(&app, late).await;
    assert_eq!(
        app.post("/endpoints/off/enable").await.status().as_u16(),
        200
    );

    let dry = replay(
        &app,
        json!({"endpoint": "crm", "from": FROM, "mode": "failed", "dry_run": true}),
    )
    .await;
    assert_eq!(dry["count"], 4, "{dry}");
    assert_eq!(
        dry["by_endpoint"],
        json!([{"endpoint": "crm", "endpoint_id": dry["by_endpoint"][0]["endpoint_id"], "count": 4}])
    );
    let bad: Vec<&String> = ids.iter().step_by(3).collect();
    let sample: Vec<String> = serde_json::from_value(dry["sample"].clone()).unwrap();
    assert_eq!(
        sample.iter().collect::<Vec<_>>(),
        bad,
        "the failed ones, oldest first"
    );
    let every = replay(
        &app,
        json!({"from": FROM, "mode": "missing", "dry_run": true}),
    )
    .await;
    let per: HashMap<String, i64> = every["by_endpoint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["endpoint"].as_str().unwrap().to_owned(),
                e["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        (per["late"], per["off"], per["crm"], per["default"]),
        (6, 12, 0, 0),
        "{every}"
    );
    assert_eq!(every["count"], 12);
    let all = json!({"endpoint": "crm", "from": FROM, "mode": "all", "dry_run": true});
    assert_error(
        app.post_json("/replays", &all).await,
        400,
        "add \"confirm\": true",
    )
    .await;
    let mut confirmed = all.clone();
    confirmed["confirm"] = json!(true);
    assert_eq!(replay(&app, confirmed).await["count"], 12);

    let failed = replay(
        &app,
        json!({"endpoint": "crm", "from": FROM, "mode": "failed"}),
    )
    .await;
    assert_eq!(
        (failed["status"].as_str(), failed["planned"].as_i64()),
        (Some("running"), Some(4))
    );
    let missing = replay(&app, json!({"from": FROM, "mode": "missing"})).await;
    let failed = until_done(&app, failed["id"].as_str().unwrap()).await;
    assert_eq!(
        (failed["enqueued"].as_i64(), failed["succeeded"].as_i64()),
        (Some(4), Some(4)),
        "{failed}"
    );
    let missing = until_done(&app, missing["id"].as_str().unwrap()).await;
    assert_eq!(
        (missing["planned"].as_i64(), missing["enqueued"].as_i64()),
        (Some(12), Some(18)),
        "{missing}"
    );

    let seen = tally(&app.webhook.received());
    for (i, id) in ids.iter().enumerate() {
        let times = |to: &str| seen.get(&(to.to_owned(), id.clone())).copied().unwrap_or(0);
        assert_eq!(
            times("crm"),
            if i % 3 == 0 { 2 } else { 1 },
            "crm, event {i}"
        );
        assert_eq!(times("late"), usize::from(i >= 6), "late, event {i}");
        assert_eq!(times("off"), 1, "off, event {i}");
    }
    // The replayed attempt says so, with its job.
    let event = json_of(&app, &format!("/events/{}", ids[0])).await;
    let crm = event["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == "crm")
        .unwrap();
    let attempts = crm["delivery_attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{crm:#}");
    assert_eq!(
        (
            attempts[0]["trigger"].as_str(),
            attempts[0].get("replay_id")
        ),
        (Some("delivery"), None)
    );
    assert_eq!(attempts[1]["trigger"], "replay");
    assert_eq!(attempts[1]["replay_id"], failed["id"]);
    let list = json_of(&app, "/replays").await;
    assert_eq!(list["count"], 2);

    // One event at once: to one endpoint, then to every endpoint that takes it now.
    let one = app
        .post(&format!("/events/{}/replay?endpoint=crm", ids[1]))
        .await;
    assert_eq!(one.status().as_u16(), 202);
    let one: Value = one.json().await.unwrap();
    assert_eq!(
        (one["status"].as_str(), one["enqueued"].as_i64()),
        (Some("done"), Some(1))
    );
    let every = app.post(&format!("/events/{}/replay", ids[2])).await;
    assert_eq!(every.status().as_u16(), 202);
    let every: Value = every.json().await.unwrap();
    assert_eq!(
        every["enqueued"], 3,
        "default, crm and off take it; late does not"
    );
    wait_until(
        "the single replays arrive",
        Duration::from_secs(20),
        || async {
            let seen = tally(&app.webhook.received());
            let times = |to: &str, i: usize| seen.get(&(to.to_owned(), ids[i].clone())).copied();
            times("crm", 1) == Some(2)
                && times("crm", 2) == Some(2)
                && times("off", 2) == Some(2)
                && times("", 2) == Some(2)
        },
    )
    .await;
    let nobody = format!("/events/{}/replay", uuid::Uuid::new_v4());
    assert_error(app.post(&nobody).await, 404, "no event").await;
    let unknown = format!("/events/{}/replay?endpoint=nobody", ids[2]);
    assert_error(app.post(&unknown).await, 404, "no endpoint").await;
}

both_stores!(a_job_pauses_resumes_cancels_and_carries_on_after_its_instance_stops);
async fn a_job_pauses_resumes_cancels_and_carries_on_after_its_instance_stops(backend: Backend) {
    let settings = [ROUTING, &[("LEASE_DURATION", "4s")]].concat();
    let mut a = spawn_app_on(backend, &settings).await;
    let ids = events_batch(
        &a,
        (0..40)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    all_sent(&a, 40).await;
    let job = replay(&a, json!({"endpoint": "default", "from": FROM, "mode": "all", "confirm": true, "rate_per_sec": 10})).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let path = |action: &str| format!("/replays/{id}/{action}");
    let paused = a.post(&path("pause")).await;
    assert_eq!(paused.status().as_u16(), 200);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["status"], "paused");
    assert_error(a.post(&path("pause")).await, 409, "the replay is paused").await;
    let resumed: Value = a.post(&path("resume")).await.json().await.unwrap();
    assert_eq!(resumed["status"], "running");
    wait_until("some enqueued", Duration::from_secs(10), || async {
        json_of(&a, &format!("/replays/{id}")).await["enqueued"]
            .as_i64()
            .unwrap()
            > 0
    })
    .await;
    // Its instance stops part way (10 per second: 40 take about 3 s); another carries on once
    // the lease has expired.
    a.shutdown().await;
    let part = a.db.share();
    let b = spawn_on(part, a.webhook.clone(), &settings).await;
    let done = until_done(&b, &id).await;
    assert_eq!(
        (done["planned"].as_i64(), done["enqueued"].as_i64()),
        (Some(40), Some(40)),
        "{done}"
    );
    let seen = tally(&b.webhook.received());
    for id in &ids {
        assert_eq!(
            seen[&(String::new(), id.clone())],
            2,
            "once, then once by the replay: {id}"
        );
    }
    assert_error(b.post(&path("cancel")).await, 409, "the replay is done").await;
    let other = replay(&b, json!({"endpoint": "default", "from": FROM, "mode": "all", "confirm": true, "rate_per_sec": 1})).await;
    let cancelled: Value = b
        .post(&format!(
            "/replays/{}/cancel",
            other["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
}

both_stores!(the_rate_cap_holds);
async fn the_rate_cap_holds(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    events_batch(
        &app,
        (0..50)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    all_sent(&app, 50).await;
    let started = Instant::now();
    let job = replay(&app, json!({"endpoint": "default", "from": FROM, "mode": "all", "confirm": true, "rate_per_sec": 20})).await;
    until_done(&app, job["id"].as_str().unwrap()).await;
    // 20 at once, then 20 per second: the last 30 take at least 1.5 s.
    let arrivals: Vec<Instant> = app.webhook.received()[50..].iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 50);
    let spread = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
    assert!(
        spread >= Duration::from_millis(1400),
        "50 replayed in {spread:?}"
    );
    assert!(started.elapsed() >= spread);
}

both_stores!(bad_replays_are_refused_and_nothing_starts);
async fn bad_replays_are_refused_and_nothing_starts(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    events_batch(
        &app,
        (0..5)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    all_sent(&app, 5).await;
    let cases = [
        (
            json!({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z", "mode": "failed"}),
            400,
            "is after to",
        ),
        (
            json!({"from": "yesterday", "mode": "failed"}),
            400,
            "from must be an RFC 3339 time",
        ),
        (
            json!({"from": FROM, "mode": "everything"}),
            400,
            "mode must be one of failed, missing, all",
        ),
        (
            json!({"from": FROM, "mode": "all"}),
            400,
            "add \"confirm\": true",
        ),
        (
            json!({"endpoint": "nobody", "from": FROM, "mode": "failed"}),
            404,
            "no endpoint with this id or name",
        ),
        (
            json!({"from": FROM, "mode": "failed", "filter": {"path": "$.n", "op": "regex", "value": "1"}}),
            400,
            "'regex' cannot be used",
        ),
        (
            json!({"from": FROM, "mode": "failed", "filter": {"path": "n", "op": "eq", "value": 1}}),
            400,
            "filter: at /path",
        ),
        (
            json!({"from": FROM, "mode": "failed", "max_events": 1_000_001}),
            400,
            "max_events must be from 1 to 1000000",
        ),
        (
            json!({"from": FROM, "mode": "failed", "rate_per_sec": 0}),
            400,
            "rate_per_sec must be above 0",
        ),
        (
            json!({"from": FROM, "mode": "failed", "types": ["no spaces"]}),
            400,
            "types:",
        ),
        (
            json!({"from": FROM, "mode": "failed", "colour": "red"}),
            400,
            "unknown field",
        ),
        (
            json!({"endpoint": "default", "from": FROM, "mode": "all", "confirm": true, "max_events": 3}),
            400,
            "more than max_events (3)",
        ),
    ];
    for (body, status, text) in cases {
        assert_error(app.post_json("/replays", &body).await, status, text).await;
    }
    assert_eq!(
        json_of(&app, "/replays").await["count"],
        0,
        "nothing started"
    );
    assert_error(app.get("/replays/nope").await, 400, "not a replay id").await;
    assert_error(
        app.get(&format!("/replays/{}", uuid::Uuid::new_v4())).await,
        404,
        "no replay",
    )
    .await;
}

/// Two instances on one database, both running their replayers: the job is leased by one at a
/// time, and every event is enqueued once.
#[actix_rt::test]
async fn with_two_instances_a_job_is_run_once() {
    let a = spawn_app_with(ROUTING).await;
    let b = spawn_on(a.db.share(), a.webhook.clone(), ROUTING).await;
    let ids = events_batch(
        &a,
        (0..300)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    all_sent(&a, 300).await;
    let job = replay(
        &b,
        json!({"endpoint": "default", "from": FROM, "mode": "all", "confirm": true}),
    )
    .await;
    // The other instance is told too (a job made elsewhere is found by its poll or a bell).
    let done = until_done(&a, job["id"].as_str().unwrap()).await;
    assert_eq!(
        (done["planned"].as_i64(), done["enqueued"].as_i64()),
        (Some(300), Some(300)),
        "{done}"
    );
    let seen = tally(&a.webhook.received());
    for id in &ids {
        assert_eq!(seen[&(String::new(), id.clone())], 2, "{id}");
    }
}

// A replay goes through the endpoint's own protection: its rate limit spaces the replayed
// deliveries as it spaces live ones.
both_stores!(replayed_deliveries_keep_to_the_endpoints_rate_limit);
async fn replayed_deliveries_keep_to_the_endpoints_rate_limit(backend: Backend) {
    let app = spawn_app_on(backend, ROUTING).await;
    events_batch(
        &app,
        (0..12)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    all_sent(&app, 12).await;
    let url = app.webhook.url.clone();
    endpoint(
        &app,
        json!({"name": "limited", "url": url, "headers": {"x-to": "limited"},
                          "rate_per_sec": 5, "burst": 1}),
    )
    .await;
    let job = replay(
        &app,
        json!({"endpoint": "limited", "from": FROM, "mode": "missing"}),
    )
    .await;
    until_done(&app, job["id"].as_str().unwrap()).await;
    let arrivals: Vec<Instant> = app
        .webhook
        .received()
        .iter()
        .filter(|r| r.headers.get("x-to").map(String::as_str) == Some("limited"))
        .map(|r| r.at)
        .collect();
    assert_eq!(arrivals.len(), 12);
    // 5 per second with a burst of 1: the last of 12 comes at least 11 / 5 s after the first.
    let spread = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
    assert!(
        spread >= Duration::from_millis(2000),
        "12 replayed in {spread:?}"
    );
}
