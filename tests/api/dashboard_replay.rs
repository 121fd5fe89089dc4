//! The dashboard's Replay panel in headless Chromium: count a replay, start it, watch it end,
//! and an error shown on the page.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::dashboard::eval;
use crate::helpers::*;
use crate::routing::{ROUTING, endpoint, events_batch, json_of};

const COUNT_THEN_START: &str = "(async () => {
  await waitFor(() => [...document.querySelectorAll('#replay-endpoint option')].some(o => o.value === 'late'));
  document.querySelector('#replay-endpoint').value = 'late';
  document.querySelector('#replay-from').value = '2000-01-01T00:00:00';
  document.querySelector('#replay-mode').value = 'missing';
  document.querySelector('#replay-count').click();
  const counted = await waitFor(() => document.querySelector('#replay-result').dataset.count);
  const said = document.querySelector('#replay-result').textContent;
  document.querySelector('#replay-start').click();
  const row = await waitFor(() => {
    const r = document.querySelector('#replays tbody tr[data-id]');
    return r && r.querySelector('.pill').textContent === 'done' && r.cells[5].textContent === '5' ? r : null;
  });
  return { counted, said, endpoint: row.cells[1].textContent, progress: row.cells[4].textContent };
})()";

const REFUSED: &str = "(async () => {
  document.querySelector('#replay-mode').value = 'all';
  document.querySelector('#replay-confirm').checked = false;
  document.querySelector('#replay-count').click();
  await waitFor(() => !document.querySelector('#replays-error').hidden);
  return document.querySelector('#replays-error').textContent;
})()";

#[actix_rt::test]
async fn the_replay_panel_counts_starts_and_shows_a_job_to_its_end() {
    let app = spawn_app_with(ROUTING).await;
    events_batch(
        &app,
        (0..5)
            .map(|n| json!({"type": "t", "payload": {"n": n}}))
            .collect(),
    )
    .await;
    endpoint(&app, json!({"name": "late", "url": app.webhook.url})).await;
    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (shown, browser) = eval(browser, COUNT_THEN_START).await;
    assert_eq!(
        shown,
        json!({"counted": "5", "said": "Would send 5 event(s): late 5", "endpoint": "late",
               "progress": "5 / 5"})
    );
    // "done" means every event is enqueued; the deliveries finish after it.
    wait_until(
        "the replay's five deliveries",
        Duration::from_secs(10),
        || async {
            let jobs: Value = json_of(&app, "/replays").await;
            jobs["replays"][0]["succeeded"] == 5
        },
    )
    .await;
    let (error, _) = eval(browser, REFUSED).await;
    assert!(
        error.as_str().unwrap().contains("add \"confirm\": true"),
        "{error}"
    );
}
