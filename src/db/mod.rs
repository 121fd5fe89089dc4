//! The store: the only place that knows SQL. The actors and the HTTP layer see it through
//! [`Store`], whose async methods run the blocking diesel calls on the blocking thread pool,
//! never on the async executor. Its contract is split by concern: [`QueueStore`] (the delivery
//! protocol), [`EventStore`] (events and their deliveries) and [`EndpointStore`]; [`Backend`]
//! is all three, and both stores (PostgreSQL and SQLite) implement it. The store knows nothing
//! of the monitor: it reports each call's result to a [`StoreObserver`].

/// The SQL condition that delivery `$d` is not held behind an older unfinished delivery with
/// the same ordering key (`$block`: a failed one holds it too).
macro_rules! unblocked {
    ($d:literal, $block:literal) => {
        concat!(
            "(",
            $d,
            ".ordering_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM deliveries o
                WHERE o.endpoint_id = ",
            $d,
            ".endpoint_id AND o.ordering_key = ",
            $d,
            ".ordering_key
                  AND o.status IN ('pending', 'sending', 'failed')
                  AND (o.created_at, o.id) < (",
            $d,
            ".created_at, ",
            $d,
            ".id)
                  AND (o.status <> 'failed' OR ",
            $block,
            ")))"
        )
    };
}

mod endpoint_state;
mod endpoints;
mod events;
mod hand_off;
mod history;
mod listen;
mod models;
mod open;
mod pg;
mod pool;
mod queries;
mod replays;
mod retention;
mod rules;
pub mod schema;
pub mod search;
mod sources;
mod sqlite;
mod traits;

use std::sync::Arc;

pub use endpoint_state::{BreakerRecord, BreakerState, EndpointState, OnFailure, Protection};
pub use endpoints::{DEFAULT_ENDPOINT_ID, EndpointActivity, EndpointRow};
pub use events::{
    DeliveryRecord, EventFilter, EventPage, EventRecord, MessageRecord, NewEvent, Route, Scope,
    StatusFilter,
};
pub use hand_off::HandOff;
pub use history::{AttemptClass, HistoryBucket, bucketize};
pub use models::{
    AttemptRecord, AttemptRow, Claim, EventCounts, FinishResult, NewMessage, NextState, Recorded,
    StatusCounts,
};
pub use open::open;
pub use pg::PgStore;
pub use replays::{
    Candidate, DryRun, Enqueue, ReplayBatch, ReplayProgress, ReplayRow, ReplayStatus,
};
pub use retention::Pruned;
pub use rules::{
    ReminderQuery, ReminderRecord, RuleAction, RuleCounts, RuleNote, RuleRow, STATUS_SQL, SlotConn,
    apply as apply_rules,
};
pub use sources::{Ingested, SOURCE_FINGERPRINT, SourceCounts, SourceRow, Tally};
pub use sqlite::{OpenError, SqliteStore, lock_path};
pub use traits::{
    Backend, Batch, EndpointStore, EventStore, Inserted, ProtectStore, QueueStore, ReplayStore,
    RetentionStore, RuleStore, SearchStore, Share, SourceStore,
};

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
    /// The row exists but is not in a state that allows the change; the text says why.
    #[error("{0}")]
    Conflict(String),
    /// A unique name is taken.
    #[error("{0}")]
    Duplicate(String),
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

impl StoreError {
    /// A unique name taken is `Duplicate` saying `taken`; any other failure passes through.
    pub(crate) fn named(e: diesel::result::Error, taken: impl FnOnce() -> String) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Self::Duplicate(taken()),
            other => other.into(),
        }
    }
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
            Self::NotFound | Self::Conflict(_) | Self::Duplicate(_) | Self::IdempotencyMismatch
        )
    }
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

/// Told the result of every store call: a failure (not an answer about the data) with what
/// the call was for, or a success. The monitor implements it; the store knows no more of it.
pub trait StoreObserver: Send + Sync + 'static {
    fn failed(&self, operation: Op, error: &StoreError);
    fn succeeded(&self);
}

/// A cheap, cloneable handle on a store, with async methods. It also reports each call's
/// result to its observer, which keeps the database's health and the error counter.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn Backend>,
    observer: Option<Arc<dyn StoreObserver>>,
}

impl Store {
    pub fn new(inner: impl Backend) -> Self {
        Self {
            inner: Arc::new(inner),
            observer: None,
        }
    }

    /// The same store, reporting the result of each call to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn StoreObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// See [`Backend::backend`].
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// See [`Backend::parallel_writes`].
    pub fn parallel_writes(&self) -> usize {
        self.inner.parallel_writes().max(1)
    }

    /// See [`Backend::close`].
    pub async fn close(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.close()).await;
    }

    /// See [`QueueStore::listen`].
    pub fn listen(
        &self,
        wake: Arc<tokio::sync::Notify>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        own: String,
    ) {
        self.inner.listen(wake, stop, own);
    }

    /// Runs `f` against the store on the blocking pool, inside the caller's span, and reports
    /// the result under `operation`.
    pub async fn run<T, F>(&self, operation: Op, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || span.in_scope(|| f(inner.as_ref())))
            .await
            .map_err(StoreError::from)
            .and_then(|r| r);
        if let Some(observer) = &self.observer {
            match &result {
                Err(e) if !e.is_business() => observer.failed(operation, e),
                _ => observer.succeeded(),
            }
        }
        result
    }
}
