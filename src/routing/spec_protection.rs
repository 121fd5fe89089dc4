//! The fields of [`EndpointInput`](super::EndpointInput) that protect a receiver:
//! `max_in_flight`, `rate_per_sec`, `burst`, `ordering_key` and `on_failure`, each checked at
//! the edge with a refusal that names it.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::path::Path;
use crate::db::{OnFailure, Protection};

/// An endpoint's `max_in_flight` when none is given.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 8;
/// The largest `max_in_flight`.
pub const MAX_IN_FLIGHT: u32 = 1000;
/// The largest `rate_per_sec`.
pub const MAX_RATE: f64 = 100_000.0;
/// The largest `burst`.
pub const MAX_BURST: u64 = 10_000;

/// A `max_in_flight` that is not a whole number is refused naming the field (serde's own
/// message would not).
pub(super) fn in_flight<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let value = Value::deserialize(d)?;
    value
        .as_u64()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "max_in_flight: must be a whole number from 1 to {MAX_IN_FLIGHT}, not {value}"
            ))
        })
}

pub(super) fn check_in_flight(n: u32) -> Result<u32, String> {
    if (1..=MAX_IN_FLIGHT).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "max_in_flight: must be 1 to {MAX_IN_FLIGHT}, not {n}"
        ))
    }
}

/// What a request says about the protection fields: absent (`None`), `null` (`Some(None)`),
/// or a value, not yet checked.
#[derive(Debug, Default)]
pub struct ProtectionFields {
    pub rate_per_sec: Option<Option<Value>>,
    pub burst: Option<Option<Value>>,
    pub ordering_key: Option<Option<Value>>,
    pub on_failure: Option<Option<Value>>,
}

impl ProtectionFields {
    /// `protection` changed as asked, or the first refusal.
    pub fn apply(self, mut protection: Protection) -> Result<Protection, String> {
        if let Some(rate) = self.rate_per_sec {
            protection.rate_per_sec = rate.map(rate_per_sec).transpose()?;
        }
        if let Some(burst) = self.burst {
            protection.burst = burst.map(burst_of).transpose()?;
        }
        if let Some(key) = self.ordering_key {
            protection.ordering_key = key.map(ordering_key).transpose()?;
        }
        if let Some(on_failure) = self.on_failure {
            let text = on_failure.as_ref().and_then(Value::as_str).unwrap_or("");
            protection.on_failure = OnFailure::parse(text).ok_or_else(|| {
                format!(
                    "on_failure: must be \"skip\" or \"block\", not {}",
                    on_failure.unwrap_or(Value::Null)
                )
            })?;
        }
        Ok(protection)
    }
}

fn rate_per_sec(value: Value) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|r| r.is_finite() && *r > 0.0 && *r <= MAX_RATE)
        .ok_or_else(|| {
            format!("rate_per_sec: must be a number above 0 and at most {MAX_RATE}, not {value}")
        })
}

fn burst_of(value: Value) -> Result<u32, String> {
    value
        .as_u64()
        .filter(|b| (1..=MAX_BURST).contains(b))
        .map(|b| b as u32)
        .ok_or_else(|| format!("burst: must be a whole number from 1 to {MAX_BURST}, not {value}"))
}

fn ordering_key(value: Value) -> Result<String, String> {
    let text = value.as_str().ok_or_else(|| {
        format!("ordering_key: must be a path such as \"$.order_id\", not {value}")
    })?;
    Path::parse(text)
        .map(|p| p.as_str().to_owned())
        .map_err(|e| format!("ordering_key: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with(f: impl FnOnce(&mut ProtectionFields)) -> Result<Protection, String> {
        let mut fields = ProtectionFields::default();
        f(&mut fields);
        fields.apply(Protection::default())
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        for bad in [json!(0), json!(-1), json!("5"), json!(1e9)] {
            let e = with(|f| f.rate_per_sec = Some(Some(bad.clone()))).unwrap_err();
            assert!(e.starts_with("rate_per_sec:"), "{e}");
        }
        for bad in [json!(0), json!(1.5), json!(-2)] {
            let e = with(|f| f.burst = Some(Some(bad.clone()))).unwrap_err();
            assert!(e.starts_with("burst:"), "{e}");
        }
        for bad in [
            json!("$..id"),
            json!("$.items[*]"),
            json!("order_id"),
            json!(3),
        ] {
            let e = with(|f| f.ordering_key = Some(Some(bad.clone()))).unwrap_err();
            assert!(e.starts_with("ordering_key:"), "{bad}: {e}");
        }
        let e = with(|f| f.on_failure = Some(Some(json!("retry")))).unwrap_err();
        assert!(e.starts_with("on_failure:"), "{e}");
        assert!(check_in_flight(0).is_err() && check_in_flight(1001).is_err());
    }

    #[test]
    fn good_values_are_kept_and_null_clears() {
        let p = with(|f| {
            f.rate_per_sec = Some(Some(json!(2.5)));
            f.burst = Some(Some(json!(4)));
            f.ordering_key = Some(Some(json!("$.order_id")));
            f.on_failure = Some(Some(json!("block")));
        })
        .unwrap();
        assert_eq!(p.rate_per_sec, Some(2.5));
        assert_eq!(p.burst, Some(4));
        assert_eq!(p.ordering_key.as_deref(), Some("$.order_id"));
        assert_eq!(p.on_failure, OnFailure::Block);
        let mut clear = ProtectionFields {
            rate_per_sec: Some(None),
            ..Default::default()
        };
        clear.ordering_key = Some(None);
        let p = clear.apply(p).unwrap();
        assert_eq!((p.rate_per_sec, p.ordering_key), (None, None));
        assert_eq!(p.burst, Some(4));
    }
}
