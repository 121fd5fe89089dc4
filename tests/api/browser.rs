//! Swagger UI in a real browser: headless Chromium, driven over the DevTools protocol.
//! The rendered page must list every operation of the document, and "Try it out" → Execute on
//! `GET /messages` must show a 200. A screenshot is saved to `target/swagger-ui.png`.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::helpers::*;

struct Browser {
    child: Child,
    profile: PathBuf,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The page's session, once attached; commands go to the browser before that.
    session: Option<String>,
}

fn chromium_path() -> String {
    let candidates = [
        std::env::var("CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
    ];
    candidates
        .into_iter()
        .find(|p| !p.is_empty() && std::path::Path::new(p).exists())
        .expect("Chromium is needed for the browser checks: apt-get install chromium (.ci/run installs it)")
}

impl Browser {
    /// Starts Chromium on a blank page, attaches to it, and loads `url`.
    fn open(url: &str) -> Self {
        let profile =
            std::env::temp_dir().join(format!("herald-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--window-size=1280,2400",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // DevToolsActivePort holds the port, then the browser's websocket path.
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let (port, path) = loop {
            let text = std::fs::read_to_string(&port_file).unwrap_or_default();
            if let [port, path] = text.lines().collect::<Vec<_>>()[..] {
                break (port.to_owned(), path.to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "Chromium did not open its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let (ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}{path}"))
            .expect("DevTools websocket");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
        }
        let mut browser = Self {
            child,
            profile,
            ws,
            next_id: 0,
            session: None,
        };
        let targets = browser.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target")["targetId"]
            .clone();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        browser.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        browser.call("Page.enable", json!({}));
        browser.call("Page.navigate", json!({"url": url}));
        browser.wait_for_event("Page.loadEventFired");
        browser
    }

    fn wait_for_event(&mut self, method: &str) {
        loop {
            if let Message::Text(text) = self.ws.read().expect("DevTools event") {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                if event["method"] == method {
                    return;
                }
            }
        }
    }

    /// Sends one DevTools command and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut request = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            request["sessionId"] = json!(session);
        }
        let request = request.to_string();
        self.ws.send(Message::Text(request.into())).unwrap();
        loop {
            if let Message::Text(text) = self.ws.read().expect("DevTools answer") {
                let reply: Value = serde_json::from_str(text.as_str()).unwrap();
                if reply["id"] == id {
                    assert!(reply.get("error").is_none(), "{method}: {reply}");
                    return reply["result"].clone();
                }
            }
        }
    }

    /// Evaluates an async JS expression in the page and returns its value.
    fn eval(&mut self, script: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": format!("{WAIT_FOR}\n{script}"), "awaitPromise": true, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "page script failed: {result}"
        );
        result["result"]["value"].clone()
    }

    fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `waitFor(fn, ms)`: polls until `fn()` is truthy, rejects after `ms`.
const WAIT_FOR: &str = "var waitFor = async (f, ms = 20000) => {
  const end = Date.now() + ms;
  for (;;) { const v = f(); if (v) return v; if (Date.now() > end) throw new Error('timed out: ' + f); await new Promise(r => setTimeout(r, 100)); }
};";

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
    assert_eq!(expected.len(), 11, "{expected:?}");

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
