//! Parsing the filter language from JSON, node by node: every refusal names the JSON Pointer
//! of the node that is wrong, and a parsed [`Filter`] always has values that suit its ops.

use serde_json::Value;

use super::filter::{
    Clause, Filter, MAX_CLAUSES, MAX_DEPTH, MAX_PATTERN, MAX_VALUES, OPS, Op, REGEX_SIZE_LIMIT,
};
use super::node::{NodeError, child, item, object, string, type_name};
use super::path::Path;

pub(super) fn parse_node(
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
