//! Keeping [`Endpoints`] in step with the store: [`reload`] after a change this instance made,
//! and [`follow`], the poll that picks up changes from other instances.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::table::{Endpoints, POLL_EVERY};
use crate::db::{Op, Store, StoreError};

/// Reads the endpoints again. The version is read first: a change that lands between the two
/// reads makes the next poll reload once more, never miss it.
pub async fn reload(store: &Store, endpoints: &Endpoints) -> Result<(), StoreError> {
    let (version, rows) = store
        .run(Op::Read, |s| {
            let version = s.endpoints_version()?;
            Ok((version, s.endpoints()?))
        })
        .await?;
    endpoints.load(rows, version);
    Ok(())
}

/// Polls the endpoints' version every [`POLL_EVERY`] and reloads when it moved, until `stop`.
pub fn follow(store: Store, endpoints: Endpoints, stop: Arc<AtomicBool>) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::Acquire) {
            tick.tick().await;
            let Ok(version) = store.run(Op::Read, |s| s.endpoints_version()).await else {
                continue; // the store logged it; the table stays as it was
            };
            if endpoints.version() != Some(version)
                && let Err(e) = reload(&store, &endpoints).await
            {
                tracing::debug!(error = %e, "endpoint reload failed; retrying at the next poll");
            }
        }
    });
}
