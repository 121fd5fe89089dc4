//! `/metrics` (Prometheus text, counters that move) and `/stats`.

use std::collections::HashMap;

use herald::domain::MessageStatus;
use serde_json::Value;

use crate::helpers::*;
use crate::receiver::Reply;

/// Parses the Prometheus text format strictly: `# HELP`/`# TYPE` lines, then samples
/// `name{label="value",...} number`. Returns every sample keyed by `name{labels}`.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut typed = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, value) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
            );
            assert!(kind == "HELP" || kind == "TYPE", "comment: {line}");
            if kind == "TYPE" {
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&value),
                    "{line}"
                );
                typed.insert(name.to_owned(), value.to_owned());
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample without value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name}"
        );
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            assert!(
                labels.starts_with('{') && labels.ends_with('}'),
                "labels of {line}"
            );
            for pair in labels[1..labels.len() - 1].split(',') {
                let (k, v) = pair.split_once('=').unwrap();
                assert!(
                    !k.is_empty() && v.starts_with('"') && v.ends_with('"'),
                    "label {pair}"
                );
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(
            typed.contains_key(name) || typed.contains_key(family),
            "{name} has a TYPE"
        );
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[actix_rt::test]
async fn metrics_parse_as_prometheus_text_and_move_with_deliveries() {
    let app = spawn_app().await;
    let before = parse_prometheus(&app.get("/metrics").await.text().await.unwrap());
    assert_eq!(
        before
            .get("herald_deliveries_total{outcome=\"success\"}")
            .copied()
            .unwrap_or(0.0),
        0.0
    );

    app.webhook.script([Reply::status(500)]);
    let [m, n] = app.insert(2).await.try_into().unwrap();
    // Either one may get the scripted 500: tick until each is sent (a retry waits for a tick).
    app.tick_until(m.id, MessageStatus::Sent).await;
    app.tick_until(n.id, MessageStatus::Sent).await;
    wait_until("both sent", std::time::Duration::from_secs(10), || async {
        app.db.count("status = 'sent'") == 2
    })
    .await;

    let response = app.get("/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let after = parse_prometheus(&response.text().await.unwrap());
    assert_eq!(after["herald_deliveries_total{outcome=\"success\"}"], 2.0);
    assert_eq!(after["herald_deliveries_total{outcome=\"retryable\"}"], 1.0);
    assert_eq!(after["herald_messages{status=\"sent\"}"], 2.0);
    assert_eq!(after["herald_messages{status=\"pending\"}"], 0.0);
    assert_eq!(after["herald_delivery_latency_seconds_count"], 2.0);
    assert_eq!(
        after["herald_webhook_request_duration_seconds_count{outcome=\"success\"}"],
        2.0
    );
    assert!(after["herald_claim_batch_size_count"] >= 2.0);
    assert!(after["herald_tick_duration_seconds_count"] >= 2.0);
    assert_eq!(after["herald_cache_errors_total"], 0.0);
    assert_eq!(after["herald_dispatch_active"], 1.0);
}

#[actix_rt::test]
async fn stats_count_messages_and_recent_deliveries() {
    let app = spawn_app_with(&[("BATCH_SIZE", "1")]).await;
    app.webhook.script([Reply::status(400)]);
    let [failed, sent, _waiting] = app.insert(3).await.try_into().unwrap();
    app.tick_until(failed.id, MessageStatus::Failed).await;
    app.tick_until(sent.id, MessageStatus::Sent).await;
    app.post("/messages/stop").await;

    let stats: Value = app.get("/stats").await.json().await.unwrap();
    assert_eq!(stats["messages"]["failed"], 1);
    assert_eq!(stats["messages"]["sent"], 1);
    assert_eq!(stats["messages"]["pending"], 1);
    assert_eq!(stats["dispatch"], "inactive");
    assert_eq!(stats["last_minute"]["deliveries"], 1);
    assert_eq!(stats["last_minute"]["failures"], 1);
    assert!(stats["oldest_due_age_seconds"].as_f64().unwrap() > 0.0);
    assert!(stats["last_tick_at"].as_str().is_some());
}
