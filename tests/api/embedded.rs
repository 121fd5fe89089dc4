//! The embedded mode as a user meets it: the binary with nothing set (SQLite file, in-memory
//! cache, built-in receiver), restarts and kill -9 on an SQLite file, and the files it refuses.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Reply, TestWebhook};
use crate::testdb::scratch_dir;

const BIN: &str = env!("CARGO_BIN_EXE_herald");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `herald serve` in `dir`, with none of DATABASE_URL, REDIS_URL and WEBHOOK_URL inherited.
struct Herald {
    child: Child,
    base: String,
}

impl Herald {
    async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(BIN)
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("WEBHOOK_URL")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let herald = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        wait_until(
            "herald to answer /health",
            Duration::from_secs(20),
            || async {
                http.get(format!("{}/health", herald.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        herald
    }

    async fn json(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn signal(&self, signal: &str) {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// SIGTERM; the exit status.
    async fn stop(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let mut status = None;
        wait_until("herald to exit", Duration::from_secs(20), || {
            status = self.child.try_wait().unwrap();
            std::future::ready(status.is_some())
        })
        .await;
        status.unwrap()
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary once in `dir` and returns its exit status and stderr.
fn run_once(dir: &Path, database_url: &str) -> (bool, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[actix_rt::test]
async fn with_nothing_set_herald_runs_the_whole_demo_and_keeps_its_data() {
    let dir = scratch_dir();
    let sink = free_port();
    let env = [
        ("SINK_ADDR", &*format!("127.0.0.1:{sink}")),
        ("SCHEDULER_INTERVAL", "200ms"),
    ];
    let herald = Herald::start(&dir, &env).await;
    let health = herald.json("/health").await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["checks"]["database"]["backend"], "sqlite");
    assert_eq!(health["checks"]["cache"]["backend"], "memory");

    let created: Value = reqwest::Client::new()
        .post(format!("{}/messages", herald.base))
        .json(&json!({"recipient": "+905551234567", "content": "zero config"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    wait_until(
        "the message to be sent",
        Duration::from_secs(15),
        || async { herald.json(&format!("/messages/{id}")).await["status"] == "sent" },
    )
    .await;
    let received: Value = reqwest::get(format!("http://127.0.0.1:{sink}/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        received["distinct_ids"].as_u64().unwrap() >= 1,
        "{received}"
    );
    assert!(dir.join("herald.db").is_file());
    assert!(herald.stop().await.success());

    // The data survives a restart.
    let again = Herald::start(&dir, &env).await;
    let listed = again.json("/messages?limit=100").await;
    let ids: Vec<&str> = listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{listed}");
    assert!(again.stop().await.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[actix_rt::test]
async fn kill_9_mid_drain_then_a_restart_loses_nothing() {
    let dir = scratch_dir();
    let webhook = TestWebhook::start();
    webhook.always(Reply::accepted().delay(Duration::from_millis(20)));
    let db = format!("sqlite://{}", dir.join("queue.db").display());
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("WEBHOOK_URL", webhook.url.as_str()),
        ("DISPATCH_MODE", "continuous"),
        ("SENDER_CONCURRENCY", "8"),
        ("BATCH_SIZE", "8"),
        ("WEBHOOK_TIMEOUT", "1s"),
        ("LEASE_DURATION", "3s"),
        ("SCHEDULER_INTERVAL", "200ms"),
        ("PRODUCER_ENABLED", "false"),
    ];
    let herald = Herald::start(&dir, &env).await;
    let items: Vec<Value> = (0..400)
        .map(|i| json!({"recipient": "+905551234567", "content": format!("m{i}")}))
        .collect();
    let stored: Value = reqwest::Client::new()
        .post(format!("{}/messages/batch", herald.base))
        .json(&json!({ "messages": items }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: HashSet<String> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 400);
    wait_until(
        "the drain to be under way",
        Duration::from_secs(15),
        || async { webhook.count() >= 60 },
    )
    .await;
    herald.signal("-KILL");
    drop(herald);

    let again = Herald::start(&dir, &env).await;
    wait_until(
        "all 400 sent after the restart",
        Duration::from_secs(30),
        || async { again.json("/stats").await["messages"]["sent"] == 400 },
    )
    .await;
    let stats = again.json("/stats").await;
    assert_eq!(stats["messages"]["sending"], 0, "{stats}");
    assert_eq!(stats["messages"]["pending"], 0, "{stats}");
    let received = webhook.received();
    let distinct: HashSet<String> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(distinct, ids, "every message arrived");
    // Only what was under way at the kill can arrive twice: at most 2 x SENDER_CONCURRENCY
    // deliveries (the HTTP calls, and the answered ones whose outcome awaits its commit).
    assert!(
        received.len() - distinct.len() <= 16,
        "{} duplicates",
        received.len() - 400
    );
    assert!(again.stop().await.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[actix_rt::test]
async fn a_second_herald_on_the_same_file_stops_with_a_clear_error() {
    let dir = scratch_dir();
    let first = Herald::start(&dir, &[("SINK_ADDR", "127.0.0.1:0")]).await;
    let (ok, stderr) = run_once(&dir, "sqlite://herald.db");
    assert!(!ok);
    assert!(
        stderr.contains("DATABASE_URL=sqlite://herald.db")
            && stderr.contains("in use by another Herald process"),
        "{stderr}"
    );
    assert_eq!(
        first.json("/health").await["status"],
        "ok",
        "the owner goes on"
    );
    assert!(first.stop().await.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_paths_and_corrupt_files_are_refused_and_left_alone() {
    let dir = scratch_dir();
    for (url, says) in [
        (
            "sqlite:///proc/herald-test.db",
            "cannot write /proc/herald-test.db",
        ),
        (&*format!("sqlite://{}", dir.display()), "cannot write"),
        (
            "sqlite://missing/dir/herald.db",
            "cannot write missing/dir/herald.db",
        ),
    ] {
        let (ok, stderr) = run_once(&dir, url);
        assert!(!ok, "{url}");
        assert!(
            stderr.contains(&format!("DATABASE_URL={url}")) && stderr.contains(says),
            "{url}: {stderr}"
        );
    }
    let corrupt = dir.join("corrupt.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&corrupt, &garbage).unwrap();
    let (ok, stderr) = run_once(&dir, "sqlite://corrupt.db");
    assert!(!ok);
    assert!(
        stderr.contains("DATABASE_URL=sqlite://corrupt.db")
            && stderr.contains("not a usable SQLite database"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        garbage,
        "nothing overwritten"
    );
    let (ok, stderr) = run_once(&dir, "mysql://root@127.0.0.1/herald");
    assert!(!ok);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("sqlite://PATH"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
