//! PostgreSQL backend: an r2d2 pool, embedded migrations, and the [`MessageStore`] impl that
//! hands each call a pooled connection and maps pool failures to `Unavailable`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use uuid::Uuid;

use super::models::*;
use super::{Inserted, MessageStore, StoreError, queries};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// Serialises migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x4845_5241_4c44; // "HERALD"

type PgPool = Pool<ConnectionManager<PgConnection>>;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Builds the pool without connecting; the first call that needs the database connects.
    pub fn new(url: &str, pool_size: u32, connect_timeout: Duration) -> Self {
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(connect_timeout)
            .test_on_check_out(true)
            // Pool errors reach the caller as `Unavailable`; the store logs the outage once.
            .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
            .build_unchecked(ConnectionManager::new(url));
        Self { pool }
    }

    fn conn(&self) -> Result<PooledConnection<ConnectionManager<PgConnection>>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    }

    /// Runs pending migrations under an advisory lock, then makes the content-length constraint
    /// match `content_max_chars`. Returns the versions applied.
    pub fn migrate(&self, content_max_chars: usize) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .execute(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(StoreError::Migration);
        let synced = applied.and_then(|v| {
            queries::sync_content_limit(&mut conn, content_max_chars)?;
            Ok(v)
        });
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .execute(&mut conn)?;
        synced
    }
}

impl MessageStore for PgStore {
    fn ping(&self) -> Result<(), StoreError> {
        diesel::sql_query("SELECT 1").execute(&mut self.conn()?)?;
        Ok(())
    }

    fn insert(&self, new: &[NewMessage]) -> Result<Vec<MessageRecord>, StoreError> {
        queries::insert(&mut *self.conn()?, new)
    }

    fn insert_idempotent(&self, new: &NewMessage) -> Result<Inserted, StoreError> {
        queries::insert_idempotent(&mut *self.conn()?, new)
    }

    fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError> {
        queries::claim_due(&mut *self.conn()?, limit, lease, worker)
    }

    fn finish(&self, group: &[Recorded]) -> Result<Vec<FinishResult>, StoreError> {
        queries::finish(&mut *self.conn()?, group)
    }

    fn release(&self, claims: &[Claim]) -> Result<usize, StoreError> {
        queries::release(&mut *self.conn()?, claims)
    }

    fn list(&self, filter: &ListFilter) -> Result<Page, StoreError> {
        queries::list(&mut *self.conn()?, filter)
    }

    fn get(&self, id: Uuid) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError> {
        queries::get(&mut *self.conn()?, id)
    }

    fn retry(&self, id: Uuid) -> Result<MessageRecord, StoreError> {
        queries::retry(&mut *self.conn()?, id)
    }

    fn cancel(&self, id: Uuid) -> Result<MessageRecord, StoreError> {
        queries::cancel(&mut *self.conn()?, id)
    }

    fn counts(&self) -> Result<StatusCounts, StoreError> {
        queries::counts(&mut *self.conn()?)
    }

    fn overdue(&self, by: Duration) -> Result<bool, StoreError> {
        queries::overdue(&mut *self.conn()?, by)
    }

    fn dispatch_active(&self) -> Result<bool, StoreError> {
        use super::schema::dispatch_state::dsl::*;
        Ok(dispatch_state.select(active).first(&mut self.conn()?)?)
    }

    fn set_dispatch_active(&self, on: bool) -> Result<(), StoreError> {
        use super::schema::dispatch_state::dsl::*;
        diesel::update(dispatch_state)
            .set((active.eq(on), updated_at.eq(diesel::dsl::now)))
            .execute(&mut self.conn()?)?;
        Ok(())
    }

    fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
                .get_result(&mut self.conn()?)?,
        )
    }
}
