//! Search over stored events: the criteria that `GET /events`, `GET /events/count` and replays
//! take ([`Search`]), the keyset [`Cursor`], and the one WHERE clause both stores run them with
//! ([`condition`]). The content filter is compiled to SQL (`filter`), so a search reads only
//! the rows that match; every user value is a bind parameter.

mod cursor;
mod filter;
mod filter_pg;
mod filter_sqlite;
mod replay;
mod sql;
mod targets;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::EventStatus;
use crate::routing::Filter;

pub use cursor::{Cursor, CursorError, Order};
pub use filter::{check as check_filter, predicate};
pub use filter_pg::jsonpath;
pub use filter_sqlite::{register as register_sqlite_functions, sqlite_path};
pub use replay::{
    DryRunSql, candidates as replay_candidates, dry_run as replay_dry_run, job_search,
};
pub use sql::{Bind, Dialect, Sql, millis_up};
pub use targets::{Target, condition as target_condition};

/// Which events: every criterion given must hold.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// `created_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `created_at < to`.
    pub to: Option<DateTime<Utc>>,
    /// Any of these types; empty means every type.
    pub types: Vec<String>,
    pub status: Option<EventStatus>,
    /// Passed [`check_filter`].
    pub filter: Option<Filter>,
    /// Events whose delivery to this endpoint is in this state.
    pub endpoint: Option<(Uuid, DeliveryState)>,
}

impl Search {
    /// Sent events list by when they were sent, the rest by when they were created.
    pub fn order(&self) -> Order {
        if self.status == Some(EventStatus::Sent) {
            Order::Sent
        } else {
            Order::Created
        }
    }
}

/// A page of events that match, each with its deliveries, and where the next page starts
/// (`None` on the last page).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub events: Vec<crate::db::EventRecord>,
    pub next: Option<Cursor>,
}

/// A delivery's state as a search names it; `None` is "never routed to it".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Any,
    Pending,
    Sent,
    Failed,
    Cancelled,
    None,
}

impl DeliveryState {
    pub const NAMES: &'static str = "pending, sent, failed, cancelled, none";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "none" => Self::None,
            _ => return None,
        })
    }

    /// The delivery statuses this state covers (a delivery in flight is still pending).
    fn statuses(self) -> &'static str {
        match self {
            Self::Any | Self::None => "",
            Self::Pending => "'pending', 'sending'",
            Self::Sent => "'sent'",
            Self::Failed => "'failed'",
            Self::Cancelled => "'cancelled'",
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    Offset(u64),
    After(Cursor),
}

/// A page of a search: at most `limit` events from `start`, in the search's [`Order`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub start: Start,
}

/// A WHERE condition over `events` being built: its parts (joined with AND), and the join that
/// gives PostgreSQL the payload as `jsonb` once per row, when a filter needs it.
#[derive(Debug, Clone, Default)]
pub struct Where {
    pub join: String,
    pub parts: Vec<String>,
}

impl Where {
    /// The payload as a filter reads it: on PostgreSQL `jsonb`, parsed once per row (`OFFSET 0`
    /// keeps the planner from inlining it into every clause); on SQLite the JSON text.
    pub fn doc(&mut self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Postgres => {
                self.join = " CROSS JOIN LATERAL (SELECT herald_payload(events.payload) AS doc \
                             OFFSET 0) AS j"
                    .to_owned();
                "j.doc"
            }
            Dialect::Sqlite => "events.payload",
        }
    }

    pub fn sql(&self) -> String {
        if self.parts.is_empty() {
            "TRUE".to_owned()
        } else {
            self.parts.join(" AND ")
        }
    }

    /// Rows after `cursor` in its order, newest first.
    pub fn before(&mut self, cursor: &Cursor, sql: &mut Sql) {
        let column = cursor.order.column();
        let at = sql.bind(Bind::Time(cursor.at));
        let id = sql.bind(Bind::Uuid(cursor.id));
        self.parts
            .push(format!("(events.{column}, events.id) < ({at}, {id})"));
    }
}

/// The condition of `search`. The statuses named come from this code, never from the request.
pub fn condition(search: &Search, sql: &mut Sql) -> Where {
    let mut w = Where::default();
    let parts = &mut w.parts;
    if let Some(from) = search.from {
        parts.push(format!(
            "events.created_at >= {}",
            sql.bind(Bind::Time(from))
        ));
    }
    if let Some(to) = search.to {
        parts.push(format!("events.created_at < {}", sql.bind(Bind::Time(to))));
    }
    if !search.types.is_empty() {
        parts.push(one_of_types(&search.types, sql));
    }
    if let Some(status) = search.status {
        parts.push(format!(
            "events.status = {}",
            sql.text(status.as_str().to_owned())
        ));
    }
    if let Some((endpoint, state)) = search.endpoint {
        let id = sql.bind(Bind::Uuid(endpoint));
        let of = format!("d.event_id = events.id AND d.endpoint_id = {id}");
        parts.push(match state {
            DeliveryState::None => format!("NOT EXISTS (SELECT 1 FROM deliveries d WHERE {of})"),
            DeliveryState::Any => format!("EXISTS (SELECT 1 FROM deliveries d WHERE {of})"),
            other => format!(
                "EXISTS (SELECT 1 FROM deliveries d WHERE {of} AND d.status IN ({}))",
                other.statuses()
            ),
        });
    }
    if let Some(filter) = &search.filter {
        let doc = w.doc(sql.dialect);
        let p = predicate(filter, doc, sql);
        w.parts.push(p);
    }
    w
}

/// `events.type` is one of `types`.
pub fn one_of_types(types: &[String], sql: &mut Sql) -> String {
    let list = sql.bind(Bind::Texts(types.to_vec()));
    match sql.dialect {
        Dialect::Postgres => format!("events.type = ANY({list})"),
        Dialect::Sqlite => format!("events.type IN (SELECT value FROM json_each({list}))"),
    }
}
