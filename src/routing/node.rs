//! Reading user-written JSON (filters, templates) node by node, so that every refusal names the
//! JSON Pointer of the node that is wrong: `filter /all/1/op: unknown op "eqq"`.

use std::fmt;

use serde_json::{Map, Value};

/// A refused node: where it is (a JSON Pointer from the document's root) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    pub pointer: String,
    pub message: String,
}

impl NodeError {
    pub fn new(pointer: &str, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "at {at}: {}", self.message)
    }
}

/// The pointer of member `key` below `at` (RFC 6901 escaping).
pub fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The pointer of item `i` below `at`.
pub fn item(at: &str, i: usize) -> String {
    format!("{at}/{i}")
}

/// `value` as an object whose members are all in `known`; anything else is refused by name.
pub fn object<'a>(
    value: &'a Value,
    at: &str,
    what: &str,
    known: &[&str],
) -> Result<&'a Map<String, Value>, NodeError> {
    let map = value
        .as_object()
        .ok_or_else(|| NodeError::new(at, format!("{what} must be a JSON object")))?;
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(NodeError::new(
            &child(at, unknown),
            format!(
                "unknown field '{unknown}'; expected one of {}",
                known.join(", ")
            ),
        ));
    }
    Ok(map)
}

/// A member that must be a string.
pub fn string<'a>(map: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a str, NodeError> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(NodeError::new(
            &child(at, key),
            format!("'{key}' must be a string"),
        )),
        None => Err(NodeError::new(at, format!("'{key}' is required"))),
    }
}

/// The JSON type of a value, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(child("", "a/b~c"), "/a~1b~0c");
        assert_eq!(item("/all", 2), "/all/2");
    }

    #[test]
    fn unknown_members_are_named() {
        let e = object(&json!({"filtr": 1}), "/x", "a filter", &["all"]).unwrap_err();
        assert_eq!(e.pointer, "/x/filtr");
        assert!(e.to_string().contains("unknown field 'filtr'"));
    }
}
