//! The dashboard's Sources panel in headless Chromium: a source reading a Redis stream with its
//! counts, one whose broker cannot be reached shown failing (and in the health list), and the
//! Pause button pausing the first.

use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::dashboard::eval;
use crate::helpers::*;
use crate::routing::ROUTING;
use crate::source_helpers::{create_source, redis_at, source_until, stream_key, xadd};

const ROWS: &str = "(async () => {
  const row = (name) => document.querySelector(`#sources tbody tr[data-name=\"${name}\"]`);
  await waitFor(() => row('orders') && row('orders').cells[5].textContent === '2'
    && row('orders').cells[8].textContent === '0'
    && row('nowhere') && row('nowhere').cells[3].textContent === 'failing');
  const cells = (name) => [...row(name).cells].map((c) => c.textContent);
  const health = await waitFor(() => document.querySelector('#checks li[data-check=\"sources\"]'));
  const shown = { orders: cells('orders'), nowhere: cells('nowhere'), health: health.textContent };
  row('orders').querySelector('button[data-action=\"pause\"]').click();
  await waitFor(() => row('orders').cells[3].textContent === 'paused'
    && row('orders').querySelector('button[data-action=\"resume\"]'));
  shown.paused = row('orders').cells[3].textContent;
  return shown;
})()";

#[actix_rt::test]
async fn the_sources_panel_shows_counts_a_failing_source_and_pauses_one() {
    let app = spawn_app_with(ROUTING).await;
    let stream = stream_key("dashboard");
    let mut redis = redis_at(&redis_url()).await;
    xadd(
        &mut redis,
        &stream,
        &[("type", "order.created"), ("json", r#"{"total":1}"#)],
    )
    .await;
    xadd(
        &mut redis,
        &stream,
        &[("type", "order.created"), ("json", r#"{"total":2}"#)],
    )
    .await;
    create_source(
        &app,
        json!({"name": "orders", "kind": "redis_stream", "url": redis_url(), "stream": stream,
               "start": "all", "type": "$.type", "payload": "$.json"}),
    )
    .await;
    let port = crate::throwaway::free_port();
    create_source(
        &app,
        json!({"name": "nowhere", "kind": "redis_stream", "url": format!("redis://127.0.0.1:{port}"),
               "stream": "s", "type": "t"}),
    )
    .await;
    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (shown, _) = eval(browser, ROWS).await;
    let orders: Vec<&str> = shown["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        &orders[..9],
        [
            "orders",
            "Redis",
            stream.as_str(),
            "running",
            "2",
            "2",
            "0",
            "0",
            "0"
        ],
        "{shown}"
    );
    assert_eq!(shown["nowhere"][3], "failing");
    assert!(
        shown["nowhere"][9].as_str().unwrap().starts_with("redis:"),
        "{shown}"
    );
    assert!(
        shown["health"].as_str().unwrap().contains("nowhere"),
        "{shown}"
    );
    assert_eq!(shown["paused"], "paused");
    let stored: Value = source_until(&app, "orders", "paused", |s| s["enabled"] == false).await;
    assert_eq!(stored["state"], "paused");
}
