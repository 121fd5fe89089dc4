//! Swagger UI in a real browser: headless Chromium, driven over the DevTools protocol.
//! The rendered page must list every operation of the document, and "Try it out" → Execute on
//! `GET /messages` must show a 200. A screenshot is saved to `target/swagger-ui.png`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::chromium::Browser;
use crate::helpers::*;

const LIST_OPERATIONS: &str = "(async () => {
  await waitFor(() => document.querySelectorAll('.opblock').length > 0);
  return [...document.querySelectorAll('.opblock')].map(b => {
    const method = b.querySelector('.opblock-summary-method').textContent.trim();
    const p = b.querySelector('.opblock-summary-path');
    return method + ' ' + (p.getAttribute('data-path') || p.textContent).replace(/\\u200b/g, '').trim();
  });
})()";

const TRY_LIST_MESSAGES: &str = "(async () => {
  // Elements are re-rendered by React: query afresh on every poll, click only while needed.
  const q = sel => document.querySelector('#operations-messages-listMessages ' + sel);
  await waitFor(() => {
    const control = q('.opblock-summary-control');
    if (control && control.getAttribute('aria-expanded') !== 'true') control.click();
    return q('.try-out__btn');
  });
  await waitFor(() => {
    const execute = q('button.execute');
    if (!execute) q('.try-out__btn').click();
    return execute;
  });
  q('button.execute').click();
  const status = await waitFor(() => q('.live-responses-table .response .response-col_status'));
  const body = q('.live-responses-table .response-col_description pre');
  return { status: status.textContent.trim(), body: body ? body.textContent : '' };
})()";

#[actix_rt::test]
async fn swagger_ui_lists_every_operation_and_try_it_out_works() {
    let app = spawn_app().await;
    app.insert(1).await;
    app.tick().await;

    let document: Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let expected: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    assert_eq!(expected.len(), 51, "{expected:?}");

    let url = format!("{}/swagger-ui/", app.address);
    let (rendered, tried, shot) = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::open(&url);
        let rendered = browser.eval(LIST_OPERATIONS);
        let tried = browser.eval(TRY_LIST_MESSAGES);
        let shot = browser.screenshot("swagger-ui.png");
        (rendered, tried, shot)
    })
    .await
    .unwrap();

    let rendered: BTreeSet<String> = rendered
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rendered, expected,
        "the page shows exactly the document's operations"
    );
    assert_eq!(
        tried["status"], "200",
        "Try it out on GET /messages: {tried}"
    );
    let body: Value = serde_json::from_str(tried["body"].as_str().unwrap())
        .expect("the page shows the JSON body");
    assert_eq!(body["total"], 1);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot at {}",
        shot.display()
    );
}
