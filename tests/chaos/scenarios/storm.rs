//! The webhook storm: every answer the delivery contract names, at once, and each message's
//! stored history checked against the contract.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Double, Text};

use crate::helpers::{TestDb, redis_url};
use crate::process::{Herald, base_env, drained, migrate, queue, set_dispatch};
use crate::receiver::{Received, Reply, TestWebhook};
use crate::{Row, Scale};

/// Which answer a message gets: its number (from its content, `storm N`) modulo 5.
fn class(received: &Received) -> usize {
    received.json()["content"]
        .as_str()
        .and_then(|c| c.rsplit(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        % 5
}

#[derive(QueryableByName)]
struct History {
    #[diesel(sql_type = Text)]
    content: String,
    #[diesel(sql_type = Text)]
    status: String,
    /// Each attempt as its status code or error class, in order.
    #[diesel(sql_type = Text)]
    attempts: String,
    /// Seconds between the first and the last attempt's start.
    #[diesel(sql_type = Double)]
    span: f64,
}

/// What the contract says each class ends as: (status, attempts, minimum span in seconds).
fn expected(class: usize) -> (&'static str, &'static str, f64) {
    match class {
        0 => ("failed", "500,500,500,500,500", 0.5),
        1 => ("sent", "429,202", 1.0),
        2 => ("sent", "timeout,202", 0.1),
        3 => ("failed", "410", 0.0),
        _ => ("failed", "302", 0.0),
    }
}

pub async fn storm(scale: Scale) -> Row {
    let n = scale.pick(500, 100);
    let db = TestDb::create();
    migrate(&db.url);
    set_dispatch(&db.url, false);
    queue(&db.url, n, "storm");
    let elsewhere = TestWebhook::start();
    let webhook = TestWebhook::start_with_workers(2);
    let target = elsewhere.url.clone();
    webhook.rule(move |received, before| match (class(received), before) {
        (0, _) => Reply::status(500).body("down"),
        (1, 0) => Reply::status(429).header("retry-after", "1"),
        (2, 0) => Reply::accepted().delay(Duration::from_millis(1500)),
        (3, _) => Reply::status(410).body("gone"),
        (4, _) => Reply::status(302).header("location", &target),
        _ => Reply::accepted(),
    });
    let env = base_env(&db.url, &redis_url(), &webhook.url);
    let _herald = Herald::start(&env, "storm").await;
    set_dispatch(&db.url, true);
    let finished = drained(&db.url, Duration::from_secs(120)).await;

    let histories: Vec<History> = diesel::sql_query(
        "SELECT e.payload::json ->> 'content' AS content, m.status,
                coalesce(string_agg(coalesce(a.status_code::text, a.error_class), ',' ORDER BY a.attempt), '') AS attempts,
                coalesce(extract(epoch FROM max(a.started_at) - min(a.started_at)), 0)::float8 AS span
         FROM deliveries m JOIN events e ON e.id = m.event_id
         LEFT JOIN delivery_attempts a ON a.delivery_id = m.id
         GROUP BY m.id, e.payload, m.status",
    )
    .load(&mut db.connect())
    .unwrap();
    let mut broken = Vec::new();
    for h in &histories {
        let number: usize = h.content.rsplit(' ').next().unwrap().parse().unwrap();
        let (status, attempts, span) = expected(number % 5);
        if h.status != status || h.attempts != attempts || h.span < span {
            broken.push(format!(
                "{}: {} [{}] {:.1}s",
                h.content, h.status, h.attempts, h.span
            ));
        }
    }
    let (received, distinct) = webhook.tally();
    let calls: usize = (0..n).map(|i| [5, 2, 2, 1, 1][(i + 1) % 5]).sum();
    let lost = n.saturating_sub(distinct);
    let duplicates = received.saturating_sub(calls);
    Row {
        scenario: "webhook storm: 500, 429 + Retry-After, timeout, 410, 302".into(),
        messages: n,
        lost,
        duplicates,
        recovery: None,
        notes: format!(
            "{} of {n} histories off the contract{}; {} calls followed the redirect",
            broken.len(),
            broken
                .first()
                .map(|b| format!(" (first: {b})"))
                .unwrap_or_default(),
            elsewhere.count()
        ),
        ok: finished.is_some()
            && broken.is_empty()
            && lost == 0
            && duplicates == 0
            && elsewhere.count() == 0,
    }
}
