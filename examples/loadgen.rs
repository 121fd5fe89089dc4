//! The load client and receiver for `make bench` (`cargo run --release --example loadgen`).
//! It is Herald's webhook (so it knows when each message arrived) and Herald's API client (so it
//! knows when each was accepted), and prints one JSON line of figures.
//!
//! ```text
//! loadgen single  --api URL --port P --count N (--concurrency C | --rate R)
//! loadgen batch   --api URL --count N --size S --concurrency C [--events [--type T]]
//! loadgen receive --port P --count N        (waits for N distinct deliveries, for drains)
//! ```
//!
//! A delivery is known by its `webhook-id` at `/hook`, and by path and `webhook-id` elsewhere:
//! with routing, one event reaches several endpoints (`/hook/a`, `/hook/b`, …) under one id.
//! `--events` sends `POST /events/batch` (type `--type`, `order.created` by default, payload
//! `{"n", "half"}`, `half` true for every other event) instead of `POST /messages/batch`.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

/// Arrivals by webhook-id: the first arrival, and how many came.
#[derive(Default)]
struct Arrivals {
    first: HashMap<String, Instant>,
    requests: u64,
    started: Option<Instant>,
}

type Shared = Arc<Mutex<Arrivals>>;

/// Takes the body as a receiver does: actix-web closes a connection whose request body was left
/// unread, and a receiver that made Herald connect anew for every delivery would measure TCP
/// handshakes instead of Herald.
async fn arrive(req: HttpRequest, _body: web::Bytes, arrivals: web::Data<Shared>) -> HttpResponse {
    let now = Instant::now();
    if let Some(id) = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
    {
        let key = match req.path() {
            "/hook" => id.to_owned(),
            path => format!("{path} {id}"),
        };
        let mut a = arrivals.lock().unwrap();
        a.requests += 1;
        a.started.get_or_insert(now);
        a.first.entry(key).or_insert(now);
    }
    HttpResponse::Accepted()
        .content_type("application/json")
        .body(r#"{"message":"Accepted"}"#)
}

fn receiver(port: u16) -> Shared {
    let arrivals: Shared = Arc::default();
    let data = web::Data::new(Arc::clone(&arrivals));
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("receiver port");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(arrive))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_rt::spawn(server);
    arrivals
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: f64) -> f64 {
    arg(args, name).map_or(default, |v| v.parse().expect(name))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn wait_for(arrivals: &Shared, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while arrivals.lock().unwrap().first.len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Single POSTs at a concurrency, or paced at a rate; latency from the 201 to the arrival.
async fn single(args: &[String]) {
    let api = arg(args, "--api").expect("--api");
    let n = num(args, "--count", 10_000.0) as usize;
    let concurrency = num(args, "--concurrency", 64.0) as usize;
    let rate = num(args, "--rate", 0.0);
    let arrivals = receiver(num(args, "--port", 19191.0) as u16);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let accepted: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let started = Instant::now();
    let post = |i: usize| {
        let (http, api, accepted) = (http.clone(), api.clone(), Arc::clone(&accepted));
        async move {
            let body =
                serde_json::json!({"recipient": "+905551234567", "content": format!("bench {i}")});
            let response = http
                .post(format!("{api}/messages"))
                .json(&body)
                .send()
                .await;
            let at = Instant::now();
            if let Some(r) = response.ok().filter(|r| r.status() == 201) {
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                if let Some(id) = v["id"].as_str() {
                    accepted.lock().unwrap().push((id.to_owned(), at));
                }
            }
        }
    };
    let mut in_flight = FuturesUnordered::new();
    for i in 0..n {
        if rate > 0.0 {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            actix_rt::spawn(post(i));
            continue;
        }
        if in_flight.len() >= concurrency {
            in_flight.next().await;
        }
        in_flight.push(post(i));
    }
    while in_flight.next().await.is_some() {}
    while rate > 0.0
        && accepted.lock().unwrap().len() < n
        && started.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ingest = started.elapsed();
    wait_for(&arrivals, n, Duration::from_secs(120)).await;
    let end_to_end = started.elapsed();
    let accepted = accepted.lock().unwrap().clone();
    let a = arrivals.lock().unwrap();
    let mut latency: Vec<f64> = accepted
        .iter()
        .filter_map(|(id, at)| {
            a.first
                .get(id)
                .map(|got| got.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "accepted": accepted.len(), "received": a.first.len(), "requests": a.requests,
            "duplicates": a.requests as usize - a.first.len(), "missing": accepted.len().saturating_sub(a.first.len()),
            "ingest_per_s": (accepted.len() as f64 / ingest.as_secs_f64()).round(),
            "end_to_end_per_s": (a.first.len() as f64 / end_to_end.as_secs_f64()).round(),
            "latency_ms": {"p50": percentile(&latency, 0.50), "p99": percentile(&latency, 0.99), "p999": percentile(&latency, 0.999)},
        })
    );
}

/// Batches of `--size` through `POST /messages/batch`.
async fn batch(args: &[String]) {
    let api = arg(args, "--api").expect("--api");
    let n = num(args, "--count", 100_000.0) as usize;
    let size = num(args, "--size", 1000.0) as usize;
    let concurrency = num(args, "--concurrency", 4.0) as usize;
    let events = args.iter().any(|a| a == "--events");
    let event_type = arg(args, "--type").unwrap_or_else(|| "order.created".into());
    let http = reqwest::Client::new();
    let body = |b: usize| {
        if events {
            let items: Vec<_> = (0..size)
                .map(|i| {
                    let n = b * size + i;
                    serde_json::json!({"type": event_type, "payload": {"n": n, "half": n.is_multiple_of(2)}})
                })
                .collect();
            return serde_json::json!({"events": items});
        }
        let items: Vec<_> = (0..size)
            .map(|i| serde_json::json!({"recipient": "+905551234567", "content": format!("batch {b}-{i}")}))
            .collect();
        serde_json::json!({"messages": items})
    };
    let route = if events { "events" } else { "messages" };
    let started = Instant::now();
    let mut stored = 0usize;
    let mut in_flight = FuturesUnordered::new();
    for b in 0..n / size {
        if in_flight.len() >= concurrency {
            stored += in_flight.next().await.unwrap_or(0);
        }
        let (http, api, body, route) = (http.clone(), api.clone(), body(b), route);
        in_flight.push(async move {
            match http
                .post(format!("{api}/{route}/batch"))
                .json(&body)
                .send()
                .await
            {
                Ok(r) if r.status() == 201 => size,
                _ => 0,
            }
        });
    }
    while let Some(s) = in_flight.next().await {
        stored += s;
    }
    let took = started.elapsed();
    println!(
        "{}",
        serde_json::json!({"stored": stored, "seconds": took.as_secs_f64(), "stored_per_s": (stored as f64 / took.as_secs_f64()).round()})
    );
}

/// A receiver only, for drains: waits for `--count` distinct ids.
async fn receive(args: &[String]) {
    let n = num(args, "--count", 100_000.0) as usize;
    let arrivals = receiver(num(args, "--port", 19191.0) as u16);
    println!("{{\"listening\": true}}");
    wait_for(&arrivals, n, Duration::from_secs(900)).await;
    let a = arrivals.lock().unwrap();
    let last = a.first.values().max().copied();
    let took = match (a.started, last) {
        (Some(s), Some(l)) => l.duration_since(s).as_secs_f64(),
        _ => f64::NAN,
    };
    println!(
        "{}",
        serde_json::json!({"received": a.first.len(), "requests": a.requests, "duplicates": a.requests as usize - a.first.len(),
                           "missing": n.saturating_sub(a.first.len()), "seconds": took, "per_s": (a.first.len() as f64 / took).round()})
    );
}

#[actix_rt::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("single") => single(&args).await,
        Some("batch") => batch(&args).await,
        Some("receive") => receive(&args).await,
        _ => eprintln!("usage: loadgen single|batch|receive ... (see the file's header)"),
    }
}
