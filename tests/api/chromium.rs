//! Headless Chromium driven over the DevTools protocol, for the checks that need a real
//! browser (Swagger UI, the dashboard).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Browser {
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
    pub fn open(url: &str) -> Self {
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
    pub fn call(&mut self, method: &str, params: Value) -> Value {
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
    pub fn eval(&mut self, script: &str) -> Value {
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

    pub fn screenshot(&mut self, name: &str) -> PathBuf {
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
