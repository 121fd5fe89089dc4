//! [`Template`]: how an endpoint shapes the body it receives. Parsed when the endpoint is
//! written (a bad template is refused with the JSON Pointer of the bad node), rendered at
//! delivery. Pure: no I/O.
//!
//! - `{"kind": "mapping", "base": {…}, "set": [{"src": "$.order.id", "dest": "/id", "default"?: JSON}]}`
//!   starts from `base` and writes the value at `src` (a path into the payload) to the JSON
//!   Pointer `dest` (`-` appends to an array). A missing `src` with no default is an error.
//! - `{"kind": "text", "body": "…", "content_type"?: "text/plain"}` renders MiniJinja with
//!   `id`, `type` and `payload` in scope; an undefined name is an error, rendering has a fuel
//!   limit and there is no loader.

use serde_json::{Value, json};

use super::node::{NodeError, child, item, object, string, type_name};
use super::path::Path;
use super::pointer::{Pointer, write};

/// The largest rendered body, and the most `set` entries.
pub const MAX_BODY: usize = 256 * 1024;
const MAX_SET: usize = 256;
/// The MiniJinja instructions one rendering may run.
const FUEL: u64 = 100_000;
const MAX_TEXT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub enum Template {
    Mapping { base: Value, set: Vec<Assign> },
    Text { body: String, content_type: String },
}

#[derive(Debug, Clone)]
pub struct Assign {
    src: Path,
    dest: Pointer,
    default: Option<Value>,
}

/// A rendered body and its media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// What the template is rendered against.
pub struct Scope<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a Value,
}

impl Template {
    pub fn parse(value: &Value) -> Result<Self, NodeError> {
        let map = value
            .as_object()
            .ok_or_else(|| NodeError::new("", "a template must be a JSON object"))?;
        match map.get("kind").and_then(Value::as_str) {
            Some("mapping") => parse_mapping(value),
            Some("text") => parse_text(value),
            Some(other) => Err(NodeError::new(
                "/kind",
                format!("unknown kind '{other}'; expected mapping or text"),
            )),
            None => Err(NodeError::new("", "'kind' is required: mapping or text")),
        }
    }

    /// The body for one delivery. An error is permanent: the same event renders the same way.
    pub fn render(&self, scope: &Scope<'_>) -> Result<Rendered, String> {
        let rendered = match self {
            Template::Mapping { base, set } => {
                let mut doc = base.clone();
                for a in set {
                    let value = match (a.src.lookup(scope.payload), &a.default) {
                        (Some(v), _) | (None, Some(v)) => v.clone(),
                        (None, None) => {
                            return Err(format!(
                                "template: nothing at {} in the payload, and no default",
                                a.src
                            ));
                        }
                    };
                    write(&mut doc, &a.dest, value).map_err(|e| format!("template: {e}"))?;
                }
                let body = serde_json::to_vec(&doc).map_err(|e| format!("template: {e}"))?;
                Rendered {
                    body,
                    content_type: "application/json".into(),
                }
            }
            Template::Text { body, content_type } => Rendered {
                body: render_text(body, scope)?.into_bytes(),
                content_type: content_type.clone(),
            },
        };
        if rendered.body.len() > MAX_BODY {
            return Err(format!(
                "template: the rendered body is {} bytes, over the {MAX_BODY} limit",
                rendered.body.len()
            ));
        }
        Ok(rendered)
    }
}

/// The body when an endpoint has no template: the payload as JSON.
pub fn plain(payload: &Value) -> Rendered {
    Rendered {
        body: serde_json::to_vec(payload).unwrap_or_default(),
        content_type: "application/json".into(),
    }
}

fn parse_mapping(value: &Value) -> Result<Template, NodeError> {
    let map = object(value, "", "a template", &["kind", "base", "set"])?;
    let base = map.get("base").cloned().unwrap_or_else(|| json!({}));
    if !(base.is_object() || base.is_array()) {
        return Err(NodeError::new(
            "/base",
            format!(
                "'base' must be an object or an array, not {}",
                type_name(&base)
            ),
        ));
    }
    let entries = match map.get("set") {
        Some(Value::Array(entries)) if entries.len() <= MAX_SET => entries.as_slice(),
        Some(Value::Array(_)) => {
            return Err(NodeError::new(
                "/set",
                format!("'set' has at most {MAX_SET} entries"),
            ));
        }
        Some(_) => return Err(NodeError::new("/set", "'set' must be an array")),
        None => &[],
    };
    let mut set = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let at = item("/set", i);
        let e = object(entry, &at, "a set entry", &["src", "dest", "default"])?;
        let src = Path::parse(string(e, &at, "src")?)
            .map_err(|m| NodeError::new(&child(&at, "src"), m))?;
        let dest = Pointer::parse(string(e, &at, "dest")?)
            .map_err(|m| NodeError::new(&child(&at, "dest"), m))?;
        set.push(Assign {
            src,
            dest,
            default: e.get("default").cloned(),
        });
    }
    Ok(Template::Mapping { base, set })
}

fn parse_text(value: &Value) -> Result<Template, NodeError> {
    let map = object(value, "", "a template", &["kind", "body", "content_type"])?;
    let body = string(map, "", "body")?;
    if body.len() > MAX_TEXT {
        return Err(NodeError::new(
            "/body",
            format!("a text template is at most {MAX_TEXT} bytes"),
        ));
    }
    environment()
        .template_from_str(body)
        .map_err(|e| NodeError::new("/body", format!("template does not parse: {e}")))?;
    let content_type = match map.get("content_type") {
        None => "text/plain".to_owned(),
        Some(Value::String(ct)) if is_media_type(ct) => ct.clone(),
        Some(_) => {
            return Err(NodeError::new(
                "/content_type",
                "'content_type' must be a media type such as text/plain",
            ));
        }
    };
    Ok(Template::Text {
        body: body.to_owned(),
        content_type,
    })
}

/// `type/subtype`, optionally with parameters, in visible ASCII.
fn is_media_type(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let mut parts = essence.split('/');
    let token = |s: Option<&str>| {
        s.is_some_and(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        })
    };
    ct.len() <= 128
        && ct.bytes().all(|b| (0x20..0x7f).contains(&b))
        && token(parts.next())
        && token(parts.next())
        && parts.next().is_none()
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

fn render_text(body: &str, scope: &Scope<'_>) -> Result<String, String> {
    let env = environment();
    let ctx = minijinja::context! {
        id => scope.id,
        type => scope.event_type,
        payload => minijinja::Value::from_serialize(scope.payload),
    };
    env.render_str(body, ctx)
        .map_err(|e| format!("template: {e}"))
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
