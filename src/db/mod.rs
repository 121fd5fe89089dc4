//! The store: the only place that knows SQL. The actors and the HTTP layer see the narrow
//! [`MessageStore`] trait through [`Store`], whose async methods run the blocking diesel calls
//! on the blocking thread pool, never on the async executor. A second backend (the embedded
//! SQLite mode) implements the same trait.

mod history;
mod listen;
mod models;
mod open;
mod pg;
mod pool;
mod queries;
pub mod schema;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use history::{AttemptClass, HistoryBucket, bucketize};
pub use models::{
    AttemptRecord, AttemptRow, Claim, FinishResult, ListFilter, MessageRecord, NewMessage,
    NextState, Page, Recorded, StatusCounts,
};
pub use open::open;
pub use pg::PgStore;
pub use sqlite::{OpenError, SqliteStore, lock_path};

use crate::domain::MessageStatus;
use crate::monitor::{Monitor, chain};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store call failed. Causes are kept as sources, so a log line shows the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had in time, or the connection broke (the database is down,
    /// restarting or saturated). The API answers 503 with `Retry-After`.
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    #[error("not found")]
    NotFound,
    /// The row exists but is not in a state that allows the change.
    #[error("message is {0}")]
    Conflict(MessageStatus),
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    #[error("database query failed")]
    Query(#[source] diesel::result::Error),
    #[error("migration failed")]
    Migration(#[source] BoxError),
    #[error("blocking task failed")]
    Join(#[from] tokio::task::JoinError),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        if is_connection_failure(&e) {
            Self::Unavailable(Box::new(e))
        } else {
            Self::Query(e)
        }
    }
}

/// A failure of the connection rather than of the statement: the server went away, is shutting
/// down or starting up, or the link broke. Retrying on a new connection can succeed.
pub fn is_connection_failure(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => true,
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            // SQLSTATE 57P01..57P03 (admin/crash shutdown, cannot connect now) and libpq's own
            // words when the socket closes arrive as `Unknown`; diesel does not expose SQLSTATE.
            let text = info.message().to_ascii_lowercase();
            [
                "terminating connection",
                "server closed the connection",
                "the database system is",
                "no connection to the server",
                "connection to server",
                "could not receive data",
                "could not send data",
                "ssl syscall error",
            ]
            .iter()
            .any(|needle| text.contains(needle))
        }
        _ => false,
    }
}

impl StoreError {
    /// An answer about the data (not found, conflict), not a failure of the store.
    pub fn is_business(&self) -> bool {
        matches!(
            self,
            Self::NotFound | Self::Conflict(_) | Self::IdempotencyMismatch
        )
    }
}

/// Result of a batch insert, in request order.
#[derive(Debug)]
pub enum Batch {
    Created(Vec<MessageRecord>),
    /// The key was seen before with the same request: the first request's messages.
    Replayed(Vec<MessageRecord>),
}

/// Result of an idempotent insert.
#[derive(Debug)]
pub enum Inserted {
    Created(MessageRecord),
    /// The key was seen before with the same request: the first message.
    Replayed(MessageRecord),
}

/// Everything the rest of Herald asks of the database. Methods block; call them through [`Store`].
pub trait MessageStore: Send + Sync + 'static {
    /// `postgres` or `sqlite`, as `/health` shows it.
    fn backend(&self) -> &'static str;
    /// How many groups of outcomes are worth writing at once.
    fn parallel_writes(&self) -> usize;
    fn ping(&self) -> Result<(), StoreError>;
    fn insert(&self, messages: &[NewMessage]) -> Result<Vec<MessageRecord>, StoreError>;
    /// Inserts one message, or returns the earlier one created with the same idempotency key.
    fn insert_idempotent(&self, message: &NewMessage) -> Result<Inserted, StoreError>;
    /// Inserts every message in one statement and one commit, in order, or none. With
    /// `idempotency = (key, fingerprint)`, a repeat of the same request returns the first
    /// request's messages, and a different request with the same key is refused.
    fn insert_batch(
        &self,
        messages: &[NewMessage],
        idempotency: Option<&(String, String)>,
    ) -> Result<Batch, StoreError>;
    /// Claims up to `limit` due messages (pending and due, or sending with an expired lease),
    /// oldest due first, if dispatch is active. Increments `attempts`.
    fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError>;
    /// Records a group of attempts at once: every attempt row is stored, and each result is
    /// applied only where its claim still owns the row. Answers in the order given.
    fn finish(&self, group: &[Recorded]) -> Result<Vec<FinishResult>, StoreError>;
    /// Hands back claims whose delivery never started; returns how many were released.
    fn release(&self, claims: &[Claim]) -> Result<usize, StoreError>;
    fn list(&self, filter: &ListFilter) -> Result<Page, StoreError>;
    fn get(&self, id: Uuid) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError>;
    /// `failed` → `pending`, attempts reset, history kept.
    fn retry(&self, id: Uuid) -> Result<MessageRecord, StoreError>;
    /// `pending` → `cancelled`.
    fn cancel(&self, id: Uuid) -> Result<MessageRecord, StoreError>;
    fn counts(&self) -> Result<StatusCounts, StoreError>;
    /// Delivery attempts started since `since`, per `bucket` (non-empty buckets only, in order).
    fn history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<HistoryBucket>, StoreError>;
    /// Whether some message has been due for longer than `by` without being claimed: pending
    /// and due since then, or `sending` with a lease that ran out that long ago.
    fn overdue(&self, by: Duration) -> Result<bool, StoreError>;
    fn dispatch_active(&self) -> Result<bool, StoreError>;
    /// Tells the dispatchers of every instance that work may be due (`NOTIFY`).
    fn announce_due(&self) -> Result<(), StoreError>;
    /// How long until the next message is due (a pending one's time, or a lease running out);
    /// zero when one is due now, `None` when nothing waits.
    fn next_due(&self) -> Result<Option<Duration>, StoreError>;
    /// Wakes `wake` whenever another writer (this instance or another) makes work due, until
    /// `stop` is set. A store with a single writer has nothing to listen to.
    fn listen(&self, wake: Arc<tokio::sync::Notify>, stop: Arc<std::sync::atomic::AtomicBool>) {
        let _ = (wake, stop);
    }
    fn set_dispatch_active(&self, active: bool) -> Result<(), StoreError>;
    /// Shutdown: lets go of what only one process may hold (the SQLite file's lock); every call
    /// after it fails. A pooled store has nothing to let go of.
    fn close(&self) {}
    /// The database's clock, so that every instance agrees on "now".
    fn now(&self) -> Result<DateTime<Utc>, StoreError>;
}

/// What a store call was for: the label of `store_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ping,
    Insert,
    Claim,
    Finish,
    Release,
    Read,
    Change,
    Counts,
    DispatchState,
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::Ping,
        Op::Insert,
        Op::Claim,
        Op::Finish,
        Op::Release,
        Op::Read,
        Op::Change,
        Op::Counts,
        Op::DispatchState,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::Insert => "insert",
            Op::Claim => "claim",
            Op::Finish => "finish",
            Op::Release => "release",
            Op::Read => "read",
            Op::Change => "change",
            Op::Counts => "counts",
            Op::DispatchState => "dispatch_state",
        }
    }
}

/// A cheap, cloneable handle on a store, with async methods. It also does the bookkeeping
/// every caller would otherwise repeat: the database's health (a failure is logged once when it
/// starts and once on recovery) and the `store_errors_total{operation}` counter.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn MessageStore>,
    monitor: Option<Arc<Monitor>>,
}

impl Store {
    pub fn new(inner: impl MessageStore) -> Self {
        Self {
            inner: Arc::new(inner),
            monitor: None,
        }
    }

    /// The same store, reporting its health and errors to `monitor`.
    pub fn observed_by(mut self, monitor: Arc<Monitor>) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// See [`MessageStore::backend`].
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// See [`MessageStore::parallel_writes`].
    pub fn parallel_writes(&self) -> usize {
        self.inner.parallel_writes().max(1)
    }

    /// See [`MessageStore::close`].
    pub async fn close(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.close()).await;
    }

    /// See [`MessageStore::listen`].
    pub fn listen(&self, wake: Arc<tokio::sync::Notify>, stop: Arc<std::sync::atomic::AtomicBool>) {
        self.inner.listen(wake, stop);
    }

    /// Runs `f` against the store on the blocking pool, inside the caller's span, and records
    /// the result under `operation`.
    pub async fn run<T, F>(&self, operation: Op, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn MessageStore) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || span.in_scope(|| f(inner.as_ref())))
            .await
            .map_err(StoreError::from)
            .and_then(|r| r);
        if let Some(monitor) = &self.monitor {
            match &result {
                Err(e) if !e.is_business() => {
                    monitor
                        .metrics
                        .store_errors
                        .with_label_values(&[operation.as_str()])
                        .inc();
                    // Logged once when the failures start, with the cause chain.
                    monitor.database.failed(&chain(e));
                }
                _ => monitor.database.succeeded(),
            }
        }
        result
    }
}
