//! Keeping [`Endpoints`] in step with the store: [`reload`] after a change this instance made,
//! and [`fresh`], the check before use that picks up changes from other instances; and
//! [`route_all`], which routes a batch by a fresh table.

use super::table::Endpoints;
use crate::db::{NewEvent, Op, Store, StoreError};

/// Reads the endpoints again. The version is read first: a change that lands between the two
/// reads makes the next check reload once more, never miss it.
pub async fn reload(store: &Store, endpoints: &Endpoints) -> Result<(), StoreError> {
    let (version, rows, rules) = store
        .run(Op::Read, |s| {
            let version = s.endpoints_version()?;
            Ok((version, s.endpoints()?, s.rules()?))
        })
        .await?;
    endpoints.load_rules(&rules);
    endpoints.load(rows, version);
    Ok(())
}

/// Checks the table against the store if its last check is older than
/// [`CHECK_EVERY`](super::table::CHECK_EVERY), and reloads it if another instance changed an
/// endpoint; call it before routing or delivering. One caller checks at a time; the others
/// go on with the table as it is (checked a second and one query ago) rather than wait. A
/// failed check leaves the table as it was (the store logged the failure) and is tried again a
/// period later.
pub async fn fresh(store: &Store, endpoints: &Endpoints) {
    if endpoints.is_fresh() {
        return;
    }
    let Some(_checking) = endpoints.start_check() else {
        return;
    };
    match store.run(Op::Read, |s| s.endpoints_version()).await {
        Ok(version) if endpoints.version() == Some(version) => endpoints.mark_checked(),
        Ok(_) => {
            if let Err(e) = reload(store, endpoints).await {
                tracing::debug!(error = %e, "endpoint reload failed; retrying at the next check");
                endpoints.mark_checked();
            }
        }
        Err(_) => endpoints.mark_checked(),
    }
}

/// Each event of a batch with its routes (the enabled endpoints it matches now, by a table
/// checked against the store within the last second) and what the reminder rules want of it.
pub async fn route_all(
    store: &Store,
    endpoints: &Endpoints,
    mut events: Vec<NewEvent>,
) -> Vec<NewEvent> {
    fresh(store, endpoints).await;
    let rules = endpoints.rules();
    let now = chrono::Utc::now();
    for event in &mut events {
        event.routes = endpoints.route(&event.event_type, &event.channels, &event.payload);
        if !rules.is_empty() {
            event.reminders = crate::rules::plan_event(&rules, event, now, |id| {
                endpoints.get(id).map(|e| e.row.name.clone())
            });
        }
    }
    events
}
