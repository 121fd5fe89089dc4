//! The target of one delivery: its endpoint from the cached table (checked against the store
//! within the last second, and read again when this instance has not seen the endpoint yet) and the body: the stored payload as it is, or what
//! the endpoint's template renders for the event.
//! A failure here is the attempt's outcome, permanent: the same event renders the same way.

use std::sync::Arc;

use crate::db::{Claim, Store};
use crate::domain::{AttemptOutcome, ErrorClass};
use crate::routing::{Compiled, Endpoints, fresh, reload};
use crate::webhook::Body;

/// The claim's endpoint and the body it receives; a failure is the attempt's (permanent)
/// outcome. An endpoint this instance has not seen yet is read from the store once.
pub async fn prepare(
    store: &Store,
    endpoints: &Endpoints,
    claim: &Claim,
) -> Result<(Arc<Compiled>, Body), AttemptOutcome> {
    fresh(store, endpoints).await;
    let mut endpoint = endpoints.get(claim.endpoint_id);
    if endpoint.is_none() && reload(store, endpoints).await.is_ok() {
        endpoint = endpoints.get(claim.endpoint_id);
    }
    let fail = |class, detail: String| AttemptOutcome::Failed { class, detail };
    let endpoint =
        endpoint.ok_or_else(|| fail(ErrorClass::Request, "the endpoint was deleted".into()))?;
    if endpoint.template.is_none() {
        // The payload as JSON is what the store holds: Herald wrote it compact, in the order
        // it was given. Sent as it is, with no parse and no second serialisation.
        let bytes = claim.payload.clone().into_bytes();
        let content_type = "application/json".to_owned();
        return Ok((
            endpoint,
            Body {
                bytes,
                content_type,
            },
        ));
    }
    let payload: serde_json::Value = serde_json::from_str(&claim.payload).map_err(|e| {
        fail(
            ErrorClass::Request,
            format!("stored payload is not JSON: {e}"),
        )
    })?;
    let rendered = endpoint
        .render(&claim.event_id.to_string(), &claim.event_type, &payload)
        .map_err(|e| fail(ErrorClass::Template, e))?;
    Ok((
        endpoint,
        Body {
            bytes: rendered.body,
            content_type: rendered.content_type,
        },
    ))
}
