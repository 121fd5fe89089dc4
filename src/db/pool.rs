//! The PostgreSQL connection pool. A connection is checked (`SELECT 1`) at checkout only when
//! the store has seen a connection failure since the connection was made, so a healthy service
//! pays no extra round trip per call, and after a database restart each old connection is
//! tested once and dropped if it broke. A connection whose call failed at the connection level
//! is dropped when it returns to the pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::PgConnection;
use diesel::r2d2::{self, ConnectionManager, ManageConnection};

pub type PgPool = r2d2::Pool<Manager>;

/// A pooled connection with what the pool needs to know about it.
pub struct Conn {
    pub pg: PgConnection,
    /// The failure count when this connection was made or last tested.
    seen: u64,
    /// A call on it failed at the connection level: it leaves the pool.
    pub broken: bool,
}

pub struct Manager {
    inner: ConnectionManager<PgConnection>,
    /// Connection-level failures seen so far; see the module header.
    failures: Arc<AtomicU64>,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        Ok(Conn {
            pg: self.inner.connect()?,
            seen: self.failures.load(Ordering::Acquire),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        let now = self.failures.load(Ordering::Acquire);
        if conn.seen < now {
            self.inner.is_valid(&mut conn.pg)?;
            conn.seen = now;
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || self.inner.has_broken(&mut conn.pg)
    }
}

/// Builds a pool without connecting. `failures` is the counter the store bumps on a connection
/// failure; pools of one store share it, so that one outage has every connection tested.
pub fn build(url: &str, size: u32, connect_timeout: Duration, failures: &Arc<AtomicU64>) -> PgPool {
    let manager = Manager {
        inner: ConnectionManager::new(url),
        failures: Arc::clone(failures),
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        .test_on_check_out(true)
        // Pool errors reach the caller as `Unavailable`; the store logs the outage once.
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(manager)
}
