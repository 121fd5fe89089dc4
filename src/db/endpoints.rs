//! Endpoints as the store keeps them. The filter and template are kept as the user wrote them
//! (JSON) and parsed again by the router; the store only checks nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::endpoint_state::{EndpointState, Protection};

/// The id of the endpoint `default` (written by the migration, rewritten at every start).
pub const DEFAULT_ENDPOINT_ID: Uuid = Uuid::from_u128(1);

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// `None`: every type.
    pub event_types: Option<Vec<String>>,
    /// `None`: any channel.
    pub channels: Option<Vec<String>>,
    pub filter: Option<Value>,
    pub template: Option<Value>,
    pub headers: BTreeMap<String, String>,
    /// `None` only for `default` without `WEBHOOK_SECRET`: its deliveries are not signed.
    pub secret: Option<String>,
    pub enabled: bool,
    pub description: Option<String>,
    /// Deliveries this endpoint may have in flight per instance (1 to 1,000).
    pub max_in_flight: u32,
    /// Its rate and ordering (user settings).
    pub protection: Protection,
    /// What the dispatchers know about its receiver (written by them, not by a user).
    pub state: EndpointState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One endpoint's recent deliveries, for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EndpointActivity {
    pub succeeded: i64,
    pub failed: i64,
    pub last_error: Option<String>,
}

/// The text columns of an endpoint row, as both stores keep them.
pub(super) struct EndpointText {
    pub event_types: Option<String>,
    pub channels: Option<String>,
    pub filter: Option<String>,
    pub template: Option<String>,
    pub headers: String,
}

impl EndpointRow {
    pub(super) fn text(&self) -> EndpointText {
        let json = |v: &Value| v.to_string();
        EndpointText {
            event_types: self
                .event_types
                .as_ref()
                .map(|t| json(&Value::from(t.clone()))),
            channels: self
                .channels
                .as_ref()
                .map(|c| json(&Value::from(c.clone()))),
            filter: self.filter.as_ref().map(json),
            template: self.template.as_ref().map(json),
            headers: serde_json::to_string(&self.headers).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// Reads a JSON text column written by [`EndpointRow::text`].
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(text: Option<&str>) -> Option<T> {
    text.and_then(|t| serde_json::from_str(t).ok())
}
