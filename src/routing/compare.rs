//! How the filter compares JSON values. Equality is by value (`1` equals `1.0`; values of
//! different types are simply unequal). Order is defined only between two numbers or two
//! strings; two strings that are both RFC 3339 instants compare as instants.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// JSON equality, with numbers compared by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The order of `a` against `b`, when they are comparable.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => match (instant(x), instant(y)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(x.cmp(y)),
        },
        _ => None,
    }
}

/// An RFC 3339 instant, such as `2026-12-01T09:00:00Z` or `2026-12-01T10:00:00+01:00`.
pub fn instant(s: &str) -> Option<DateTime<Utc>> {
    // Cheap test first: most strings are not instants.
    if s.len() < 20 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_equal_by_value_and_types_never_mix() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!(3), &json!("3")));
        assert!(!json_eq(&json!(null), &json!(false)));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }

    #[test]
    fn instants_compare_as_instants_and_other_strings_as_text() {
        let earlier = json!("2026-12-01T10:00:00+02:00");
        let later = json!("2026-12-01T09:00:00Z");
        assert_eq!(order(&earlier, &later), Some(Ordering::Less));
        assert_eq!(order(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(order(&json!(2), &json!(10.5)), Some(Ordering::Less));
        assert_eq!(order(&json!(2), &json!("10")), None);
        assert_eq!(order(&json!(true), &json!(false)), None);
    }
}
