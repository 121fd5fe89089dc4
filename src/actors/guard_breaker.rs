//! The guard's writes that need the endpoint's stored state first: the answer of a half-open
//! breaker's probe, and disabling an endpoint (a `410`, or a failing run longer than
//! `ENDPOINT_DISABLE_AFTER`), which is logged as `endpoint.disabled` and announced to
//! `OPS_ENDPOINT` as the event `herald.endpoint.disabled`.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::guard::Guard;
use crate::db::{BreakerState, EndpointRow, NewEvent, Route};
use crate::protect::{Signal, after_probe};
use crate::routing::reload;

/// The event type sent to `OPS_ENDPOINT` when an endpoint is disabled.
pub const DISABLED_EVENT: &str = "herald.endpoint.disabled";

/// A probe answered: the breaker closes, or opens again for twice as long.
pub async fn probed(guard: &Guard, name: &str, id: Uuid, signal: Signal, now: DateTime<Utc>) {
    let Some(rows) = guard.run(|s| s.endpoints()).await else {
        return;
    };
    let Some(row) = rows.into_iter().find(|r| r.id == id) else {
        return;
    };
    let (_, _, rules, _) = guard.parts();
    if let Some(record) = after_probe(&row.state.breaker, &rules.breaker, signal, now) {
        guard
            .move_breaker(name, id, BreakerState::HalfOpen, record)
            .await;
    }
}

/// Disables the endpoint if it is still enabled (and, with `failing_before`, still failing
/// since then); the instance that does it logs and announces it.
pub async fn disable(
    guard: &Guard,
    id: Uuid,
    reason: String,
    failing_before: Option<DateTime<Utc>>,
) {
    let why = reason.clone();
    let Some(Some(row)) = guard
        .run(move |s| s.disable_endpoint(id, &why, failing_before))
        .await
    else {
        return;
    };
    tracing::warn!(
        event = "endpoint.disabled",
        endpoint = %row.name,
        reason = %reason,
        "endpoint.disabled: its pending deliveries wait until it is enabled again"
    );
    let (store, endpoints, _, ops) = guard.parts();
    let _ = reload(store, endpoints).await;
    if let Some((ops_name, wake)) = ops {
        announce(guard, ops_name, &row, &reason).await;
        wake.due();
    }
}

async fn announce(guard: &Guard, ops_name: &str, row: &EndpointRow, reason: &str) {
    let (_, endpoints, _, _) = guard.parts();
    let Some(ops) = endpoints
        .by_name(ops_name)
        .filter(|o| o.row.enabled && o.row.id != row.id)
    else {
        tracing::warn!(
            ops_endpoint = ops_name,
            "OPS_ENDPOINT is not an enabled endpoint; the disabling is only logged"
        );
        return;
    };
    let event = NewEvent {
        id: Uuid::now_v7(),
        event_type: DISABLED_EVENT.into(),
        payload: json!({
            "endpoint": {"id": row.id, "name": row.name, "url": row.url},
            "reason": reason,
            "disabled_at": row.state.disabled_at,
        }),
        channels: Vec::new(),
        send_at: None,
        idempotency: None,
        routes: vec![Route {
            endpoint_id: ops.row.id,
            endpoint: ops.row.name.clone(),
            ordering_key: None,
        }],
        hand_off: None,
        reminders: Vec::new(),
    };
    let _ = guard.run(move |s| s.insert_event(&event)).await;
}
