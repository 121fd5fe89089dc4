//! [`SourceInput`]: an event source as a user writes it, and [`Source`], the same source
//! parsed, each field checked at the edge and named in the error. The store keeps the input,
//! normalised; every instance parses it again into a [`Source`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{EndpointName, EventType};
use crate::routing::Path;

/// Every field of [`SourceInput`], as a `PATCH` may name them.
pub const FIELDS: [&str; 10] = [
    "name", "kind", "url", "stream", "subject", "group", "start", "type", "payload", "enabled",
];
const DEFAULT_GROUP: &str = "herald";

/// An event source. `name`, `kind`, `url`, `stream` and `type` are required on `POST`; a
/// `PATCH` gives any of them (`null` puts an optional field back to its default).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "orders", "kind": "redis_stream", "url": "redis://127.0.0.1:6379",
    "stream": "orders", "type": "$.type", "payload": "$.json"}))]
pub struct SourceInput {
    /// Unique, `[a-z0-9_-]{1,64}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub name: Option<String>,
    /// `redis_stream` or `nats_jetstream`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "redis_stream")]
    pub kind: Option<String>,
    /// `redis://…` (or `rediss://…`) for Redis, `nats://…` for NATS; not Herald's own
    /// `REDIS_URL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The Redis stream key, or the JetStream stream name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// NATS only: the subject filter of the consumer, e.g. `orders.>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The Redis consumer group, or the JetStream durable consumer; made if missing. Default
    /// `herald`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where a new group begins: `new` (default), `all`, or an RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The event type: a fixed type, or a singular path into the entry such as `$.type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// A singular path to the payload inside the entry; default the whole entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Default true; `false` is a paused source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Which broker a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RedisStream,
    NatsJetStream,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RedisStream => "redis_stream",
            Kind::NatsJetStream => "nats_jetstream",
        }
    }
}

/// Where a new group begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    New,
    All,
    At(DateTime<Utc>),
}

/// The event type of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSpec {
    Fixed(String),
    At(Path),
}

/// A source, parsed.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: Uuid,
    pub name: String,
    pub kind: Kind,
    pub url: String,
    pub stream: String,
    pub subject: Option<String>,
    pub group: String,
    pub start: Start,
    pub event_type: TypeSpec,
    pub payload: Option<Path>,
    pub enabled: bool,
}

fn bad(field: &str, e: impl std::fmt::Display) -> String {
    format!("{field}: {e}")
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, String> {
    value
        .as_deref()
        .ok_or_else(|| format!("{field} is required"))
}

/// A NATS name (stream, durable): no spaces, dots, wildcards or path separators.
fn nats_name(text: &str, field: &str) -> Result<(), String> {
    let ok = (1..=255).contains(&text.len())
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c));
    ok.then_some(()).ok_or_else(|| {
        bad(
            field,
            format!(
                "'{text}' must be 1 to 255 characters without spaces, '.', '*', '>', '/' or '\\'"
            ),
        )
    })
}

fn plain(text: &str, field: &str, max: usize) -> Result<(), String> {
    let ok = (1..=max).contains(&text.len()) && !text.chars().any(|c| c.is_control());
    ok.then_some(()).ok_or_else(|| {
        bad(
            field,
            format!("must be 1 to {max} bytes without control characters"),
        )
    })
}

impl SourceInput {
    /// `self` over `base`: what a `PATCH` gives replaces what was stored, and a `null` in the
    /// request body (`explicit_nulls`) clears the field.
    pub fn over(self, base: &SourceInput, explicit_nulls: &[String]) -> Result<Self, String> {
        crate::domain::patch::over(&self, base, explicit_nulls)
    }

    /// The input a stored row was made from: its spec, with the row's name, kind and
    /// `enabled` (which pause and resume change).
    pub fn of_row(row: &crate::db::SourceRow) -> Self {
        let mut input: Self = serde_json::from_value(row.spec.clone()).unwrap_or_default();
        input.name = Some(row.name.clone());
        input.kind = Some(row.kind.clone());
        input.enabled = Some(row.enabled);
        input
    }

    /// The source this input makes.
    pub fn parse(&self, id: Uuid) -> Result<Source, String> {
        // The names of sources follow the rule of endpoints' names.
        let name = EndpointName::parse(required(&self.name, "name")?).map_err(|e| e.0)?;
        let name = name.as_str();
        let kind = match required(&self.kind, "kind")? {
            "redis_stream" => Kind::RedisStream,
            "nats_jetstream" => Kind::NatsJetStream,
            other => {
                return Err(format!(
                    "kind: '{other}' is not one of redis_stream, nats_jetstream"
                ));
            }
        };
        let url = required(&self.url, "url")?;
        let schemes: &[&str] = match kind {
            Kind::RedisStream => &["redis", "rediss"],
            Kind::NatsJetStream => &["nats", "tls"],
        };
        let parsed = url::Url::parse(url).map_err(|e| bad("url", e))?;
        if !schemes.contains(&parsed.scheme()) || parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad(
                "url",
                format!("a {} source needs {}://host…", kind.as_str(), schemes[0]),
            ));
        }
        let stream = required(&self.stream, "stream")?;
        let group = self.group.as_deref().unwrap_or(DEFAULT_GROUP);
        match kind {
            Kind::RedisStream => {
                plain(stream, "stream", 256)?;
                plain(group, "group", 128)?;
                if self.subject.is_some() {
                    return Err("subject: only a nats_jetstream source has a subject".into());
                }
            }
            Kind::NatsJetStream => {
                nats_name(stream, "stream")?;
                nats_name(group, "group")?;
                if let Some(s) = &self.subject {
                    plain(s, "subject", 255)?;
                    if s.contains(char::is_whitespace) {
                        return Err("subject: must not hold spaces".into());
                    }
                }
            }
        }
        let start = match self.start.as_deref().unwrap_or("new") {
            "new" => Start::New,
            "all" => Start::All,
            time => Start::At(
                DateTime::parse_from_rfc3339(time)
                    .map_err(|e| {
                        bad(
                            "start",
                            format!("'{time}' is not new, all or an RFC 3339 time ({e})"),
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let raw_type = required(&self.event_type, "type")?;
        let event_type = if raw_type.starts_with('$') {
            TypeSpec::At(Path::parse(raw_type).map_err(|e| bad("type", e))?)
        } else {
            TypeSpec::Fixed(
                EventType::parse(raw_type)
                    .map_err(|e| bad("type", e.0))?
                    .into_string(),
            )
        };
        let payload = self
            .payload
            .as_deref()
            .map(|p| Path::parse(p).map_err(|e| bad("payload", e)))
            .transpose()?;
        Ok(Source {
            id,
            name: name.to_owned(),
            kind,
            url: url.to_owned(),
            stream: stream.to_owned(),
            subject: self.subject.clone(),
            group: group.to_owned(),
            start,
            event_type,
            payload,
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

/// `url` with its password, if any, replaced by `***`, as views and logs show it.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
