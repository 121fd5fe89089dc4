//! What one entry read from a broker becomes: an event (its type, its payload, its key), or
//! the reason it is moved aside. Pure: no I/O, tested on its own.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::spec::{Source, TypeSpec};
use crate::db::{NewEvent, SOURCE_FINGERPRINT};
use crate::domain::EventType;

/// The largest entry a source takes, as read (a Redis entry's field names and values, or a
/// NATS message's body).
pub const ENTRY_MAX: usize = 256 * 1024;
/// Redis fields whose value is parsed as JSON.
const JSON_FIELDS: [&str; 2] = ["json", "payload"];

/// A Redis entry's fields as a JSON object: each value a string, but a field named `json` or
/// `payload` holds JSON and is parsed.
pub fn redis_fields(fields: &[(String, Vec<u8>)]) -> Result<Value, String> {
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > ENTRY_MAX {
        return Err(format!("the entry is {size} bytes; at most {ENTRY_MAX}"));
    }
    let mut object = Map::new();
    for (name, raw) in fields {
        let text = std::str::from_utf8(raw).map_err(|_| format!("field '{name}' is not UTF-8"))?;
        let value = if JSON_FIELDS.contains(&name.as_str()) {
            serde_json::from_str(text).map_err(|e| format!("field '{name}' is not JSON: {e}"))?
        } else {
            Value::String(text.to_owned())
        };
        object.insert(name.clone(), value);
    }
    Ok(Value::Object(object))
}

/// A NATS message's body as JSON.
pub fn nats_body(body: &[u8]) -> Result<Value, String> {
    if body.len() > ENTRY_MAX {
        return Err(format!(
            "the entry is {} bytes; at most {ENTRY_MAX}",
            body.len()
        ));
    }
    serde_json::from_slice(body).map_err(|e| format!("the entry is not JSON: {e}"))
}

/// The idempotency key of an entry: the source's name and the entry's id.
pub fn key(source: &str, entry: &str) -> String {
    format!("source:{source}:{entry}")
}

/// The event an entry makes, with its key; or why it cannot be one.
pub fn event(source: &Source, entry_id: &str, entry: Value) -> Result<NewEvent, String> {
    let event_type = match &source.event_type {
        TypeSpec::Fixed(t) => t.clone(),
        TypeSpec::At(path) => {
            let found = path
                .lookup(&entry)
                .ok_or_else(|| format!("type: {} is missing in the entry", path.as_str()))?;
            let text = found
                .as_str()
                .ok_or_else(|| format!("type: {} is not a string", path.as_str()))?;
            EventType::parse(text)
                .map_err(|e| format!("type: {}", e.0))?
                .into_string()
        }
    };
    let payload = match &source.payload {
        None => entry,
        Some(path) => path
            .lookup(&entry)
            .cloned()
            .ok_or_else(|| format!("payload: {} is missing in the entry", path.as_str()))?,
    };
    if !payload.is_object() {
        return Err("payload: the payload is not a JSON object".into());
    }
    Ok(NewEvent {
        id: Uuid::now_v7(),
        event_type,
        payload,
        channels: Vec::new(),
        send_at: None,
        idempotency: Some((key(&source.name, entry_id), SOURCE_FINGERPRINT.into())),
        routes: Vec::new(),
        hand_off: None,
        reminders: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::spec::SourceInput;
    use serde_json::json;

    fn source(extra: Value) -> Source {
        let mut input = json!({"name": "orders", "kind": "redis_stream",
            "url": "redis://127.0.0.1:6379", "stream": "orders", "type": "$.type"});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<SourceInput>(input)
            .unwrap()
            .parse(Uuid::nil())
            .unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_redis_entry_is_an_object_of_strings_and_its_json_field_is_parsed() {
        let entry = redis_fields(&fields(&[
            ("type", "order.created"),
            ("json", r#"{"total":120}"#),
        ]));
        assert_eq!(
            entry.unwrap(),
            json!({"type": "order.created", "json": {"total": 120}})
        );
        let err = redis_fields(&fields(&[("payload", "{nope")])).unwrap_err();
        assert!(err.starts_with("field 'payload' is not JSON"), "{err}");
        let big = "x".repeat(ENTRY_MAX);
        assert!(
            redis_fields(&fields(&[("a", &big)]))
                .unwrap_err()
                .contains("at most")
        );
    }

    #[test]
    fn the_type_and_payload_come_from_their_paths_and_the_key_from_the_entry() {
        let s = source(json!({"payload": "$.json"}));
        let entry = json!({"type": "order.created", "json": {"total": 120}});
        let e = event(&s, "1-0", entry).unwrap();
        assert_eq!(e.event_type, "order.created");
        assert_eq!(e.payload, json!({"total": 120}));
        assert_eq!(e.idempotency.unwrap().0, "source:orders:1-0");
    }

    #[test]
    fn an_entry_that_cannot_be_an_event_says_why() {
        let s = source(json!({}));
        let missing = event(&s, "1-0", json!({"kind": "x"})).unwrap_err();
        assert!(missing.contains("$.type is missing"), "{missing}");
        let bad = event(&s, "1-0", json!({"type": "no spaces"})).unwrap_err();
        assert!(bad.starts_with("type:"), "{bad}");
        let s = source(json!({"payload": "$.n"}));
        let scalar = event(&s, "1-0", json!({"type": "a", "n": 3})).unwrap_err();
        assert!(scalar.contains("not a JSON object"), "{scalar}");
        let fixed = source(json!({"type": "fixed.type"}));
        assert_eq!(
            event(&fixed, "2", json!({})).unwrap().event_type,
            "fixed.type"
        );
        assert!(nats_body(b"not json").unwrap_err().contains("not JSON"));
    }
}
