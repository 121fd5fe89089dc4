//! Herald as a process (the binary built with this test), a fresh database per scenario, and
//! polling helpers.

use std::collections::HashMap;
use std::fs::File;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::throwaway::free_port;

pub const BIN: &str = env!("CARGO_BIN_EXE_herald");

/// Settings every scenario starts from: fast dispatch, no demo producer, JSON logs.
pub fn base_env(database_url: &str, redis_url: &str, webhook_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("REDIS_URL", redis_url),
        ("WEBHOOK_URL", webhook_url),
        ("CACHE_PREFIX", "chaos:"),
        ("PRODUCER_ENABLED", "false"),
        ("SCHEDULER_INTERVAL", "20ms"),
        ("BATCH_SIZE", "200"),
        ("SENDER_CONCURRENCY", "32"),
        ("DATABASE_POOL_SIZE", "8"),
        ("WEBHOOK_TIMEOUT", "1s"),
        ("LEASE_DURATION", "4s"),
        ("RETRY_SCHEDULE", "200ms,200ms,200ms,200ms"),
        ("SHUTDOWN_GRACE", "2s"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub struct Herald {
    child: Child,
    pub address: String,
    pub log: std::path::PathBuf,
}

impl Herald {
    /// Starts `herald serve` and waits until `/health` answers (any status).
    pub async fn start(env: &HashMap<String, String>, name: &str) -> Self {
        let port = free_port();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/chaos");
        std::fs::create_dir_all(dir).unwrap();
        let log = std::path::Path::new(dir).join(format!("{name}.log"));
        let file = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .envs(env)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let herald = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http
            .get(format!("{}/health", herald.address))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "herald did not start: {}",
                herald.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        herald
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit.
    pub async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill9();
        }
    }
}

/// Applies migrations with `herald migrate`.
pub fn migrate(database_url: &str) {
    let out = Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Queues `n` due messages (events of type `message`, each with its delivery to `default`) in
/// one transaction; dispatch stays as it is.
pub fn queue(database_url: &str, n: usize, tag: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = PgConnection::establish(database_url).unwrap();
    conn.batch_execute(&format!(
        "BEGIN;
         CREATE TEMP TABLE new_events AS
           SELECT gen_random_uuid() AS id,
                  '{{\"to\":\"+90555' || lpad(i::text, 7, '0') || '\",\"content\":\"{tag} ' || i || '\"}}' AS payload
           FROM generate_series(1, {n}) AS i;
         INSERT INTO events (id, type, payload, deliveries, open) SELECT id, 'message', payload, 1, 1 FROM new_events;
         INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at)
           SELECT gen_random_uuid(), id, '00000000-0000-0000-0000-000000000001', now() FROM new_events;
         DROP TABLE new_events;
         COMMIT;"
    ))
    .unwrap();
}

pub fn set_dispatch(database_url: &str, active: bool) {
    let mut conn = PgConnection::establish(database_url).unwrap();
    diesel::sql_query(format!("UPDATE dispatch_state SET active = {active}"))
        .execute(&mut conn)
        .unwrap();
}

/// Deliveries where `filter` holds, or `None` while the database cannot be reached.
pub fn count(database_url: &str, filter: &str) -> Option<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(database_url).ok()?;
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM deliveries WHERE {filter}"
    ))
    .get_result::<N>(&mut conn)
    .ok()
    .map(|r| r.n)
}

/// Waits until no delivery is pending or sending; returns how long it took, or `None` at the
/// deadline.
pub async fn drained(database_url: &str, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if count(database_url, "status IN ('pending', 'sending')") == Some(0) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// ERROR lines in a log, and how many of them are the once-per-outage "dependency failed".
pub fn error_lines(log: &std::path::Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""level":"ERROR""#))
        .collect();
    let outages = errors
        .iter()
        .filter(|l| l.contains("dependency failed"))
        .count();
    (errors.len(), outages)
}
