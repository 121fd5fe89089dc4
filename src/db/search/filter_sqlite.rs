//! One filter clause as an SQLite predicate, with SQLite's JSON functions: `json_type` tells a
//! missing node (NULL) from a JSON `null`, `json_extract` reads a scalar, and equality of arrays
//! and objects is written out member by member (numbers by value, keys in any order). Strings
//! compare as bytes (SQLite's BINARY collation), and instants through `herald_instant`, which
//! this store registers on each connection ([`register`]).

use serde_json::Value;

use super::filter::unreachable;
use super::sql::{Bind, Sql};
use crate::routing::{Clause, Op, Path, Segment, instant};

pub(super) fn clause(c: &Clause, doc: &str, sql: &mut Sql) -> String {
    if unreachable(c.path().segments()) {
        return if matches!(c.op(), Op::Missing) {
            "1"
        } else {
            "0"
        }
        .to_owned();
    }
    let p = sql.text(sqlite_path(c.path()));
    // Every use below refers to this one bind: SQLite refuses a bind that is never used.
    let path = At::dynamic(&p);
    let (t, x) = (
        format!("json_type({doc}, {p})"),
        format!("json_extract({doc}, {p})"),
    );
    let body = match c.op() {
        Op::Exists => format!("{t} IS NOT NULL"),
        Op::Missing => format!("{t} IS NULL"),
        Op::Eq(val) => eq(doc, &path, val, sql),
        Op::Ne(val) => format!(
            "{t} IS NOT NULL AND NOT COALESCE({}, 0)",
            eq(doc, &path, val, sql)
        ),
        Op::Gt(val) => order(&t, &x, ">", val, sql),
        Op::Gte(val) => order(&t, &x, ">=", val, sql),
        Op::Lt(val) => order(&t, &x, "<", val, sql),
        Op::Lte(val) => order(&t, &x, "<=", val, sql),
        Op::In(vals) => one_of(doc, &path, &t, &x, vals, sql),
        Op::Nin(vals) => format!(
            "{t} IS NOT NULL AND NOT COALESCE({}, 0)",
            one_of(doc, &path, &t, &x, vals, sql)
        ),
        Op::Prefix(prefix) => {
            let b = sql.text(prefix.clone());
            format!("{t} = 'text' AND substr({x}, 1, length({b})) = {b}")
        }
        Op::Contains(val) => {
            let element = scalar_match("e", val, sql)
                .unwrap_or_else(|| eq(doc, &At::dynamic("e.fullkey"), val, sql));
            let within = match val {
                Value::String(sub) => format!("instr({x}, {}) > 0", sql.text(sub.clone())),
                _ => "0".to_owned(),
            };
            format!(
                "CASE {t} WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each({doc}, {p}) AS e \
                 WHERE {element}) WHEN 'text' THEN {within} ELSE 0 END"
            )
        }
        // Refused by `check`: never reached for a checked filter.
        Op::Regex(_) => format!("({t} IS NULL AND 0)"),
    };
    format!("COALESCE(({body}), 0)")
}

/// A path: an SQL expression (the clause's bound path, or a `json_each` row's `fullkey`)
/// followed by steps, which are bound.
struct At {
    base: String,
    steps: String,
}

impl At {
    fn dynamic(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            steps: String::new(),
        }
    }

    fn then(&self, step: &str) -> Self {
        Self {
            base: self.base.clone(),
            steps: format!("{}{step}", self.steps),
        }
    }

    fn render(&self, sql: &mut Sql) -> String {
        if self.steps.is_empty() {
            self.base.clone()
        } else {
            format!("({} || {})", self.base, sql.text(self.steps.clone()))
        }
    }
}

/// The node at `at` equals `val` as the router's `json_eq` says.
fn eq(doc: &str, at: &At, val: &Value, sql: &mut Sql) -> String {
    let p = at.render(sql);
    let t = format!("json_type({doc}, {p})");
    let x = format!("json_extract({doc}, {p})");
    match val {
        Value::Null => format!("{t} = 'null'"),
        Value::Bool(b) => format!("{t} = '{b}'"),
        Value::Number(_) => format!("{t} IN ('integer', 'real') AND {x} = {}", number(val, sql)),
        Value::String(s) => format!("{t} = 'text' AND {x} = {}", sql.text(s.clone())),
        Value::Array(items) => {
            let mut parts = vec![
                format!("{t} = 'array'"),
                format!("json_array_length({doc}, {p}) = {}", items.len()),
            ];
            for (i, item) in items.iter().enumerate() {
                parts.push(eq(doc, &at.then(&format!("[{i}]")), item, sql));
            }
            format!("({})", parts.join(" AND "))
        }
        Value::Object(map) => {
            let mut parts = vec![
                format!("{t} = 'object'"),
                format!(
                    "(SELECT count(*) FROM json_each({doc}, {p})) = {}",
                    map.len()
                ),
            ];
            for (key, item) in map {
                parts.push(eq(doc, &at.then(&member(key)), item, sql));
            }
            format!("({})", parts.join(" AND "))
        }
    }
}

/// A `json_each` row (`row.type`, `row.atom`) equal to a scalar `val`; `None` for arrays and
/// objects, which [`eq`] compares member by member.
fn scalar_match(row: &str, val: &Value, sql: &mut Sql) -> Option<String> {
    Some(match val {
        Value::Null => format!("{row}.type = 'null'"),
        Value::Bool(b) => format!("{row}.type = '{b}'"),
        Value::Number(_) => format!(
            "{row}.type IN ('integer', 'real') AND {row}.atom = {}",
            number(val, sql)
        ),
        Value::String(s) => format!(
            "{row}.type = 'text' AND {row}.atom = {}",
            sql.text(s.clone())
        ),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

fn one_of(doc: &str, at: &At, t: &str, x: &str, vals: &[Value], sql: &mut Sql) -> String {
    let (scalars, nested): (Vec<&Value>, Vec<&Value>) = vals
        .iter()
        .partition(|v| !matches!(v, Value::Array(_) | Value::Object(_)));
    let mut parts = Vec::new();
    if !scalars.is_empty() {
        let list =
            sql.text(Value::from(scalars.into_iter().cloned().collect::<Vec<_>>()).to_string());
        parts.push(format!(
            "EXISTS (SELECT 1 FROM json_each({list}) AS i WHERE CASE \
             WHEN i.type IN ('integer', 'real') THEN {t} IN ('integer', 'real') AND i.atom = {x} \
             WHEN i.type = 'text' THEN {t} = 'text' AND i.atom = {x} \
             ELSE i.type = {t} END)"
        ));
    }
    for v in nested {
        parts.push(format!("COALESCE({}, 0)", eq(doc, at, v, sql)));
    }
    if parts.is_empty() {
        // `in []`: nothing is in it. The clause's path bind must still be used (see `clause`).
        return format!("({t} IS NULL AND 0)");
    }
    format!("({})", parts.join(" OR "))
}

fn order(t: &str, x: &str, cmp: &str, val: &Value, sql: &mut Sql) -> String {
    match val {
        Value::Number(_) => format!(
            "{t} IN ('integer', 'real') AND {x} {cmp} {}",
            number(val, sql)
        ),
        Value::String(s) => {
            let b = sql.text(s.clone());
            match instant(s) {
                None => format!("{t} = 'text' AND {x} {cmp} {b}"),
                Some(at) => {
                    let i = sql.text(instant_key(at));
                    format!(
                        "{t} = 'text' AND CASE WHEN herald_instant({x}) IS NOT NULL \
                         THEN herald_instant({x}) {cmp} {i} ELSE {x} {cmp} {b} END"
                    )
                }
            }
        }
        // The parser allows only numbers and strings here.
        _ => "0".to_owned(),
    }
}

fn number(val: &Value, sql: &mut Sql) -> String {
    match val.as_i64() {
        Some(i) => sql.bind(Bind::Int(i)),
        None => sql.bind(Bind::Real(val.as_f64().unwrap_or(f64::NAN))),
    }
}

fn member(key: &str) -> String {
    format!(".{}", Value::from(key))
}

/// `$."a"[0][#-1]`: names quoted with JSON escapes, negative indexes from the end.
pub fn sqlite_path(path: &Path) -> String {
    let mut text = String::from("$");
    for segment in path.segments() {
        match segment {
            Segment::Name(name) => text.push_str(&member(name)),
            Segment::Index(i) if *i >= 0 => text.push_str(&format!("[{i}]")),
            Segment::Index(i) => text.push_str(&format!("[#{i}]")),
        }
    }
    text
}

/// An instant as text that sorts as the instant does: seconds from year -9999, then
/// nanoseconds, both zero-padded.
pub fn instant_key(at: chrono::DateTime<chrono::Utc>) -> String {
    const SHIFT: i64 = 400_000_000_000;
    format!(
        "{:012}.{:09}",
        at.timestamp() + SHIFT,
        at.timestamp_subsec_nanos()
    )
}

/// Registers `herald_instant(text)`: the instant a string names ([`instant_key`]), NULL when it
/// is not an RFC 3339 instant, by the router's own rule.
pub fn register(conn: &mut diesel::SqliteConnection) -> diesel::QueryResult<()> {
    herald_instant_utils::register_impl(conn, |s: Option<String>| {
        s.as_deref().and_then(instant).map(instant_key)
    })
}

#[diesel::declare_sql_function]
extern "SQL" {
    fn herald_instant(
        s: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_names_and_count_back_with_hash() {
        let p = |t: &str| sqlite_path(&Path::parse(t).unwrap());
        assert_eq!(p("$.a.b"), r#"$."a"."b""#);
        assert_eq!(p("$.list[-2][0]"), r#"$."list"[#-2][0]"#);
    }

    #[test]
    fn instant_keys_sort_as_instants() {
        let a = instant("0000-01-01T00:30:00+01:00").unwrap();
        let b = instant("2026-12-01T09:00:00.5Z").unwrap();
        let c = instant("2026-12-01T09:00:00.25+00:00").unwrap();
        assert!(instant_key(a) < instant_key(c));
        assert!(instant_key(c) < instant_key(b));
    }
}
