//! The endpoint `default`: the operator's `WEBHOOK_URL`, written from the environment at every
//! start. The environment owns its URL, its secret (`WEBHOOK_SECRET`), its `x-ins-auth-key`
//! header (`WEBHOOK_AUTH_KEY`) and whether it is enabled (`WEBHOOK_URL=none` disables it);
//! event types, channels, filter, template, other headers and description set through the API
//! are kept across restarts.

use base64::Engine;

use crate::config::WebhookSettings;
use crate::db::{DEFAULT_ENDPOINT_ID, Op, Store, StoreError};

/// The header `WEBHOOK_AUTH_KEY` is sent as.
pub const AUTH_HEADER: &str = "x-ins-auth-key";

/// Rewrites `default` from `webhook` (whose `url` is already the built-in receiver's when
/// `WEBHOOK_URL` is unset).
pub async fn write_default(store: &Store, webhook: &WebhookSettings) -> Result<(), StoreError> {
    let url = webhook.url.clone().unwrap_or_default();
    let secret = webhook.signing_key.as_ref().map(|k| {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(k.expose())
        )
    });
    let auth = webhook.auth_key.as_ref().map(|k| k.expose().clone());
    let enabled = webhook.default_endpoint;
    store
        .run(Op::Change, move |s| {
            let mut row = s
                .endpoints()?
                .into_iter()
                .find(|e| e.id == DEFAULT_ENDPOINT_ID)
                .ok_or(StoreError::NotFound)?;
            row.url = url;
            row.secret = secret;
            row.enabled = enabled;
            row.headers.remove(AUTH_HEADER);
            if let Some(key) = auth {
                row.headers.insert(AUTH_HEADER.into(), key);
            }
            s.update_endpoint(&row).map(drop)
        })
        .await
}
