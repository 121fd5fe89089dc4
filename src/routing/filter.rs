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
use super::node::NodeError;
use super::path::Path;

/// Nesting depth, clauses, values of `in`/`nin`, and bytes of a pattern, at the most.
pub const MAX_DEPTH: usize = 8;
pub const MAX_CLAUSES: usize = 64;
pub const MAX_VALUES: usize = 1000;
pub const MAX_PATTERN: usize = 1024;
/// The compiled size a regex may take (the engine runs in time linear in the input).
pub(super) const REGEX_SIZE_LIMIT: usize = 1 << 20;

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
    pub(super) path: Path,
    pub(super) op: Op,
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

pub(super) const OPS: &str =
    "eq, ne, gt, gte, lt, lte, in, nin, exists, missing, prefix, contains, regex";

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
        super::filter_parse::parse_node(value, "", 1, &mut clauses)
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

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
