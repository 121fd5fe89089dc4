//! One filter clause as a PostgreSQL predicate. The path becomes a `strict` jsonpath (bound, so
//! that `$.a[0]` selects nothing in an object, as in process), the node it selects is compared
//! with `jsonb` operators (numbers by value, objects whatever their key order), strings compare
//! byte by byte (`COLLATE "C"`, as Rust's `str` does), and instants through `herald_instant`
//! (migration `000012`).

use std::fmt::Write;

use serde_json::Value;

use super::filter::unreachable;
use super::sql::{Bind, Sql};
use crate::routing::{Clause, Op, Path, Segment, instant};

pub(super) fn clause(c: &Clause, doc: &str, sql: &mut Sql) -> String {
    let v = if unreachable(c.path().segments()) {
        "NULL::jsonb".to_owned()
    } else {
        let p = sql.text(jsonpath(c.path()));
        format!("jsonb_path_query_first({doc}, {p}::jsonpath, '{{}}'::jsonb, true)")
    };
    let node = Node {
        t: format!("jsonb_typeof({v})"),
        s: format!("({v} #>> '{{}}')"),
        v,
    };
    let v = &node.v;
    let body = match c.op() {
        Op::Exists => return format!("({v} IS NOT NULL)"),
        Op::Missing => return format!("({v} IS NULL)"),
        Op::Eq(val) => format!("{v} = {}", json(val, sql)),
        Op::Ne(val) => format!("{v} <> {}", json(val, sql)),
        Op::Gt(val) => node.order(">", val, sql),
        Op::Gte(val) => node.order(">=", val, sql),
        Op::Lt(val) => node.order("<", val, sql),
        Op::Lte(val) => node.order("<=", val, sql),
        Op::In(vals) => node.one_of(vals, sql),
        Op::Nin(vals) => format!("{v} IS NOT NULL AND NOT {}", node.one_of(vals, sql)),
        Op::Prefix(p) => {
            let b = sql.text(p.clone());
            format!(
                "CASE WHEN {} = 'string' THEN starts_with({}, {b}) ELSE false END",
                node.t, node.s
            )
        }
        Op::Contains(val) => {
            let b = json(val, sql);
            let within = match val {
                Value::String(sub) => format!("strpos({}, {}) > 0", node.s, sql.text(sub.clone())),
                _ => "false".to_owned(),
            };
            format!(
                "CASE {} WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({v}) AS x(e) \
                 WHERE x.e = {b}) WHEN 'string' THEN {within} ELSE false END",
                node.t
            )
        }
        // Refused by `check`: never reached for a checked filter.
        Op::Regex(_) => "false".to_owned(),
    };
    format!("COALESCE({body}, false)")
}

/// The selected node (`v`, `jsonb` or NULL), its type name and its text.
struct Node {
    v: String,
    t: String,
    s: String,
}

impl Node {
    fn order(&self, cmp: &str, val: &Value, sql: &mut Sql) -> String {
        let (t, s) = (&self.t, &self.s);
        match val {
            Value::Number(n) => {
                let b = sql.text(n.to_string());
                format!(
                    "CASE WHEN {t} = 'number' THEN ({}::numeric) {cmp} {b}::numeric ELSE false END",
                    s
                )
            }
            Value::String(x) => {
                let b = sql.text(x.clone());
                let as_text = format!("{s} COLLATE \"C\" {cmp} {b}::text COLLATE \"C\"");
                match instant(x) {
                    None => format!("CASE WHEN {t} = 'string' THEN {as_text} ELSE false END"),
                    Some(at) => {
                        let i = sql.bind(Bind::Time(at));
                        format!(
                            "CASE WHEN {t} <> 'string' THEN false \
                             WHEN herald_instant({s}) IS NOT NULL THEN herald_instant({s}) {cmp} {i} \
                             ELSE {as_text} END"
                        )
                    }
                }
            }
            // The parser allows only numbers and strings here.
            _ => "false".to_owned(),
        }
    }

    fn one_of(&self, vals: &[Value], sql: &mut Sql) -> String {
        let b = sql.text(Value::from(vals.to_vec()).to_string());
        format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements({b}::jsonb) AS x(e) WHERE x.e = {})",
            self.v
        )
    }
}

fn json(val: &Value, sql: &mut Sql) -> String {
    format!("{}::jsonb", sql.text(val.to_string()))
}

/// `strict $."a"[0][last]`: names quoted (JSON escapes), negative indexes from `last`.
pub fn jsonpath(path: &Path) -> String {
    let mut text = String::from("strict $");
    for segment in path.segments() {
        match segment {
            Segment::Name(name) => {
                text.push('.');
                text.push_str(&Value::from(name.as_str()).to_string());
            }
            Segment::Index(i) if *i >= 0 => {
                let _ = write!(text, "[{i}]");
            }
            Segment::Index(-1) => text.push_str("[last]"),
            Segment::Index(i) => {
                let _ = write!(text, "[last - {}]", -i - 1);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_strict_quoted_and_count_back_from_last() {
        let p = |t: &str| jsonpath(&Path::parse(t).unwrap());
        assert_eq!(p("$.a.b"), r#"strict $."a"."b""#);
        assert_eq!(p(r#"$['x "y"'][0]"#), r#"strict $."x \"y\""[0]"#);
        assert_eq!(p("$.list[-1]"), r#"strict $."list"[last]"#);
        assert_eq!(p("$.list[-3]"), r#"strict $."list"[last - 2]"#);
        assert_eq!(p("$"), "strict $");
    }
}
