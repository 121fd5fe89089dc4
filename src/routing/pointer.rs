//! [`Pointer`]: an RFC 6901 JSON Pointer used as a write target by mapping templates. Writing
//! creates the objects on the way, `-` appends to an array, and `""` replaces the document.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

impl Pointer {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Ok(Self {
                text: String::new(),
                tokens: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "'{text}' is not a JSON Pointer: it must be empty or start with '/'"
            ));
        };
        let tokens = rest
            .split('/')
            .map(|t| {
                if t.replace("~0", "").replace("~1", "").contains('~') {
                    Err(format!("'{text}': '~' must be written ~0 and '/' ~1"))
                } else {
                    Ok(t.replace("~1", "/").replace("~0", "~"))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if tokens.len() > 32 {
            return Err(format!("'{text}' has more than 32 tokens"));
        }
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Writes `value` at `at` in `doc`.
pub fn write(doc: &mut Value, at: &Pointer, value: Value) -> Result<(), String> {
    let Some((last, parents)) = at.tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let mut node = doc;
    for (depth, token) in parents.iter().enumerate() {
        node = step(node, token).ok_or_else(|| {
            format!(
                "cannot write {}: {} is not an object or array",
                at.text,
                prefix(at, depth)
            )
        })?;
    }
    match node {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            match index(last) {
                Some(i) if i < items.len() => {
                    items[i] = value;
                    Ok(())
                }
                Some(i) if i == items.len() => {
                    items.push(value);
                    Ok(())
                }
                _ => Err(format!(
                    "cannot write {}: '{last}' is not an index of an array of {}",
                    at.text,
                    items.len()
                )),
            }
        }
        _ => Err(format!(
            "cannot write {}: {} is not an object or array",
            at.text,
            prefix(at, parents.len())
        )),
    }
}

/// The child at `token`, created as an object when an object lacks it.
fn step<'a>(node: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    match node {
        Value::Object(map) => Some(
            map.entry(token.to_owned())
                .or_insert_with(|| Value::Object(Map::new())),
        ),
        Value::Array(items) => {
            if token == "-" {
                items.push(Value::Object(Map::new()));
                return items.last_mut();
            }
            let i = index(token)?;
            items.get_mut(i)
        }
        _ => None,
    }
}

fn index(token: &str) -> Option<usize> {
    if token == "0"
        || (!token.starts_with('0')
            && !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_digit()))
    {
        token.parse().ok()
    } else {
        None
    }
}

fn prefix(at: &Pointer, depth: usize) -> String {
    let p: String = at.tokens[..depth]
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect();
    if p.is_empty() {
        "the document".into()
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(doc: Value, at: &str, value: Value) -> Result<Value, String> {
        let mut doc = doc;
        write(&mut doc, &Pointer::parse(at)?, value)?;
        Ok(doc)
    }

    #[test]
    fn writes_create_objects_append_and_replace() {
        assert_eq!(put(json!({}), "/a/b", json!(1)), Ok(json!({"a": {"b": 1}})));
        assert_eq!(
            put(json!({"l": [1]}), "/l/-", json!(2)),
            Ok(json!({"l": [1, 2]}))
        );
        assert_eq!(
            put(json!({"l": [1]}), "/l/0", json!(9)),
            Ok(json!({"l": [9]}))
        );
        assert_eq!(
            put(json!({"l": [{}]}), "/l/0/x", json!(true)),
            Ok(json!({"l": [{"x": true}]}))
        );
        assert_eq!(put(json!({"a": 1}), "", json!([1])), Ok(json!([1])));
        assert_eq!(
            put(json!({}), "/a~1b/c~0d", json!(1)),
            Ok(json!({"a/b": {"c~d": 1}}))
        );
    }

    #[test]
    fn impossible_writes_name_the_obstacle() {
        let e = put(json!({"a": 1}), "/a/b", json!(1)).unwrap_err();
        assert!(e.contains("/a is not an object or array"), "{e}");
        let e = put(json!({"l": []}), "/l/5", json!(1)).unwrap_err();
        assert!(e.contains("not an index"), "{e}");
        assert!(Pointer::parse("a").unwrap_err().contains("start with '/'"));
        assert!(Pointer::parse("/a~2").unwrap_err().contains("~0"));
    }
}
