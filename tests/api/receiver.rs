//! A scripted webhook for tests: answers from a queue of replies (then a default), records every
//! request, and can be told to wait before answering.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    /// Sends the status and headers at once, then the body spread over this long.
    pub body_over: Duration,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn accepted() -> Self {
        Self::status(202).body(r#"{"message":"Accepted","messageId":"wh-fixed-id"}"#)
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: String::new(),
            delay: Duration::ZERO,
            body_over: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn body_over(mut self, over: Duration) -> Self {
        self.body_over = over;
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One request as the webhook saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: Option<String>,
    pub auth_key: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// Every header, by lower-case name.
    pub headers: std::collections::HashMap<String, String>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

/// Chooses a reply from the request and how many times its `webhook-id` was seen before.
type Rule = Box<dyn Fn(&Received, usize) -> Reply + Send>;

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    rule: Option<Rule>,
    received: Vec<Received>,
    seen: std::collections::HashMap<String, usize>,
}

#[derive(Clone)]
pub struct TestWebhook {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn handle(req: HttpRequest, body: web::Bytes, hook: web::Data<TestWebhook>) -> HttpResponse {
    let reply = {
        let mut inner = hook.inner.lock().unwrap();
        let received = Received {
            webhook_id: header(&req, "webhook-id").unwrap_or_default(),
            timestamp: header(&req, "webhook-timestamp").unwrap_or_default(),
            signature: header(&req, "webhook-signature"),
            auth_key: header(&req, "x-ins-auth-key"),
            content_type: header(&req, "content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            headers: req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            at: std::time::Instant::now(),
        };
        let times = inner.seen.entry(received.webhook_id.clone()).or_default();
        let before = *times;
        *times += 1;
        let ruled = inner.rule.as_ref().map(|rule| rule(&received, before));
        inner.received.push(received);
        let next = inner.script.pop_front();
        ruled
            .or(next)
            .or_else(|| inner.default.clone())
            .unwrap_or_else(Reply::accepted)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        response.insert_header((*name, value.as_str()));
    }
    response.content_type("application/json");
    if reply.body_over.is_zero() {
        return response.body(reply.body);
    }
    // Three pieces: the first at once, the others a third of the time apart.
    let pause = reply.body_over / 3;
    let bytes = reply.body.into_bytes();
    let third = bytes.len().div_ceil(3).max(1);
    let pieces: Vec<web::Bytes> = bytes
        .chunks(third)
        .map(web::Bytes::copy_from_slice)
        .collect();
    let stream = futures_util::stream::unfold((pieces, 0usize), move |(pieces, i)| async move {
        let piece = pieces.get(i)?.clone();
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        Some((Ok::<_, actix_web::Error>(piece), (pieces, i + 1)))
    });
    response.streaming(stream)
}

impl TestWebhook {
    pub fn start() -> Self {
        Self::start_with_workers(1)
    }

    #[allow(dead_code)] // used by the chaos run
    /// With more server threads, for load (the chaos run).
    pub fn start_with_workers(workers: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hook = Self {
            inner: Arc::default(),
            url: format!("http://127.0.0.1:{port}/hook"),
        };
        let data = web::Data::new(hook.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(workers)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server);
        hook
    }

    /// The next replies, in order; after them the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    pub fn always(&self, reply: Reply) {
        self.inner.lock().unwrap().default = Some(reply);
    }

    #[allow(dead_code)] // used by the chaos run
    /// Every reply comes from `rule` (given the request and how often its id came before).
    pub fn rule(&self, rule: impl Fn(&Received, usize) -> Reply + Send + 'static) {
        self.inner.lock().unwrap().rule = Some(Box::new(rule));
    }

    #[allow(dead_code)] // used by the chaos run
    /// Requests received, and distinct `webhook-id`s among them.
    pub fn tally(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap();
        (inner.received.len(), inner.seen.len())
    }

    #[allow(dead_code)] // used by the chaos run
    /// How many requests carried this `webhook-id`.
    pub fn times(&self, id: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .seen
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().received.len()
    }
}
