//! Waking continuous dispatchers across instances: a thread of its own holds a connection that
//! `LISTEN`s on `herald_due` (notified by the dispatch switch's trigger, and by the instance that
//! stored new work), and turns every notification into a [`Notify`] wake-up. libpq delivers notifications without a query;
//! diesel exposes them without a way to block on the socket, so the thread looks every 2 ms
//! (a cheap non-blocking read). A lost connection is reopened; the dispatcher's fallback poll
//! covers the gap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use tokio::sync::Notify;

pub const CHANNEL: &str = "herald_due";
const LOOK_EVERY: Duration = Duration::from_millis(2);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Starts the listener thread; it ends when `stop` is set.
pub fn spawn(url: String, wake: Arc<Notify>, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("herald-listen".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listen(&url, &wake, &stop) {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "LISTEN connection lost; the fallback poll covers");
                        std::thread::sleep(RECONNECT_AFTER);
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the LISTEN thread; the fallback poll covers");
    }
}

fn listen(url: &str, wake: &Notify, stop: &AtomicBool) -> Result<(), diesel::result::Error> {
    let mut conn = PgConnection::establish(url)
        .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    // Whatever became due while we were not listening.
    wake.notify_one();
    while !stop.load(Ordering::Relaxed) {
        let mut woken = false;
        for notification in conn.notifications_iter() {
            notification?;
            woken = true;
        }
        if woken {
            wake.notify_one();
        } else {
            std::thread::sleep(LOOK_EVERY);
        }
    }
    Ok(())
}
