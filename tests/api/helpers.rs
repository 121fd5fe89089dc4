//! Test harness: a database of its own per test (created, migrated by the app, dropped after),
//! a Redis key prefix of its own, a scripted webhook, and Herald on a random port.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use herald::actors::{Tick, TickOutcome};
use herald::db::Op;
use herald::db::{MessageRecord, NewMessage};
use herald::domain::{Content, MessageStatus, Recipient};
use herald::{Application, Handles, Settings, ShutdownReport};
use uuid::Uuid;

pub use crate::legacy::MessageOps;
use crate::receiver::TestWebhook;
pub use crate::testdb::{Backend, TestDb};

pub fn pg_base() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The URL of database `name` on the test server, without TLS: a test process that exits while
/// a pool thread is still connecting through OpenSSL can crash in OpenSSL's exit handler
/// (diesel-rs/diesel#3441); the server is local, so nothing is lost by going without.
pub fn pg_url(name: &str) -> String {
    format!("{}/{name}?sslmode=disable", pg_base())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The NATS server (with JetStream) the source tests share; each test has its own stream.
pub fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Settings for tests: fast intervals, producer off, the scheduler driven by the test.
pub fn test_settings(
    db_url: &str,
    webhook_url: &str,
    prefix: &str,
    overrides: &[(&str, &str)],
) -> Settings {
    let mut env: HashMap<String, String> = [
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", db_url),
        ("REDIS_URL", &redis_url()),
        ("CACHE_PREFIX", prefix),
        ("WEBHOOK_URL", webhook_url),
        ("WEBHOOK_TIMEOUT", "2s"),
        ("LEASE_DURATION", "10s"),
        ("PRODUCER_ENABLED", "false"),
        ("SCHEDULER_INTERVAL", "1h"),
        ("RETRY_SCHEDULE", "10ms,20ms,30ms,40ms"),
        ("SHUTDOWN_GRACE", "5s"),
        ("DATABASE_POOL_SIZE", "4"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(&|k| env.get(k).cloned()).expect("test settings are valid")
}

pub struct TestApp {
    pub address: String,
    pub handles: Handles,
    pub webhook: TestWebhook,
    pub db: TestDb,
    pub prefix: String,
    pub http: reqwest::Client,
    run: Option<tokio::task::JoinHandle<anyhow::Result<ShutdownReport>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(Backend::Postgres, overrides).await
}

/// Herald on a fresh store of the given kind.
pub async fn spawn_app_on(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::on(backend);
    let webhook = TestWebhook::start();
    spawn_on(db, webhook, overrides).await
}

/// Starts Herald on an existing database and webhook (several instances share them).
pub async fn spawn_on(db: TestDb, webhook: TestWebhook, overrides: &[(&str, &str)]) -> TestApp {
    let prefix = format!("herald_test:{}:", Uuid::new_v4().simple());
    let settings = test_settings(&db.url, &webhook.url, &prefix, overrides);
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handles = app.handles();
    let run = Some(actix_rt::spawn(app.run_until_stopped()));
    let test = TestApp {
        address,
        handles,
        webhook,
        db,
        prefix,
        http: reqwest::Client::new(),
        run,
    };
    // The scheduler ticks once at start; let that tick end so tests drive the next ones.
    wait_until("the first tick", Duration::from_secs(10), || async {
        test.handles.monitor.last_tick().is_some()
    })
    .await;
    test
}

/// Polls `check` every 20 ms until it holds; panics with `what` at the deadline.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn new_message(content: &str) -> NewMessage {
    NewMessage::new(
        Recipient::parse("+905551234567").unwrap(),
        Content::parse(content, 160).unwrap(),
    )
}

impl TestApp {
    pub async fn insert(&self, n: usize) -> Vec<MessageRecord> {
        let batch: Vec<NewMessage> = (0..n)
            .map(|i| new_message(&format!("message {i}")))
            .collect();
        let stored = self
            .handles
            .store
            .run(Op::Insert, move |s| s.insert(&batch))
            .await
            .unwrap();
        self.handles.wake.due();
        stored
    }

    pub async fn tick(&self) -> TickOutcome {
        self.handles.scheduler.send(Tick).await.unwrap()
    }

    /// A message's delivery history.
    pub async fn attempts(&self, id: Uuid) -> Vec<herald::db::AttemptRow> {
        self.handles
            .store
            .run(Op::Read, move |s| s.get(id))
            .await
            .unwrap()
            .1
    }

    pub async fn message(&self, id: Uuid) -> MessageRecord {
        self.handles
            .store
            .run(Op::Read, move |s| s.get(id))
            .await
            .unwrap()
            .0
    }

    /// Ticks until the message reaches `status`.
    pub async fn tick_until(&self, id: Uuid, status: MessageStatus) -> MessageRecord {
        wait_until(
            &format!("message to become {status}"),
            Duration::from_secs(10),
            || async {
                self.tick().await;
                self.message(id).await.status == status
            },
        )
        .await;
        self.message(id).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Shuts down as SIGTERM would and returns the report.
    pub async fn shutdown(&mut self) -> ShutdownReport {
        self.handles.request_shutdown();
        self.run.take().unwrap().await.unwrap().unwrap()
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .patch(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

/// Asserts an error response: its status and that the body is `{"error": <contains>, "status": "error"}`.
pub async fn assert_error(response: reqwest::Response, status: u16, contains: &str) {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: serde_json::Value = response.json().await.expect("error bodies are JSON");
    assert_eq!(body["status"], "error", "{body}");
    let text = body["error"].as_str().expect("error is a string");
    assert!(
        text.contains(contains),
        "'{text}' should contain '{contains}'"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only error and status: {body}"
    );
}

/// Opens a request whose body arrives one byte every 200 ms; keeps the connection busy.
pub fn slow_upload(address: &str) -> std::thread::JoinHandle<()> {
    use std::io::Write;
    let host = address.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        let Ok(mut stream) = std::net::TcpStream::connect(&host) else {
            return;
        };
        let body = br#"{"recipient":"+905551111111","content":"slow"}"#;
        let head = format!(
            "POST /messages HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        for byte in body {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

/// `both_stores!(name);` beside `async fn name(backend: Backend)` declares the tests
/// `name::postgres` and `name::sqlite`: the same test on each store.
macro_rules! both_stores {
    ($name:ident) => {
        mod $name {
            #[actix_rt::test]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }

            #[actix_rt::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
        }
    };
}
pub(crate) use both_stores;

/// An outcome to record for `claim`, with an attempt row that matches it.
pub fn recorded(claim: herald::db::Claim, finish: herald::domain::Finish) -> herald::db::Recorded {
    use herald::domain::{Finish, OutcomeKind};
    herald::db::Recorded {
        attempt: herald::db::AttemptRecord {
            attempt: claim.number,
            started_at: chrono::Utc::now(),
            duration_ms: 3,
            kind: match finish {
                Finish::Sent { .. } => OutcomeKind::Success,
                Finish::Retry { .. } => OutcomeKind::Retryable,
                Finish::Failed { .. } => OutcomeKind::Permanent,
            },
            status_code: Some(202),
            error_class: None,
            excerpt: Some("ok".into()),
        },
        claim,
        finish,
    }
}
