//! A real PostgreSQL outage under load, on a throwaway server: fast restarts and a stop while
//! clients call the API and dispatch runs. Only 2xx and 503 answers, one ERROR line per outage,
//! nothing created is lost and nothing is sent twice.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;
use crate::receiver::TestWebhook;
use crate::throwaway::{ThrowawayPg, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_herald");

#[derive(Default)]
struct Observed {
    statuses: Vec<u16>,
    created: Vec<String>,
}

/// One client: create, list, stats, over and over, until told to stop.
async fn client(address: String, stop: Arc<AtomicBool>, seen: Arc<Mutex<Observed>>, n: usize) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let body =
            serde_json::json!({"recipient": "+905551111111", "content": format!("load {n}-{i}")});
        if let Ok(response) = http
            .post(format!("{address}/messages"))
            .json(&body)
            .send()
            .await
        {
            let status = response.status().as_u16();
            let id = match status {
                201 => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned)),
                _ => None,
            };
            let mut seen = seen.lock().unwrap();
            seen.statuses.push(status);
            seen.created.extend(id);
        }
        for path in ["/messages?status=all", "/stats"] {
            if let Ok(response) = http.get(format!("{address}{path}")).send().await {
                seen.lock()
                    .unwrap()
                    .statuses
                    .push(response.status().as_u16());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn a_postgres_restart_and_stop_under_load_give_only_2xx_or_503_and_lose_nothing() {
    let pg = Arc::new(ThrowawayPg::start());
    let webhook = TestWebhook::start();
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let prefix = format!("herald_test:{}:", uuid::Uuid::new_v4().simple());
    let mut herald = Command::new(BIN)
        .arg("serve")
        .envs([
            ("DATABASE_URL", pg.url("postgres").as_str()),
            ("LISTEN_ADDR", &format!("127.0.0.1:{port}")),
            ("REDIS_URL", &redis_url()),
            ("CACHE_PREFIX", &prefix),
            ("WEBHOOK_URL", &webhook.url),
            ("WEBHOOK_TIMEOUT", "2s"),
            // Long enough that an outcome waiting for the database is recorded within its
            // lease, short enough that a claim whose answer was lost in a restart comes back.
            ("LEASE_DURATION", "12s"),
            ("SCHEDULER_INTERVAL", "100ms"),
            ("BATCH_SIZE", "20"),
            ("DATABASE_POOL_SIZE", "4"),
            ("PRODUCER_ENABLED", "false"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = herald.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let log_reader = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        })
    };
    let http = reqwest::Client::new();
    let health = |http: reqwest::Client, address: String| async move {
        http.get(format!("{address}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    };
    wait_until("herald to start", Duration::from_secs(20), || {
        health(http.clone(), address.clone())
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Observed::default()));
    let clients: Vec<_> = (0..3)
        .map(|n| {
            actix_rt::spawn(client(
                address.clone(),
                Arc::clone(&stop),
                Arc::clone(&seen),
                n,
            ))
        })
        .collect();
    let outages = {
        let pg = Arc::clone(&pg);
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(500));
            pg.restart();
            std::thread::sleep(Duration::from_millis(700));
            pg.restart();
            std::thread::sleep(Duration::from_millis(700));
            pg.stop();
            // The database stays away for three seconds.
            std::thread::sleep(Duration::from_secs(3));
            pg.resume();
        })
    };
    outages.await.unwrap();
    wait_until("health to recover", Duration::from_secs(20), || {
        health(http.clone(), address.clone())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let (statuses, created) = {
        let seen = seen.lock().unwrap();
        (seen.statuses.clone(), seen.created.clone())
    };
    let unexpected: Vec<u16> = statuses
        .iter()
        .copied()
        .filter(|s| !(200..300).contains(s) && *s != 503)
        .collect();
    assert!(unexpected.is_empty(), "only 2xx and 503: {unexpected:?}");
    assert!(statuses.contains(&503), "the outage was seen as 503");
    assert!(created.len() > 10, "load ran: {} created", created.len());

    wait_until(
        "every created message delivered",
        Duration::from_secs(30),
        || async {
            let delivered: HashSet<String> = webhook
                .received()
                .into_iter()
                .map(|r| r.webhook_id)
                .collect();
            created.iter().all(|id| delivered.contains(id))
        },
    )
    .await;
    let received = webhook.received();
    let distinct: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(distinct.len(), received.len(), "no message was sent twice");

    let _ = Command::new("kill")
        .args(["-TERM", &herald.id().to_string()])
        .status();
    assert!(herald.wait().unwrap().success());
    log_reader.join().unwrap();
    let log = log.lock().unwrap();
    let errors: Vec<&String> = log
        .iter()
        .filter(|l| l.contains(r#""level":"ERROR""#))
        .collect();
    assert!(
        !errors.is_empty() && errors.len() <= 3,
        "one ERROR line per outage (3 outages), got {}: {errors:#?}",
        errors.len()
    );
    assert!(
        errors.iter().all(|l| l.contains("dependency failed")),
        "{errors:#?}"
    );
}
