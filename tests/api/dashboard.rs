//! The dashboard at `/` in headless Chromium: what it shows matches the API, its buttons do what
//! the endpoints do, and with `API_TOKEN` set it shows nothing until the token is entered.
//! A screenshot is saved to `target/dashboard.png`.

use std::time::Duration;

use serde_json::Value;

use crate::chromium::Browser;
use crate::helpers::*;
use crate::receiver::Reply;

/// Waits for the panels, then reads the counts the page shows.
const READ_COUNTS: &str = "(async () => {
  await waitFor(() => document.querySelector('#count-list [data-status=sent] dd'));
  return Object.fromEntries([...document.querySelectorAll('#count-list [data-status]')]
    .map(d => [d.dataset.status, Number(d.querySelector('dd').textContent.replace(/,/g, ''))]));
})()";

fn click_and_wait_for_state(button: &str, state: &str) -> String {
    format!(
        "(async () => {{
  document.querySelector('#{button}').click();
  return (await waitFor(() => {{
    const s = document.querySelector('#dispatch-state');
    return s.textContent === '{state}' && s.textContent;
  }}));
}})()"
    )
}

const FAILED_FILTER: &str = "(async () => {
  const filter = document.querySelector('#filter');
  filter.value = 'failed';
  filter.dispatchEvent(new Event('change'));
  const rows = () => [...document.querySelectorAll('#messages tbody tr[data-id]')];
  // The table shows the new filter once every row it lists has that status.
  await waitFor(() => rows().length && rows().every(r => r.querySelector('.pill').textContent === 'failed'));
  return rows().map(r => ({
    id: r.dataset.id, status: r.querySelector('.pill').textContent,
    action: r.querySelector('button') ? r.querySelector('button').dataset.action : null }));
})()";

const CLICK_RETRY: &str = "(async () => {
  document.querySelector('#messages tbody tr[data-id] button[data-action=retry]').click();
  return true;
})()";

const CHART_BARS: &str = "(async () => {
  await waitFor(() => document.querySelectorAll('#chart rect.bar').length > 0);
  return { bars: document.querySelectorAll('#chart rect.bar').length,
           lines: document.querySelectorAll('#chart polyline').length };
})()";

/// Opens the first row and waits for its attempt history.
const OPEN_DETAIL: &str = "(async () => {
  document.querySelector('#filter').value = 'all';
  document.querySelector('#filter').dispatchEvent(new Event('change'));
  const row = await waitFor(() => document.querySelector('#messages tbody tr[data-id]'));
  row.click();
  await waitFor(() => document.querySelectorAll('#attempts tbody tr').length > 0
    && !document.querySelector('#detail').hidden);
  return document.querySelectorAll('#attempts tbody tr').length;
})()";

#[actix_rt::test]
async fn the_dashboard_shows_the_api_and_its_buttons_act_on_it() {
    let app = spawn_app_with(&[
        ("DISPATCH_MODE", "continuous"),
        ("SCHEDULER_INTERVAL", "200ms"),
        ("RETRY_SCHEDULE", ""),
    ])
    .await;
    // "doomed" is refused (422) the first time, and accepted when retried.
    app.webhook.rule(|received, before| {
        if received.json()["content"] == "doomed" && before == 0 {
            Reply::status(422).body("refused")
        } else {
            Reply::accepted()
        }
    });
    app.insert(5).await;
    let doomed = app
        .post_json(
            "/messages",
            &serde_json::json!({"recipient": "+905551234567", "content": "doomed"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_until("5 sent and 1 failed", Duration::from_secs(15), || async {
        let stats: Value = app.get("/stats").await.json().await.unwrap();
        stats["messages"]["sent"] == 5 && stats["messages"]["failed"] == 1
    })
    .await;

    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (counts, mut browser) = eval(browser, READ_COUNTS).await;
    let stats: Value = app.get("/stats").await.json().await.unwrap();
    for status in ["pending", "sending", "sent", "failed", "cancelled"] {
        assert_eq!(
            counts[status], stats["messages"][status],
            "{status}: {counts}"
        );
    }

    (_, browser) = eval(browser, &click_and_wait_for_state("stop", "inactive")).await;
    let stats: Value = app.get("/stats").await.json().await.unwrap();
    assert_eq!(stats["dispatch"], "inactive");
    (_, browser) = eval(browser, &click_and_wait_for_state("start", "active")).await;
    let stats: Value = app.get("/stats").await.json().await.unwrap();
    assert_eq!(stats["dispatch"], "active");

    let failed;
    (failed, browser) = eval(browser, FAILED_FILTER).await;
    assert_eq!(
        failed,
        serde_json::json!([{"id": doomed, "status": "failed", "action": "retry"}])
    );
    (_, browser) = eval(browser, CLICK_RETRY).await;
    let id: uuid::Uuid = doomed.parse().unwrap();
    wait_until(
        "the retried message to be sent",
        Duration::from_secs(15),
        || async { app.message(id).await.status.as_str() == "sent" },
    )
    .await;
    assert_eq!(app.attempts(id).await.len(), 2, "one 422, then the retry");

    let chart;
    (chart, browser) = eval(browser, CHART_BARS).await;
    assert!(chart["bars"].as_u64().unwrap() >= 1, "{chart}");
    assert_eq!(chart["lines"], 2, "p50 and p99: {chart}");
    let rows;
    (rows, browser) = eval(browser, OPEN_DETAIL).await;
    assert!(rows.as_u64().unwrap() >= 1);

    let shot = tokio::task::spawn_blocking(move || browser.screenshot("dashboard.png"))
        .await
        .unwrap();
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 20_000,
        "{}",
        shot.display()
    );
}

const LOGIN_STATE: &str = "(async () => {
  await waitFor(() => !document.querySelector('#login').hidden);
  return { dashboard_hidden: document.querySelector('#dashboard').hidden,
           counts: document.querySelectorAll('#count-list [data-status]').length,
           rows: document.querySelectorAll('#messages tbody tr').length };
})()";

fn enter_token(token: &str) -> String {
    format!(
        "(async () => {{
  document.querySelector('#token').value = '{token}';
  document.querySelector('#login').requestSubmit();
  await waitFor(() => !document.querySelector('#login').hidden
    ? !document.querySelector('#login-error').hidden && 'refused'
    : document.querySelector('#count-list [data-status]') && 'shown');
  return document.querySelector('#login').hidden ? 'shown' : 'refused';
}})()"
    )
}

#[actix_rt::test]
async fn with_a_token_set_the_dashboard_shows_nothing_until_it_is_entered() {
    let app = spawn_app_with(&[("API_TOKEN", "s3cret")]).await;
    app.insert(2).await;
    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (before, browser) = eval(browser, LOGIN_STATE).await;
    assert_eq!(
        before,
        serde_json::json!({"dashboard_hidden": true, "counts": 0, "rows": 0})
    );
    let (wrong, browser) = eval(browser, &enter_token("guess")).await;
    assert_eq!(wrong, "refused");
    let (right, browser) = eval(browser, &enter_token("s3cret")).await;
    assert_eq!(right, "shown");
    let (counts, _) = eval(browser, READ_COUNTS).await;
    assert_eq!(counts["pending"], 2, "{counts}");
}

#[actix_rt::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let app = spawn_app_with(&[("API_TOKEN", "s3cret")]).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/dashboard.js", "text/javascript"),
        ("/assets/routing.js", "text/javascript"),
        ("/assets/replay.js", "text/javascript"),
        ("/assets/rules.js", "text/javascript"),
        ("/assets/sources.js", "text/javascript"),
        ("/assets/dashboard.css", "text/css"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path} is public");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("/swagger-ui/"), "links to Swagger UI");
}

/// Runs a page script on the blocking pool (the DevTools socket blocks) and hands the browser back.
pub async fn eval(mut browser: Browser, script: &str) -> (Value, Browser) {
    let script = script.to_owned();
    tokio::task::spawn_blocking(move || {
        let value = browser.eval(&script);
        (value, browser)
    })
    .await
    .unwrap()
}
