//! [`EndpointInput`]: what `POST /endpoints` and `PATCH /endpoints/{id}` take, and
//! [`EndpointInput::apply`], which checks every field (the URL against the SSRF guard, the
//! filter and template by parsing them, a `sample` by rendering it) and yields the row to
//! store. Unknown fields are refused; a refusal names the field or the JSON Pointer.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use uuid::Uuid;

use super::filter::Filter;
use super::spec_protection::{DEFAULT_MAX_IN_FLIGHT, ProtectionFields, check_in_flight, in_flight};
use super::template::{Scope, Template};
use crate::db::EndpointRow;
use crate::domain::{EndpointName, EventType, parse_channel};
use crate::webhook::NetworkGuard;

pub const MAX_HEADERS: usize = 20;
const MAX_DESCRIPTION: usize = 1024;
/// Headers Herald sets itself, or that would break the request.
const RESERVED: [&str; 11] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// Absent stays absent; `null` becomes `Some(None)` (PATCH: clear it).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An endpoint as written by a user. On `POST`, `name` and `url` are required.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "billing", "url": "https://billing.example.com/hooks",
    "event_types": ["order.created"], "filter": {"path": "$.total", "op": "gte", "value": 100}}))]
pub struct EndpointInput {
    /// Unique, `[a-z0-9_-]{1,64}`.
    pub name: Option<String>,
    /// `http` or `https`, no user-info; the host must not resolve to an internal address.
    pub url: Option<String>,
    /// The event types it receives; absent or `null` means every type. `[]` is refused.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<Vec<String>>>,
    /// When set, an event must share at least one channel.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<Option<Vec<String>>>,
    /// A content filter (see the README, "Filters").
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Option<Value>>,
    /// A `mapping` or `text` template (see the README, "Templates").
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub template: Option<Option<Value>>,
    /// Extra request headers, at most 20.
    pub headers: Option<BTreeMap<String, String>>,
    /// `whsec_` and base64 of 24 to 64 bytes; generated when absent on create.
    pub secret: Option<String>,
    pub enabled: Option<bool>,
    /// Deliveries it may have in flight per instance, 1 to 1,000; 8 when absent on create.
    #[serde(default, deserialize_with = "in_flight")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_in_flight: Option<u32>,
    /// Deliveries per second to it, across instances; `null` for no limit (the default).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, example = 50)]
    pub rate_per_sec: Option<Option<Value>>,
    /// Deliveries allowed at once on top of `rate_per_sec`, 1 to 10,000; 1 when absent.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, example = 10)]
    pub burst: Option<Option<Value>>,
    /// A singular path into the payload (`$.order_id`): deliveries sharing its value go one at
    /// a time, in creation order.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "$.order_id")]
    pub ordering_key: Option<Option<Value>>,
    /// `skip` (the default): a key's head that fails for good is skipped; `block`: the key
    /// waits until it is retried or cancelled.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "skip")]
    pub on_failure: Option<Option<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A payload to render the template against, to check it; not stored.
    #[schema(value_type = Option<Object>)]
    pub sample: Option<Value>,
}

fn bad(field: &str, e: impl std::fmt::Display) -> String {
    format!("{field}: {e}")
}

impl EndpointInput {
    /// The row this input makes: a new one (`base: None`), or `base` changed. `exempt` skips
    /// the SSRF check (the operator's own `default`).
    pub async fn apply(
        self,
        base: Option<EndpointRow>,
        guard: &NetworkGuard,
        exempt: bool,
    ) -> Result<EndpointRow, String> {
        let now = chrono::Utc::now();
        let creating = base.is_none();
        let mut row = base.unwrap_or_else(|| EndpointRow {
            id: Uuid::new_v4(),
            name: String::new(),
            url: String::new(),
            event_types: None,
            channels: None,
            filter: None,
            template: None,
            headers: BTreeMap::new(),
            secret: Some(generate_secret()),
            enabled: true,
            description: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            protection: Default::default(),
            state: Default::default(),
            created_at: now,
            updated_at: now,
        });
        match self.name {
            Some(name) => {
                row.name = EndpointName::parse(&name)
                    .map_err(|e| e.0)?
                    .as_str()
                    .to_owned()
            }
            None if creating => return Err("name is required".into()),
            None => {}
        }
        match self.url {
            Some(url) if exempt => row.url = url,
            Some(url) => row.url = guard.check_url(&url).await?.to_string(),
            None if creating => return Err("url is required".into()),
            None => {}
        }
        if let Some(types) = self.event_types {
            row.event_types = types
                .map(|t| {
                    list(t, "event_types", |s| {
                        EventType::parse(s).map(EventType::into_string)
                    })
                })
                .transpose()?;
        }
        if let Some(channels) = self.channels {
            row.channels = channels
                .map(|c| list(c, "channels", parse_channel))
                .transpose()?;
        }
        if let Some(filter) = self.filter {
            if let Some(f) = &filter {
                Filter::parse(f).map_err(|e| bad("filter", e))?;
            }
            row.filter = filter;
        }
        if let Some(template) = self.template {
            row.template = template;
        }
        if let Some(t) = &row.template {
            let parsed = Template::parse(t).map_err(|e| bad("template", e))?;
            if let Some(sample) = &self.sample {
                if !sample.is_object() {
                    return Err("sample must be a JSON object (a payload)".into());
                }
                let scope = Scope {
                    id: "00000000-0000-0000-0000-000000000000",
                    event_type: "sample",
                    payload: sample,
                };
                parsed.render(&scope).map_err(|e| bad("sample", e))?;
            }
        }
        if let Some(headers) = self.headers {
            row.headers = check_headers(headers)?;
        }
        if let Some(secret) = self.secret {
            parse_secret(&secret)?;
            row.secret = Some(secret);
        }
        if let Some(enabled) = self.enabled {
            row.enabled = enabled;
        }
        if let Some(n) = self.max_in_flight {
            row.max_in_flight = check_in_flight(n)?;
        }
        row.protection = ProtectionFields {
            rate_per_sec: self.rate_per_sec,
            burst: self.burst,
            ordering_key: self.ordering_key,
            on_failure: self.on_failure,
        }
        .apply(row.protection)?;
        if let Some(description) = self.description {
            if description
                .as_ref()
                .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
            {
                return Err(format!("description: at most {MAX_DESCRIPTION} characters"));
            }
            row.description = description;
        }
        row.updated_at = now;
        Ok(row)
    }
}

fn list(
    items: Vec<String>,
    field: &str,
    parse: impl Fn(&str) -> Result<String, crate::domain::ValidationError>,
) -> Result<Vec<String>, String> {
    if items.is_empty() {
        return Err(format!(
            "{field}: [] would match nothing; leave it out (or null) for every one"
        ));
    }
    if items.len() > 100 {
        return Err(format!("{field}: at most 100 entries"));
    }
    let mut parsed = items
        .iter()
        .map(|s| parse(s).map_err(|e| bad(field, e.0)))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.dedup();
    Ok(parsed)
}

fn check_headers(headers: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!("headers: at most {MAX_HEADERS}"));
    }
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(format!("headers: '{name}' is not a header name"));
        }
        if RESERVED.contains(&lower.as_str()) {
            return Err(format!(
                "headers: '{name}' is set by Herald and cannot be overridden"
            ));
        }
        if value.len() > 1024 || reqwest::header::HeaderValue::from_str(&value).is_err() {
            return Err(format!(
                "headers: the value of '{name}' must be at most 1024 visible characters"
            ));
        }
        out.insert(lower, value);
    }
    Ok(out)
}

/// The key of a `whsec_<base64>` secret.
pub fn parse_secret(secret: &str) -> Result<Vec<u8>, String> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|k| (24..=64).contains(&k.len()));
    key.ok_or_else(|| "secret must be whsec_ and the base64 of 24 to 64 bytes".into())
}

/// The key of a stored secret, whatever its length (`default` takes `WEBHOOK_SECRET` as given).
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_")?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

pub fn generate_secret() -> String {
    let key: [u8; 32] = std::array::from_fn(|_| fastrand_byte());
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

fn fastrand_byte() -> u8 {
    use fake::rand::RngExt;
    fake::rand::rng().random::<u8>()
}
