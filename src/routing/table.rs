//! [`Endpoints`]: the cached endpoint table every instance routes with and delivers from. It
//! is read from the store once and reloaded after every change this instance makes; before it
//! is used, it is checked against the store (a cheap version query) when its last check is
//! older than [`CHECK_EVERY`], so a change made by another instance is seen within that. Idle,
//! it costs nothing. Routing is decided here, once, when an event is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use super::filter::Filter;
use super::template::Template;
use crate::db::{EndpointRow, Route};

/// The table is used only if it was checked against the store within this.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// An endpoint, parsed for routing and delivery.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub row: EndpointRow,
    pub filter: Option<Filter>,
    pub template: Option<Template>,
    /// The decoded signing key of `row.secret`.
    pub key: Option<Vec<u8>>,
    /// `row.protection.ordering_key`, parsed.
    pub ordering: Option<super::Path>,
}

impl Compiled {
    /// Parses what the store holds. A stored filter or template that no longer parses (written
    /// by another version) makes the endpoint match nothing rather than everything.
    pub fn new(row: EndpointRow) -> Self {
        let filter = row.filter.as_ref().map(Filter::parse);
        let template = row.template.as_ref().map(Template::parse);
        let broken = matches!(filter, Some(Err(_))) || matches!(template, Some(Err(_)));
        if broken {
            tracing::error!(endpoint = %row.name, "stored filter or template does not parse; the endpoint matches nothing");
        }
        Self {
            key: row.secret.as_deref().and_then(super::spec::decode_secret),
            filter: filter.and_then(Result::ok),
            template: template.and_then(Result::ok),
            ordering: row
                .protection
                .ordering_key
                .as_deref()
                .and_then(|k| super::Path::parse(k).ok()),
            row: EndpointRow {
                enabled: row.enabled && !broken,
                ..row
            },
        }
    }

    /// The payload's value at the endpoint's ordering key: a string as it is, anything else as
    /// JSON; `None` when the endpoint has no key or the payload does not hold it.
    pub fn ordering_key(&self, payload: &Value) -> Option<String> {
        let value = self.ordering.as_ref()?.lookup(payload)?;
        Some(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// The body this endpoint receives for an event; an error is permanent.
    pub fn render(
        &self,
        id: &str,
        event_type: &str,
        payload: &Value,
    ) -> Result<super::Rendered, String> {
        match &self.template {
            None => Ok(super::template::plain(payload)),
            Some(t) => t.render(&super::Scope {
                id,
                event_type,
                payload,
            }),
        }
    }

    /// Whether an event of `event_type` on `channels` with `payload` goes here (enabled or
    /// not: the caller decides).
    pub fn matches(&self, event_type: &str, channels: &[String], payload: &Value) -> bool {
        self.takes_type(event_type)
            && self.shares_channel(channels)
            && self.filter.as_ref().is_none_or(|f| f.matches(payload))
    }

    /// Its event types hold `event_type`, or it has none (every type).
    pub fn takes_type(&self, event_type: &str) -> bool {
        let types = self.row.event_types.as_ref();
        types.is_none_or(|t| t.iter().any(|t| t == event_type))
    }

    /// It shares one of `channels`, or it has none (any channel).
    pub fn shares_channel(&self, channels: &[String]) -> bool {
        let mine = self.row.channels.as_ref();
        mine.is_none_or(|mine| mine.iter().any(|c| channels.contains(c)))
    }
}

#[derive(Default)]
struct Table {
    version: Option<i64>,
    list: Vec<Arc<Compiled>>,
    by_id: HashMap<Uuid, Arc<Compiled>>,
}

/// The shared, cheaply cloned endpoint table, with the reminder rules (read and checked with
/// it: one version covers both).
#[derive(Clone, Default)]
pub struct Endpoints {
    table: Arc<RwLock<Table>>,
    rules: Arc<RwLock<Vec<Arc<crate::rules::Rule>>>>,
    /// When the table was last known to match the store.
    checked: Arc<Mutex<Option<Instant>>>,
    /// Set while one caller checks the table against the store.
    checking: Arc<AtomicBool>,
}

/// The one check in progress; it ends when this is dropped.
pub struct Checking(Arc<AtomicBool>);

impl Drop for Checking {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Endpoints {
    /// Replaces the table with `rows` read at `version`.
    pub fn load(&self, rows: Vec<EndpointRow>, version: i64) {
        let list: Vec<Arc<Compiled>> = rows
            .into_iter()
            .map(|r| Arc::new(Compiled::new(r)))
            .collect();
        let by_id = list.iter().map(|c| (c.row.id, Arc::clone(c))).collect();
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Table {
            version: Some(version),
            list,
            by_id,
        };
        self.mark_checked();
    }

    /// Replaces the rules with `rows`; a stored rule that no longer parses (written by another
    /// version) is left out, and said once.
    pub fn load_rules(&self, rows: &[crate::db::RuleRow]) {
        let rules = rows
            .iter()
            .filter_map(|row| match crate::rules::spec::from_row(row) {
                Ok(rule) => Some(Arc::new(rule)),
                Err(e) => {
                    tracing::error!(rule = %row.name, error = %e, "stored rule does not parse; it is left out");
                    None
                }
            })
            .collect();
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
    }

    pub fn rules(&self) -> Vec<Arc<crate::rules::Rule>> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The table matches the store as of now (or the check failed, and is due again later).
    pub fn mark_checked(&self) {
        *self.checked.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// Starts the check, unless another caller is checking already.
    pub fn start_check(&self) -> Option<Checking> {
        self.checking
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            .then(|| Checking(Arc::clone(&self.checking)))
    }

    /// Whether the table was checked within [`CHECK_EVERY`].
    pub fn is_fresh(&self) -> bool {
        self.checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < CHECK_EVERY)
    }

    pub fn version(&self) -> Option<i64> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).version
    }

    /// The enabled endpoints an event goes to, by name.
    pub fn route(&self, event_type: &str, channels: &[String], payload: &Value) -> Vec<Route> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        table
            .list
            .iter()
            .filter(|e| e.row.enabled && e.matches(event_type, channels, payload))
            .map(|e| Route {
                endpoint_id: e.row.id,
                endpoint: e.row.name.clone(),
                ordering_key: e.ordering_key(payload),
            })
            .collect()
    }

    /// One endpoint by id (deleted ones are gone).
    pub fn get(&self, id: Uuid) -> Option<Arc<Compiled>> {
        self.table
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .get(&id)
            .cloned()
    }

    pub fn by_name(&self, name: &str) -> Option<Arc<Compiled>> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        table.list.iter().find(|e| e.row.name == name).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Compiled>> {
        self.table
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .list
            .clone()
    }
}
