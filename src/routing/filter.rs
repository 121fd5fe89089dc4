//! [`Filter`]: the content filter of an endpoint, a closed enum parsed once from JSON (every
//! refusal names the JSON Pointer of the bad node) and evaluated against an event's payload.
//! Pure: no I/O. The language is specified in the README ("Filters").
//!
//! ```text
//! Filter := {"all": [Filter, …]} | {"any": [Filter, …]} | {"not": Filter}
//!         | {"path": "$.order.total", "op": OP, "value": JSON}
//! ```
//! Any error counts as false: a missing path or a type mismatch makes a clause false, except
//! `missing`, which is then true.

use serde::Serialize;
use serde_json::Value;

use super::compare::{json_eq, order};
use super::node::{NodeError, child, item, object, string, type_name};
use super::path::Path;

/// Nesting depth, clauses, values of `in`/`nin`, and bytes of a pattern, at the most.
pub const MAX_DEPTH: usize = 8;
pub const MAX_CLAUSES: usize = 64;
pub const MAX_VALUES: usize = 1000;
pub const MAX_PATTERN: usize = 1024;
/// The compiled size a regex may take (the engine runs in time linear in the input).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Clause(Clause),
}

/// `path op value`. Built only by [`Filter::parse`], so its value always suits its op.
#[derive(Debug, Clone)]
pub struct Clause {
    path: Path,
    op: Op,
}

#[derive(Debug, Clone)]
pub enum Op {
    Eq(Value),
    Ne(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists,
    Missing,
    Prefix(String),
    Contains(Value),
    Regex(regex::Regex),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Eq(_) => "eq",
            Op::Ne(_) => "ne",
            Op::Gt(_) => "gt",
            Op::Gte(_) => "gte",
            Op::Lt(_) => "lt",
            Op::Lte(_) => "lte",
            Op::In(_) => "in",
            Op::Nin(_) => "nin",
            Op::Exists => "exists",
            Op::Missing => "missing",
            Op::Prefix(_) => "prefix",
            Op::Contains(_) => "contains",
            Op::Regex(_) => "regex",
        }
    }
}

const OPS: &str = "eq, ne, gt, gte, lt, lte, in, nin, exists, missing, prefix, contains, regex";

/// Why one clause came out as it did: what `POST /endpoints/{id}/test` answers per clause.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    pub path: String,
    pub op: &'static str,
    /// The value found at `path`; absent when the path selects nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<Value>,
    pub result: bool,
}

impl Filter {
    /// Parses a filter, refusing anything the language does not define.
    pub fn parse(value: &Value) -> Result<Self, NodeError> {
        let mut clauses = 0;
        parse_node(value, "", 1, &mut clauses)
    }

    /// Whether `payload` passes.
    pub fn matches(&self, payload: &Value) -> bool {
        match self {
            Filter::All(items) => items.iter().all(|f| f.matches(payload)),
            Filter::Any(items) => items.iter().any(|f| f.matches(payload)),
            Filter::Not(inner) => !inner.matches(payload),
            Filter::Clause(c) => c.test(payload),
        }
    }

    /// Whether `payload` passes, with the result of every clause (none is skipped).
    pub fn explain(&self, payload: &Value) -> (bool, Vec<Reason>) {
        let mut reasons = Vec::new();
        let matched = self.explain_into(payload, &mut reasons);
        (matched, reasons)
    }

    fn explain_into(&self, payload: &Value, reasons: &mut Vec<Reason>) -> bool {
        match self {
            // Every clause is evaluated (no short cut), so that each one gets its reason.
            Filter::All(items) => {
                let results: Vec<bool> = items
                    .iter()
                    .map(|f| f.explain_into(payload, reasons))
                    .collect();
                results.into_iter().all(|b| b)
            }
            Filter::Any(items) => {
                let results: Vec<bool> = items
                    .iter()
                    .map(|f| f.explain_into(payload, reasons))
                    .collect();
                results.into_iter().any(|b| b)
            }
            Filter::Not(inner) => !inner.explain_into(payload, reasons),
            Filter::Clause(c) => {
                let result = c.test(payload);
                reasons.push(Reason {
                    path: c.path.to_string(),
                    op: c.op.name(),
                    found: c.path.lookup(payload).cloned(),
                    result,
                });
                result
            }
        }
    }
}

impl Clause {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn op(&self) -> &Op {
        &self.op
    }

    fn test(&self, payload: &Value) -> bool {
        let Some(found) = self.path.lookup(payload) else {
            return matches!(self.op, Op::Missing);
        };
        match &self.op {
            Op::Eq(v) => json_eq(found, v),
            Op::Ne(v) => !json_eq(found, v),
            Op::Gt(v) => order(found, v).is_some_and(|o| o.is_gt()),
            Op::Gte(v) => order(found, v).is_some_and(|o| o.is_ge()),
            Op::Lt(v) => order(found, v).is_some_and(|o| o.is_lt()),
            Op::Lte(v) => order(found, v).is_some_and(|o| o.is_le()),
            Op::In(values) => values.iter().any(|v| json_eq(found, v)),
            Op::Nin(values) => !values.iter().any(|v| json_eq(found, v)),
            Op::Exists => true,
            Op::Missing => false,
            Op::Prefix(p) => found.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Op::Contains(v) => match (found, v) {
                (Value::Array(items), _) => items.iter().any(|i| json_eq(i, v)),
                (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
                _ => false,
            },
            Op::Regex(re) => found.as_str().is_some_and(|s| re.is_match(s)),
        }
    }
}

fn parse_node(
    value: &Value,
    at: &str,
    depth: usize,
    clauses: &mut usize,
) -> Result<Filter, NodeError> {
    if depth > MAX_DEPTH {
        return Err(NodeError::new(
            at,
            format!("filters nest at most {MAX_DEPTH} deep"),
        ));
    }
    let map = value
        .as_object()
        .ok_or_else(|| NodeError::new(at, "a filter must be a JSON object"))?;
    for group in ["all", "any", "not"] {
        if map.contains_key(group) {
            object(value, at, "a filter", &[group])?;
            let inner_at = child(at, group);
            let inner = &map[group];
            if group == "not" {
                return Ok(Filter::Not(Box::new(parse_node(
                    inner,
                    &inner_at,
                    depth + 1,
                    clauses,
                )?)));
            }
            let items = inner
                .as_array()
                .filter(|items| !items.is_empty())
                .ok_or_else(|| {
                    NodeError::new(
                        &inner_at,
                        format!("'{group}' must be a non-empty array of filters"),
                    )
                })?;
            let parsed = items
                .iter()
                .enumerate()
                .map(|(i, f)| parse_node(f, &item(&inner_at, i), depth + 1, clauses))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if group == "all" {
                Filter::All(parsed)
            } else {
                Filter::Any(parsed)
            });
        }
    }
    *clauses += 1;
    if *clauses > MAX_CLAUSES {
        return Err(NodeError::new(
            at,
            format!("a filter has at most {MAX_CLAUSES} clauses"),
        ));
    }
    parse_clause(value, at).map(Filter::Clause)
}

fn parse_clause(value: &Value, at: &str) -> Result<Clause, NodeError> {
    let map = object(value, at, "a filter", &["path", "op", "value"])?;
    let path_text = string(map, at, "path").map_err(|e| hint(e, at))?;
    let path = Path::parse(path_text).map_err(|e| NodeError::new(&child(at, "path"), e))?;
    let op_name = string(map, at, "op")?;
    let op_at = child(at, "op");
    let value_at = child(at, "value");
    let takes_value = !matches!(op_name, "exists" | "missing");
    let value = match (map.get("value"), takes_value) {
        (Some(_), false) => {
            return Err(NodeError::new(
                &value_at,
                format!("'{op_name}' takes no value"),
            ));
        }
        (None, true) if OPS.split(", ").any(|o| o == op_name) => {
            return Err(NodeError::new(at, format!("'{op_name}' needs a 'value'")));
        }
        (v, _) => v.cloned().unwrap_or(Value::Null),
    };
    let wrong = |want: &str| {
        NodeError::new(
            &value_at,
            format!("'{op_name}' takes {want}, not {}", type_name(&value)),
        )
    };
    let op = match op_name {
        "eq" => Op::Eq(value),
        "ne" => Op::Ne(value),
        "gt" | "gte" | "lt" | "lte" => {
            if !(value.is_number() || value.is_string()) {
                return Err(wrong("a number or a string"));
            }
            match op_name {
                "gt" => Op::Gt(value),
                "gte" => Op::Gte(value),
                "lt" => Op::Lt(value),
                _ => Op::Lte(value),
            }
        }
        "in" | "nin" => {
            let Value::Array(values) = value else {
                return Err(wrong("an array"));
            };
            if values.len() > MAX_VALUES {
                return Err(NodeError::new(
                    &value_at,
                    format!("'{op_name}' takes at most {MAX_VALUES} values"),
                ));
            }
            if op_name == "in" {
                Op::In(values)
            } else {
                Op::Nin(values)
            }
        }
        "exists" => Op::Exists,
        "missing" => Op::Missing,
        "prefix" => match value {
            Value::String(p) => Op::Prefix(p),
            _ => return Err(wrong("a string")),
        },
        "contains" => Op::Contains(value),
        "regex" => {
            let Value::String(pattern) = &value else {
                return Err(wrong("a string pattern"));
            };
            if pattern.len() > MAX_PATTERN {
                return Err(NodeError::new(
                    &value_at,
                    format!("a pattern is at most {MAX_PATTERN} bytes"),
                ));
            }
            let re = regex::RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    NodeError::new(
                        &value_at,
                        format!("invalid regex: {}", one_line(&e.to_string())),
                    )
                })?;
            Op::Regex(re)
        }
        other => {
            return Err(NodeError::new(
                &op_at,
                format!("unknown op '{other}'; expected one of {OPS}"),
            ));
        }
    };
    Ok(Clause { path, op })
}

/// A filter object with neither a group nor a path: say what a filter can be.
fn hint(e: NodeError, at: &str) -> NodeError {
    if e.pointer == at && e.message.contains("'path' is required") {
        NodeError::new(
            at,
            "a filter is {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or {\"path\", \"op\", \"value\"}",
        )
    } else {
        e
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
