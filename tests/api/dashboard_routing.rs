//! The dashboard's routing panels in headless Chromium: the endpoints with their recent
//! attempts, their protection and Enable/Disable, and a message's deliveries per endpoint.

use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::dashboard::eval;
use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};
use crate::routing::{ROUTING, endpoint, event, until_event};

const READ_ENDPOINTS: &str = "(async () => {
  const rows = () => [...document.querySelectorAll('#endpoints tbody tr[data-name]')];
  await waitFor(() => rows().length === 4 && rows().some(r => r.cells[4].textContent !== '0'));
  return Object.fromEntries(rows().map(r => [r.dataset.name, {
    state: r.cells[3].textContent, succeeded: Number(r.cells[4].textContent), failed: Number(r.cells[5].textContent),
    error: r.cells[6].textContent, protection: r.cells[7].textContent,
    action: r.querySelector('button').dataset.action }]));
})()";

const DISABLE_FLAKY: &str = "(async () => {
  document.querySelector('#endpoints tr[data-name=flaky] button').click();
  await waitFor(() => document.querySelector('#endpoints tr[data-name=flaky] button').dataset.action === 'enable');
  return document.querySelector('#endpoints tr[data-name=flaky]').cells[3].textContent;
})()";

const OPEN_MESSAGE: &str = "(async () => {
  document.querySelector('#filter').value = 'all';
  document.querySelector('#filter').dispatchEvent(new Event('change'));
  const row = await waitFor(() => document.querySelector('#messages tbody tr[data-id=\"MESSAGE\"]'));
  row.click();
  await waitFor(() => document.querySelectorAll('#deliveries tbody tr[data-endpoint]').length === 4);
  return [...document.querySelectorAll('#deliveries tbody tr[data-endpoint]')]
    .map(r => [r.dataset.endpoint, r.querySelector('.pill').textContent]).sort();
})()";

#[actix_rt::test]
async fn the_dashboard_shows_endpoints_their_recent_attempts_and_a_messages_deliveries() {
    let app = spawn_app_with(&[&[("RETRY_SCHEDULE", "")], ROUTING].concat()).await;
    let (good, flaky) = (TestWebhook::start(), TestWebhook::start());
    flaky.always(Reply::status(400));
    endpoint(&app, json!({"name": "good", "url": good.url})).await;
    // Limited, and gone: the first delivery's 410 disables it.
    let gone = TestWebhook::start();
    gone.always(Reply::status(410));
    endpoint(
        &app,
        json!({"name": "limited", "url": gone.url, "rate_per_sec": 5, "event_types": ["message"]}),
    )
    .await;
    endpoint(
        &app,
        json!({"name": "flaky", "url": flaky.url, "event_types": ["message"]}),
    )
    .await;
    let message: Value = app
        .post_json(
            "/messages",
            &json!({"recipient": "+905551234567", "content": "hello"}),
        )
        .await
        .json()
        .await
        .unwrap();
    until_event(&app, message["id"].as_str().unwrap(), "failed").await;

    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (shown, browser) = eval(browser, READ_ENDPOINTS).await;
    assert_eq!(
        shown["good"],
        json!({"state": "enabled", "succeeded": 1, "failed": 0, "error": "–", "protection": "–",
               "action": "disable"})
    );
    assert_eq!(
        shown["limited"]["protection"], "5/s; disabled: the receiver answered 410 Gone",
        "{shown}"
    );
    assert_eq!(
        (
            shown["flaky"]["failed"].as_u64(),
            shown["flaky"]["error"].as_str()
        ),
        (Some(1), Some("HTTP 400"))
    );
    let (state, browser) = eval(browser, DISABLE_FLAKY).await;
    assert_eq!(state, "disabled");
    let listed: Value = app.get("/endpoints/flaky").await.json().await.unwrap();
    assert_eq!(listed["enabled"], false, "the button called the API");
    let open = OPEN_MESSAGE.replace("MESSAGE", message["id"].as_str().unwrap());
    let (deliveries, _) = eval(browser, &open).await;
    assert_eq!(
        deliveries,
        json!([
            ["default", "sent"],
            ["flaky", "failed"],
            ["good", "sent"],
            ["limited", "failed"]
        ])
    );
    let skipped = event(
        &app,
        json!({"type": "message", "payload": {"to": "+905551234567", "content": "x"}}),
    )
    .await;
    assert!(
        skipped["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["endpoint"] != "flaky")
    );
}
