//! The store: the only place that knows SQL. The actors and the HTTP layer see the narrow
//! [`MessageStore`] trait through [`Store`], whose async methods run the blocking diesel calls
//! on the blocking thread pool, never on the async executor. A second backend (the embedded
//! SQLite mode) implements the same trait.

mod models;
mod pg;
mod queries;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use models::{
    AttemptRecord, AttemptRow, Claim, Finish, FinishResult, ListFilter, MessageRecord, NewMessage,
    Page, StatusCounts,
};
pub use pg::PgStore;

use crate::domain::MessageStatus;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had in time: the database is down or saturated.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    /// The row exists but is not in a state that allows the change.
    #[error("message is {0}")]
    Conflict(MessageStatus),
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("blocking task failed: {0}")]
    Join(String),
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
    fn ping(&self) -> Result<(), StoreError>;
    fn insert(&self, messages: &[NewMessage]) -> Result<Vec<MessageRecord>, StoreError>;
    /// Inserts one message, or returns the earlier one created with the same idempotency key.
    fn insert_idempotent(&self, message: &NewMessage) -> Result<Inserted, StoreError>;
    /// Claims up to `limit` due messages (pending and due, or sending with an expired lease),
    /// oldest due first, if dispatch is active. Increments `attempts`.
    fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError>;
    /// Records an attempt and applies its result, only if `claim` still owns the row.
    fn finish(
        &self,
        claim: &Claim,
        attempt: &AttemptRecord,
        finish: &Finish,
    ) -> Result<FinishResult, StoreError>;
    /// Hands back claims whose delivery never started; returns how many were released.
    fn release(&self, claims: &[Claim]) -> Result<usize, StoreError>;
    fn list(&self, filter: &ListFilter) -> Result<Page, StoreError>;
    fn get(&self, id: Uuid) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError>;
    /// `failed` → `pending`, attempts reset, history kept.
    fn retry(&self, id: Uuid) -> Result<MessageRecord, StoreError>;
    /// `pending` → `cancelled`.
    fn cancel(&self, id: Uuid) -> Result<MessageRecord, StoreError>;
    fn counts(&self) -> Result<StatusCounts, StoreError>;
    fn dispatch_active(&self) -> Result<bool, StoreError>;
    fn set_dispatch_active(&self, active: bool) -> Result<(), StoreError>;
    /// The database's clock, so that every instance agrees on "now".
    fn now(&self) -> Result<DateTime<Utc>, StoreError>;
}

/// A cheap, cloneable handle on a store, with async methods.
#[derive(Clone)]
pub struct Store(Arc<dyn MessageStore>);

impl Store {
    pub fn new(inner: impl MessageStore) -> Self {
        Self(Arc::new(inner))
    }

    /// Runs `f` against the store on the blocking pool, inside the caller's span.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn MessageStore) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.0);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| f(inner.as_ref())))
            .await
            .map_err(|e| StoreError::Join(e.to_string()))?
    }
}
