//! Which events a replay selects for one endpoint, as SQL: the mode's condition on the event's
//! delivery to it, and, for `missing` and `all`, whether the endpoint takes the event now (its
//! current types, channels and filter). A filter that SQL cannot evaluate (`regex`) is left to
//! the caller, which then checks each event in process.

use uuid::Uuid;

use super::filter::{check, predicate};
use super::sql::{Bind, Dialect, Sql};
use super::{Where, one_of_types};
use crate::replay::Mode;
use crate::routing::Filter;

/// An endpoint as a replay targets it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub id: Uuid,
    /// `None`: every type.
    pub types: Option<&'a [String]>,
    /// `None`: any channel.
    pub channels: Option<&'a [String]>,
    pub filter: Option<&'a Filter>,
}

impl Target<'_> {
    /// Whether SQL alone decides for this target (its filter, if any, compiles).
    pub fn exact(&self) -> bool {
        self.filter.is_none_or(|f| check(f).is_ok())
    }
}

/// The condition under which `mode` sends an event to `target`. Where the target's filter does
/// not compile, the condition leaves it out: it then selects more, never less.
pub fn condition(mode: Mode, target: &Target<'_>, w: &mut Where, sql: &mut Sql) -> String {
    let id = sql.bind(Bind::Uuid(target.id));
    let delivery =
        format!("SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.endpoint_id = {id}");
    match mode {
        Mode::Failed => format!("EXISTS ({delivery} AND d.status = 'failed')"),
        Mode::Missing => format!("(NOT EXISTS ({delivery}) AND {})", takes(target, w, sql)),
        Mode::All => format!(
            "({} AND NOT EXISTS ({delivery} AND d.status IN ('pending', 'sending')))",
            takes(target, w, sql)
        ),
    }
}

/// The endpoint takes the event: its types, its channels and its filter (when it compiles).
fn takes(target: &Target<'_>, w: &mut Where, sql: &mut Sql) -> String {
    let mut parts = Vec::new();
    if let Some(types) = target.types {
        parts.push(if types.is_empty() {
            "FALSE".to_owned()
        } else {
            one_of_types(types, sql)
        });
    }
    if let Some(channels) = target.channels {
        let list = sql.bind(Bind::Texts(channels.to_vec()));
        parts.push(match sql.dialect {
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM json_array_elements_text(events.channels::json) AS c(name) \
                 WHERE c.name = ANY({list}))"
            ),
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(events.channels) AS c \
                 WHERE c.value IN (SELECT value FROM json_each({list})))"
            ),
        });
    }
    if let Some(filter) = target.filter.filter(|f| check(f).is_ok()) {
        let doc = w.doc(sql.dialect);
        parts.push(predicate(filter, doc, sql));
    }
    if parts.is_empty() {
        "TRUE".to_owned()
    } else {
        format!("({})", parts.join(" AND "))
    }
}
