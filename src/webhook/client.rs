//! The HTTP side of one delivery attempt.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::header::{CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};

use super::guard::{GuardedResolver, NetworkGuard};
use super::signing::sign;
use crate::config::WebhookSettings;
use crate::domain::{AttemptOutcome, ErrorClass};

/// How much of a response is kept with the attempt.
const EXCERPT_CHARS: usize = 256;
/// How much of a response body is read at most.
const BODY_LIMIT: usize = 64 * 1024;
/// How long the body is read after the status line and headers came. A 2xx status is the
/// webhook's acceptance; the body only carries an optional `messageId`, so a slow body must not
/// turn a delivered message into a timeout (and a second delivery).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// One attempt's result with its timing.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub outcome: AttemptOutcome,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
}

/// The bytes one delivery sends, and their media type.
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// Where one delivery goes and how it is signed.
pub struct Target<'a> {
    pub url: &'a str,
    /// The decoded signing key; `None` sends no `webhook-signature`.
    pub key: Option<&'a [u8]>,
    pub headers: &'a BTreeMap<String, String>,
    /// A user's endpoint: connect only to addresses the SSRF guard permits. The operator's
    /// `default` is not guarded.
    pub guarded: bool,
}

#[derive(Clone)]
pub struct WebhookClient {
    /// For `default`, the operator's own endpoint.
    trusted: reqwest::Client,
    /// For every other endpoint: its resolver answers only permitted addresses.
    guarded: reqwest::Client,
    settings: WebhookSettings,
}

impl WebhookClient {
    pub fn new(
        settings: WebhookSettings,
        guard: Arc<NetworkGuard>,
    ) -> Result<Self, reqwest::Error> {
        // No overall timeout: `attempt` bounds the head by WEBHOOK_TIMEOUT and the body by
        // BODY_READ_TIMEOUT. Redirects are answers, never followed.
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
                .pool_max_idle_per_host(settings.concurrency)
                .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
        };
        let trusted = builder().build()?;
        // No proxy for user endpoints: a proxy would resolve the host itself, past the guard.
        let guarded = builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(guard)))
            .build()?;
        Ok(Self {
            trusted,
            guarded,
            settings,
        })
    }

    /// The longest one attempt can take: the head within the timeout, then the bounded body read.
    pub fn max_attempt_duration(&self) -> Duration {
        self.settings.timeout + BODY_READ_TIMEOUT
    }

    /// POSTs one rendered body to `target`. `webhook_id` is the event's id: the same for every
    /// attempt and every endpoint.
    pub async fn deliver(&self, target: &Target<'_>, webhook_id: &str, body: Body) -> Delivery {
        let started_at = Utc::now();
        let clock = Instant::now();
        let outcome = self.attempt(target, webhook_id, body).await;
        Delivery {
            outcome,
            started_at,
            duration: clock.elapsed(),
        }
    }

    async fn attempt(&self, target: &Target<'_>, webhook_id: &str, body: Body) -> AttemptOutcome {
        let Body {
            bytes: body,
            content_type,
        } = body;
        let Ok(content_type) = HeaderValue::from_str(&content_type) else {
            return failed(
                ErrorClass::Request,
                "the template's content type is not a header value".into(),
            );
        };
        let timestamp = Utc::now().timestamp();
        let http = if target.guarded {
            &self.guarded
        } else {
            &self.trusted
        };
        let mut request = http
            .post(target.url)
            .header(CONTENT_TYPE, content_type)
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string());
        for (name, value) in target.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(key) = target.key {
            request = request.header("webhook-signature", sign(key, webhook_id, timestamp, &body));
        }
        let timeout = self.settings.timeout;
        let response = match tokio::time::timeout(timeout, request.body(body).send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return classify_error(&e),
            Err(_) => {
                return failed(
                    ErrorClass::Timeout,
                    format!("no response within {}", humantime::format_duration(timeout)),
                );
            }
        };
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        if (300..400).contains(&status) {
            let location = header(LOCATION).map(|l| l.chars().take(EXCERPT_CHARS).collect());
            return AttemptOutcome::Redirected { status, location };
        }
        let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(&v, Utc::now()));
        let text = read_bounded(response).await;
        let excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
        if (200..300).contains(&status) {
            AttemptOutcome::Delivered {
                status,
                message_id: message_id_of(&text),
                excerpt,
            }
        } else {
            AttemptOutcome::Rejected {
                status,
                retry_after,
                excerpt,
            }
        }
    }
}

/// Reads at most `BODY_LIMIT` bytes of the body for at most `BODY_READ_TIMEOUT`, keeping what
/// arrived: the status has already decided the outcome.
async fn read_bounded(mut response: reqwest::Response) -> String {
    let mut buf = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = BODY_LIMIT.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if buf.len() >= BODY_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(BODY_READ_TIMEOUT, read).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn failed(class: ErrorClass, detail: String) -> AttemptOutcome {
    AttemptOutcome::Failed { class, detail }
}

fn classify_error(e: &reqwest::Error) -> AttemptOutcome {
    let class = if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_connect() {
        ErrorClass::Connect
    } else if e.is_builder() {
        ErrorClass::Request
    } else {
        ErrorClass::Transport
    };
    // The URL can hold credentials; keep only the error's own words.
    failed(class, e.without_url_text())
}

trait WithoutUrl {
    fn without_url_text(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_text(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<webhook>");
        }
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text.chars().take(EXCERPT_CHARS).collect()
    }
}

/// The webhook's `messageId`, when its body is JSON that has one.
fn message_id_of(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match value.get("messageId")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many seconds for an integer is still a request to wait long: the policy caps it.
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:26:00 GMT", now),
            None
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn a_retry_after_too_large_for_an_integer_still_asks_for_the_longest_wait() {
        let now = Utc::now();
        assert_eq!(
            parse_retry_after("99999999999999999999999999", now),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn message_id_is_read_when_present_and_ignored_otherwise() {
        assert_eq!(
            message_id_of(r#"{"message":"Accepted","messageId":"67f2f8a8"}"#).as_deref(),
            Some("67f2f8a8")
        );
        assert_eq!(message_id_of("not json"), None);
        assert_eq!(message_id_of(r#"{"messageId":null}"#), None);
    }
}
