//! Waking continuous dispatchers across instances: a thread of its own holds a libpq connection
//! that `LISTEN`s on `herald_due` (notified by the dispatch switch's trigger, and by an instance
//! that stored new work), sleeps in `poll(2)` on its socket, and turns every notification from
//! another instance into a [`Notify`] wake-up. An idle instance makes no query and no system
//! call but the poll's timeout, so waiting costs nothing (diesel delivers notifications only
//! by polling them, which is why this talks to libpq, the library diesel uses, directly).
//! A lost connection is reopened; the dispatcher's fallback poll covers the gap.

use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pq_sys::{ConnStatusType, ExecStatusType, PGconn};
use tokio::sync::Notify;

pub const CHANNEL: &str = "herald_due";
/// How often the waiting thread checks whether it should stop.
const STOP_CHECK: Duration = Duration::from_millis(500);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Starts the listener thread; it ends when `stop` is set. Notifications whose payload is
/// `own` (this instance's worker id: it woke its own dispatcher already) are ignored.
pub fn spawn(url: String, wake: Arc<Notify>, stop: Arc<AtomicBool>, own: String) {
    let spawned = std::thread::Builder::new()
        .name("herald-listen".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listen(&url, &wake, &stop, &own) {
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

fn listen(url: &str, wake: &Notify, stop: &AtomicBool, own: &str) -> Result<(), String> {
    let conn = Listener::connect(url)?;
    // Whatever became due while we were not listening.
    wake.notify_one();
    while !stop.load(Ordering::Relaxed) {
        if conn.wait(STOP_CHECK, own)? {
            wake.notify_one();
        }
    }
    Ok(())
}

/// A libpq connection that has run `LISTEN`; closed on drop.
struct Listener(*mut PGconn);

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: the pointer came from PQconnectdb and is finished exactly once, here.
        unsafe { pq_sys::PQfinish(self.0) }
    }
}

impl Listener {
    fn connect(url: &str) -> Result<Self, String> {
        let info = CString::new(url).map_err(|_| "the database URL holds a NUL byte".to_owned())?;
        // SAFETY: `info` is a valid C string for the duration of the call.
        let raw = unsafe { pq_sys::PQconnectdb(info.as_ptr()) };
        if raw.is_null() {
            return Err("libpq could not allocate a connection".into());
        }
        let conn = Self(raw);
        // SAFETY: `raw` is a live connection object.
        if unsafe { pq_sys::PQstatus(raw) } != ConnStatusType::CONNECTION_OK {
            return Err(conn.error());
        }
        conn.exec(&format!("LISTEN {CHANNEL}"))?;
        Ok(conn)
    }

    fn error(&self) -> String {
        // SAFETY: PQerrorMessage returns a NUL-terminated string owned by the live connection.
        let message = unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.0)) };
        message.to_string_lossy().trim().to_owned()
    }

    fn exec(&self, sql: &str) -> Result<(), String> {
        let sql = CString::new(sql).map_err(|_| "NUL in a statement".to_owned())?;
        // SAFETY: a live connection and a valid C string; the result is cleared below
        // (PQclear accepts a null result).
        unsafe {
            let result = pq_sys::PQexec(self.0, sql.as_ptr());
            let ok = !result.is_null()
                && pq_sys::PQresultStatus(result) == ExecStatusType::PGRES_COMMAND_OK;
            pq_sys::PQclear(result);
            if ok { Ok(()) } else { Err(self.error()) }
        }
    }

    /// Sleeps until the socket has something to read or `timeout` passes, then takes every
    /// notification libpq has. True when one came from another instance (or the trigger).
    fn wait(&self, timeout: Duration, own: &str) -> Result<bool, String> {
        // SAFETY: a live connection.
        let fd = unsafe { pq_sys::PQsocket(self.0) };
        if fd < 0 {
            return Err("the LISTEN connection has no socket".into());
        }
        let mut ready = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut ready, 1, millis) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return match e.kind() {
                std::io::ErrorKind::Interrupted => Ok(false),
                _ => Err(e.to_string()),
            };
        }
        // Read even on a timeout: with TLS, bytes can wait in the library rather than the socket.
        // SAFETY: a live connection.
        if unsafe { pq_sys::PQconsumeInput(self.0) } == 0 {
            return Err(self.error());
        }
        let mut woken = false;
        loop {
            // SAFETY: a live connection; each notification is freed once, after its payload
            // has been read.
            unsafe {
                let note = pq_sys::PQnotifies(self.0);
                if note.is_null() {
                    return Ok(woken);
                }
                let payload = CStr::from_ptr((*note).extra);
                woken |= payload.to_bytes() != own.as_bytes();
                pq_sys::PQfreemem(note.cast());
            }
        }
    }
}
