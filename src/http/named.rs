//! What the routes of named resources (endpoints, rules, sources) share: finding a row a path
//! names by its id or its name, and splitting a `PATCH` body into the fields it sets and the
//! ones it clears with `null`.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;
use crate::db::{Backend, Op, StoreError};

/// The row of `list` that `raw` names, by id or by name; 404 naming `what` when none does.
pub async fn by_id_or_name<R: Send + 'static>(
    state: &AppState,
    raw: &str,
    what: &'static str,
    list: fn(&dyn Backend) -> Result<Vec<R>, StoreError>,
    key: fn(&R) -> (Uuid, &str),
) -> Result<R, ApiError> {
    let id = Uuid::parse_str(raw).ok();
    let name = raw.to_owned();
    state
        .store
        .run(Op::Read, move |s| {
            list(s)?
                .into_iter()
                .find(|r| {
                    let (rid, rname) = key(r);
                    Some(rid) == id || rname == name
                })
                .ok_or(StoreError::NotFound)
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::NotFound(format!("no {what} with this id or name: {raw}"))
            }
            other => other.into(),
        })
}

/// A `PATCH` body as the input type `T` (the fields it gives) and the names it sets to `null`;
/// a name outside `fields` is refused, as an unknown field of `T` is.
pub fn patch<T: DeserializeOwned>(
    mut body: Map<String, Value>,
    fields: &[&str],
) -> Result<(T, Vec<String>), ApiError> {
    let nulls: Vec<String> = body
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    if let Some(unknown) = nulls.iter().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "invalid body: unknown field `{unknown}`, expected one of {}",
            fields.join(", ")
        )));
    }
    body.retain(|_, v| !v.is_null());
    let given = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?;
    Ok((given, nulls))
}
