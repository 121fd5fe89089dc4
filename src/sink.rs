//! `herald sink`: a webhook receiver for demos, tests and benchmarks. It answers every POST with
//! `202 {"message":"Accepted","messageId":"<uuid>"}` (or a 500 at the configured failure rate,
//! after the configured latency) and counts requests and distinct `webhook-id`s at `GET /stats`,
//! so duplicates show as `requests - failures > distinct_ids`. `GET /received` shows the last
//! 100 requests (path, `webhook-id`, content type and body), to see what each endpoint got.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: std::net::SocketAddr,
    /// Share of requests answered with 500, from 0 to 1.
    pub failure_rate: f64,
    /// Added before answering.
    pub latency: Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            addr: ([0, 0, 0, 0], 9090).into(),
            failure_rate: 0.0,
            latency: Duration::ZERO,
        }
    }
}

/// How many requests `GET /received` keeps.
const KEEP: usize = 100;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    failures: AtomicU64,
    ids: Mutex<HashSet<String>>,
    recent: Mutex<std::collections::VecDeque<Seen>>,
}

/// One request as `GET /received` shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub webhook_id: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SinkStats {
    pub requests: u64,
    pub failures: u64,
    pub distinct_ids: u64,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    opts: web::Data<SinkOptions>,
    counters: web::Data<Counters>,
) -> HttpResponse {
    if !opts.latency.is_zero() {
        tokio::time::sleep(opts.latency).await;
    }
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    {
        let mut recent = counters.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEEP {
            recent.pop_front();
        }
        recent.push_back(Seen {
            path: req.path().to_owned(),
            webhook_id: header("webhook-id"),
            content_type: header("content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    if let Some(id) = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
    {
        counters
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
    }
    if opts.failure_rate > 0.0 && unit() < opts.failure_rate {
        counters.failures.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::InternalServerError()
            .json(serde_json::json!({"message": "Injected failure"}));
    }
    HttpResponse::Accepted().json(serde_json::json!({
        "message": "Accepted",
        "messageId": uuid::Uuid::new_v4().to_string(),
    }))
}

async fn stats(counters: web::Data<Counters>) -> HttpResponse {
    HttpResponse::Ok().json(SinkStats {
        requests: counters.requests.load(Ordering::Relaxed),
        failures: counters.failures.load(Ordering::Relaxed),
        distinct_ids: counters.ids.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
    })
}

async fn received(counters: web::Data<Counters>) -> HttpResponse {
    let recent = counters.recent.lock().unwrap_or_else(|p| p.into_inner());
    HttpResponse::Ok().json(recent.iter().collect::<Vec<_>>())
}

fn unit() -> f64 {
    use fake::rand::RngExt;
    fake::rand::rng().random::<f64>()
}

/// Binds and returns the server (to spawn or await) and the port it listens on.
pub fn start(opts: SinkOptions) -> std::io::Result<(Server, u16)> {
    serve(opts, true)
}

/// The receiver inside `herald serve` (when `WEBHOOK_URL` is unset) on `addr`: one worker, and
/// no signal handling of its own, so it keeps answering until Herald's own shutdown has drained.
/// Returns it and the URL to deliver to.
pub fn start_builtin(addr: std::net::SocketAddr) -> anyhow::Result<(Server, String)> {
    use anyhow::Context as _;
    let options = SinkOptions {
        addr,
        ..Default::default()
    };
    let (server, port) = serve(options, false)
        .with_context(|| format!("could not start the built-in receiver on {addr} (SINK_ADDR)"))?;
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = format!("http://{host}:{port}/webhook");
    tracing::warn!(
        %url,
        "WEBHOOK_URL is unset: delivering to the built-in demo receiver (GET /stats on it counts \
         what arrived); set WEBHOOK_URL to deliver to your own endpoint"
    );
    Ok((server, url))
}

fn serve(opts: SinkOptions, standalone: bool) -> std::io::Result<(Server, u16)> {
    let listener = TcpListener::bind(opts.addr)?;
    let port = listener.local_addr()?.port();
    let opts = web::Data::new(opts);
    let counters = web::Data::new(Counters::default());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(opts.clone())
            .app_data(counters.clone())
            .route("/stats", web::get().to(stats))
            .route("/received", web::get().to(received))
            .default_service(web::post().to(receive))
    });
    let server = if standalone {
        server
    } else {
        server.workers(1).disable_signals().shutdown_timeout(1)
    };
    Ok((server.listen(listener)?.run(), port))
}
