//! Keeping [`Endpoints`] in step with the store: [`reload`] after a change this instance made,
//! and [`fresh`], the check before use that picks up changes from other instances.

use super::table::Endpoints;
use crate::db::{Op, Store, StoreError};

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
