//! [`over`]: a `PATCH` body applied to what was stored, for inputs that keep every field an
//! `Option` (rules, sources): a field the patch gives replaces the stored one, and a field the
//! request body set to `null` goes back to its default.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `patch` over `base`; `explicit_nulls` are the fields the request body set to `null`.
pub fn over<T: Serialize + DeserializeOwned>(
    patch: &T,
    base: &T,
    explicit_nulls: &[String],
) -> Result<T, String> {
    let mut merged = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let patch = serde_json::to_value(patch).map_err(|e| e.to_string())?;
    if let (Value::Object(m), Value::Object(p)) = (&mut merged, patch) {
        m.extend(p);
        for field in explicit_nulls {
            m.remove(field);
        }
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}
