//! The routing filter as a SQL predicate, for search and replay: [`check`] refuses, at the edge,
//! what SQL cannot evaluate exactly as the router does; [`predicate`] writes the rest for one
//! store (`filter_pg`: jsonpath over `jsonb`; `filter_sqlite`: SQLite's JSON functions). Each
//! clause is wrapped so that it is never NULL: an error counts as false, as in process, and
//! `not` of such a clause is true.

use serde_json::Value;

use super::sql::{Dialect, Sql};
use super::{filter_pg, filter_sqlite};
use crate::routing::{Filter, NodeError, Op, Segment};

/// Whether every clause of `filter` can be evaluated in SQL. `regex` cannot: PostgreSQL's
/// pattern language is not the router's (Rust `regex`), and the same pattern would match
/// differently. A NUL character cannot be held by PostgreSQL's text, in a path or in a value.
pub fn check(filter: &Filter) -> Result<(), NodeError> {
    check_at(filter, "")
}

fn check_at(filter: &Filter, at: &str) -> Result<(), NodeError> {
    match filter {
        Filter::All(items) | Filter::Any(items) => {
            let group = if matches!(filter, Filter::All(_)) {
                "all"
            } else {
                "any"
            };
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, f)| check_at(f, &format!("{at}/{group}/{i}")))
        }
        Filter::Not(inner) => check_at(inner, &format!("{at}/not")),
        Filter::Clause(c) => {
            if matches!(c.op(), Op::Regex(_)) {
                return Err(NodeError::new(
                    &format!("{at}/op"),
                    "'regex' cannot be used to search or replay (it runs only in routing); \
                     use eq, in, prefix or contains",
                ));
            }
            let nul_in_path = c.path().segments().iter().any(|s| match s {
                Segment::Name(n) => n.contains('\0'),
                Segment::Index(_) => false,
            });
            if nul_in_path {
                return Err(NodeError::new(
                    &format!("{at}/path"),
                    "a path to search by cannot hold the NUL character",
                ));
            }
            let nul_in_value = match c.op() {
                Op::Eq(v) | Op::Ne(v) | Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => {
                    holds_nul(v)
                }
                Op::Contains(v) => holds_nul(v),
                Op::In(vs) | Op::Nin(vs) => vs.iter().any(holds_nul),
                Op::Prefix(p) => p.contains('\0'),
                Op::Exists | Op::Missing | Op::Regex(_) => false,
            };
            if nul_in_value {
                return Err(NodeError::new(
                    &format!("{at}/value"),
                    "a value to search by cannot hold the NUL character",
                ));
            }
            Ok(())
        }
    }
}

fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// The predicate over `doc` (on PostgreSQL a `jsonb` expression, on SQLite the payload's
/// text), never NULL. `filter` must have passed [`check`].
pub fn predicate(filter: &Filter, doc: &str, sql: &mut Sql) -> String {
    match filter {
        Filter::All(items) => join(items, " AND ", doc, sql),
        Filter::Any(items) => join(items, " OR ", doc, sql),
        Filter::Not(inner) => format!("(NOT {})", predicate(inner, doc, sql)),
        Filter::Clause(c) => match sql.dialect {
            Dialect::Postgres => filter_pg::clause(c, doc, sql),
            Dialect::Sqlite => filter_sqlite::clause(c, doc, sql),
        },
    }
}

fn join(items: &[Filter], with: &str, doc: &str, sql: &mut Sql) -> String {
    let parts: Vec<String> = items.iter().map(|f| predicate(f, doc, sql)).collect();
    format!("({})", parts.join(with))
}

/// Whether an index lies beyond any array a payload can hold: such a path selects nothing.
pub(super) fn unreachable(segments: &[Segment]) -> bool {
    segments
        .iter()
        .any(|s| matches!(s, Segment::Index(i) if i.unsigned_abs() > i32::MAX as u64))
}
