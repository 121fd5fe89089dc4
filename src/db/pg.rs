//! PostgreSQL backend: embedded migrations, and the [`MessageStore`] impl that hands each call a
//! pooled connection ([`pool`](super::pool)) and maps pool and connection failures to
//! `Unavailable`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use uuid::Uuid;

use super::endpoint_state::{BreakerRecord, BreakerState};
use super::history::HistoryBucket;
use super::models::*;
use super::pool::{self, PgPool};
use super::replays::{
    Candidate, DryRun, Enqueue, ReplayBatch, ReplayProgress, ReplayRow, ReplayStatus,
};
use super::retention::Pruned;
use super::rules::{ReminderQuery, ReminderRecord, RuleCounts, RuleNote, RuleRow};
use super::search::{PageRequest, Search, SearchPage, Target};
use super::sources::{Ingested, SourceRow, Tally};
use super::traits::{
    ProtectStore, ReplayStore, RetentionStore, RuleStore, SearchStore, SourceStore,
};
use super::{
    Backend, Batch, EndpointActivity, EndpointRow, EndpointStore, EventFilter, EventPage,
    EventRecord, EventStore, Inserted, NewEvent, QueueStore, Scope, StoreError, queries,
};
use crate::protect::{Decision, Rate};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// Serialises migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x4845_5241_4c44; // "HERALD"

pub struct PgStore {
    /// The API's calls, and everything but the delivery protocol.
    pool: PgPool,
    /// The delivery protocol's calls (claims, outcome groups, hand-backs, protection state), so
    /// that a burst of API requests holding every connection of `pool` never makes a claim or
    /// an outcome wait: delivery keeps pace with ingest.
    queue: PgPool,
    failures: Arc<AtomicU64>,
    url: String,
}

/// Connections of the delivery protocol's own pool: one claimer, the outcome groups written at
/// once ([`Backend::parallel_writes`]), and one for hand-backs, deferrals and protection state.
const QUEUE_POOL: u32 = 6;

impl PgStore {
    /// Builds the pools without connecting; the first call that needs the database connects.
    /// `pool_size` connections serve the API; [`QUEUE_POOL`] more serve the delivery protocol.
    pub fn new(url: &str, pool_size: u32, connect_timeout: Duration) -> Self {
        let failures = Arc::new(AtomicU64::new(0));
        Self {
            pool: pool::build(url, pool_size, connect_timeout, &failures),
            queue: pool::build(url, QUEUE_POOL, connect_timeout, &failures),
            failures,
            url: url.to_owned(),
        }
    }

    /// Runs `f` on a connection of the API's pool.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.on(&self.pool, f)
    }

    /// Runs `f` on a connection of the delivery protocol's pool.
    fn queued<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.on(&self.queue, f)
    }

    /// Runs `f` on a connection of `pool`. A connection-level failure drops the connection and
    /// makes every other pooled connection be tested before its next use.
    fn on<T>(
        &self,
        pool: &PgPool,
        f: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let result = f(&mut conn.pg);
        if matches!(result, Err(StoreError::Unavailable(_))) {
            conn.broken = true;
            self.failures.fetch_add(1, Ordering::AcqRel);
        }
        result
    }

    /// Runs pending migrations under an advisory lock. Returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.with(Self::migrate_on)
    }

    fn migrate_on(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(StoreError::Migration);
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn)?;
        applied
    }
}

impl Backend for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    /// A commit waits for its WAL flush; while one group waits the next can be on its way, and
    /// PostgreSQL then flushes both with one fsync.
    fn parallel_writes(&self) -> usize {
        4
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| Ok(diesel::sql_query("SELECT 1").execute(c).map(drop)?))
    }

    fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        self.with(|c| {
            Ok(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
                    .get_result(c)?,
            )
        })
    }
}

impl QueueStore for PgStore {
    fn claim(
        &self,
        shares: &[crate::db::Share],
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError> {
        self.queued(|c| queries::claim_due(c, shares, limit, lease, worker))
    }

    fn finish(&self, group: &[Recorded]) -> Result<Vec<FinishResult>, StoreError> {
        self.queued(|c| queries::finish(c, group))
    }

    fn release(&self, claims: &[Claim]) -> Result<usize, StoreError> {
        self.queued(|c| queries::release(c, claims))
    }

    fn overdue(&self, by: Duration) -> Result<bool, StoreError> {
        self.queued(|c| queries::overdue(c, by))
    }

    fn dispatch_active(&self) -> Result<bool, StoreError> {
        use super::schema::dispatch_state::dsl::*;
        self.queued(|c| Ok(dispatch_state.select(active).first(c)?))
    }

    fn set_dispatch_active(&self, on: bool) -> Result<(), StoreError> {
        use super::schema::dispatch_state::dsl::*;
        self.with(|c| {
            diesel::update(dispatch_state)
                .set((active.eq(on), updated_at.eq(diesel::dsl::now)))
                .execute(c)?;
            Ok(())
        })
    }

    fn announce_due(&self, from: &str) -> Result<(), StoreError> {
        self.queued(|c| queries::announce_due(c, from))
    }

    fn next_due(&self) -> Result<Option<Duration>, StoreError> {
        self.queued(queries::next_due)
    }

    fn listen(
        &self,
        wake: Arc<tokio::sync::Notify>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        own: String,
    ) {
        super::listen::spawn(self.url.clone(), wake, stop, own);
    }
}

impl ReplayStore for PgStore {
    fn create_replay(&self, job: &ReplayRow) -> Result<ReplayRow, StoreError> {
        self.with(|c| queries::create_replay(c, job))
    }

    fn replays(&self, limit: u32) -> Result<Vec<ReplayRow>, StoreError> {
        self.with(|c| queries::replays(c, limit))
    }

    fn replay(&self, id: Uuid) -> Result<ReplayRow, StoreError> {
        self.with(|c| queries::replay(c, id))
    }

    fn replay_progress(&self, id: Uuid) -> Result<ReplayProgress, StoreError> {
        self.with(|c| queries::replay_progress(c, id))
    }

    fn set_replay_status(
        &self,
        id: Uuid,
        from: &[ReplayStatus],
        to: ReplayStatus,
    ) -> Result<ReplayRow, StoreError> {
        self.with(|c| queries::set_replay_status(c, id, from, to))
    }

    fn lease_replay(&self, owner: &str, lease: Duration) -> Result<Option<ReplayRow>, StoreError> {
        self.with(|c| queries::lease_replay(c, owner, lease))
    }

    fn replay_candidates(
        &self,
        job: &ReplayRow,
        targets: &[Target<'_>],
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        self.with(|c| queries::replay_candidates(c, job, targets, limit))
    }

    fn apply_replay(
        &self,
        job: Uuid,
        owner: &str,
        lease: Duration,
        batch: &ReplayBatch,
    ) -> Result<Option<i64>, StoreError> {
        self.with(|c| queries::apply_replay(c, job, owner, lease, batch))
    }

    fn end_replay(
        &self,
        job: Uuid,
        owner: &str,
        status: ReplayStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.with(|c| queries::end_replay(c, job, owner, status, error))
    }

    fn replay_event(&self, job: &ReplayRow, enqueue: &[Enqueue]) -> Result<i64, StoreError> {
        self.with(|c| queries::replay_event(c, job, enqueue))
    }

    fn replay_dry_run(
        &self,
        job: &ReplayRow,
        targets: &[Target<'_>],
    ) -> Result<DryRun, StoreError> {
        self.with(|c| queries::replay_dry_run(c, job, targets))
    }
}

impl RetentionStore for PgStore {
    fn prune(&self, before: DateTime<Utc>, limit: u32) -> Result<Pruned, StoreError> {
        self.with(|c| queries::prune(c, before, limit))
    }

    fn oldest_event(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.with(queries::oldest_event)
    }
}

impl SearchStore for PgStore {
    fn search_events(&self, search: &Search, page: &PageRequest) -> Result<SearchPage, StoreError> {
        self.with(|c| queries::search_events(c, search, page))
    }

    fn count_events(&self, search: &Search) -> Result<i64, StoreError> {
        self.with(|c| queries::count_events(c, search))
    }
}

impl RuleStore for PgStore {
    fn rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.with(queries::rules)
    }

    fn create_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError> {
        self.with(|c| queries::create_rule(c, rule))
    }

    fn update_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError> {
        self.with(|c| queries::update_rule(c, rule))
    }

    fn delete_rule(&self, id: Uuid) -> Result<usize, StoreError> {
        self.with(|c| queries::delete_rule(c, id))
    }

    fn reminders(&self, query: &ReminderQuery) -> Result<Vec<ReminderRecord>, StoreError> {
        self.with(|c| queries::reminders(c, query))
    }

    fn rule_counts(&self) -> Result<Vec<(Uuid, RuleCounts)>, StoreError> {
        self.with(queries::rule_counts)
    }

    fn rule_notes(&self, event: Uuid) -> Result<Vec<RuleNote>, StoreError> {
        self.with(|c| queries::rule_notes(c, event))
    }
}

impl SourceStore for PgStore {
    fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        self.with(queries::sources)
    }

    fn create_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError> {
        self.with(|c| queries::create_source(c, source))
    }

    fn update_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError> {
        self.with(|c| queries::update_source(c, source))
    }

    fn delete_source(&self, id: Uuid) -> Result<(), StoreError> {
        self.with(|c| queries::delete_source(c, id))
    }

    fn ingest(
        &self,
        source: Uuid,
        events: Vec<NewEvent>,
        tally: &Tally,
    ) -> Result<Ingested, StoreError> {
        self.with(|c| queries::ingest(c, source, events, tally))
    }
}

impl EventStore for PgStore {
    fn insert_events(
        &self,
        events: &[NewEvent],
        idempotency: Option<&(String, String)>,
    ) -> Result<Batch, StoreError> {
        self.with(|c| queries::insert_events(c, events, idempotency))
    }

    fn insert_event(&self, event: &NewEvent) -> Result<Inserted, StoreError> {
        self.with(|c| queries::insert_event(c, event))
    }

    fn list_events(&self, filter: &EventFilter) -> Result<EventPage, StoreError> {
        self.with(|c| queries::list(c, filter))
    }

    fn get_event(&self, id: Uuid) -> Result<(EventRecord, Vec<AttemptRow>), StoreError> {
        self.with(|c| queries::get(c, id))
    }

    fn retry(&self, scope: Scope) -> Result<EventRecord, StoreError> {
        self.with(|c| queries::retry(c, scope))
    }

    fn cancel(&self, scope: Scope) -> Result<EventRecord, StoreError> {
        self.with(|c| queries::cancel(c, scope))
    }

    fn counts(&self) -> Result<StatusCounts, StoreError> {
        self.with(queries::counts)
    }

    fn history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<HistoryBucket>, StoreError> {
        self.with(|c| queries::history(c, since, bucket))
    }
}

impl EndpointStore for PgStore {
    fn endpoints(&self) -> Result<Vec<EndpointRow>, StoreError> {
        self.with(queries::endpoints)
    }

    fn create_endpoint(&self, endpoint: &EndpointRow) -> Result<EndpointRow, StoreError> {
        self.with(|c| queries::create_endpoint(c, endpoint))
    }

    fn update_endpoint(&self, endpoint: &EndpointRow) -> Result<EndpointRow, StoreError> {
        self.with(|c| queries::update_endpoint(c, endpoint))
    }

    fn delete_endpoint(&self, id: Uuid) -> Result<(), StoreError> {
        self.with(|c| queries::delete_endpoint(c, id))
    }

    fn endpoint_activity(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, EndpointActivity)>, StoreError> {
        self.with(|c| queries::activity(c, since))
    }

    fn endpoints_version(&self) -> Result<i64, StoreError> {
        self.with(queries::endpoints_version)
    }
}

impl ProtectStore for PgStore {
    fn defer(&self, deferred: &[(Claim, DateTime<Utc>)]) -> Result<usize, StoreError> {
        self.queued(|c| queries::defer(c, deferred))
    }

    fn set_breaker(
        &self,
        id: Uuid,
        from: BreakerState,
        record: &BreakerRecord,
    ) -> Result<bool, StoreError> {
        self.queued(|c| queries::set_breaker(c, id, from, record))
    }

    fn pause_endpoint(
        &self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.queued(|c| queries::pause(c, id, until, reason))
    }

    fn set_effective_rate(&self, id: Uuid, rate: Option<f64>) -> Result<(), StoreError> {
        self.queued(|c| queries::set_effective_rate(c, id, rate))
    }

    fn mark_failing(
        &self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.queued(|c| queries::mark_failing(c, id, at))
    }

    fn disable_endpoint(
        &self,
        id: Uuid,
        reason: &str,
        failing_before: Option<DateTime<Utc>>,
    ) -> Result<Option<EndpointRow>, StoreError> {
        self.queued(|c| queries::disable(c, id, reason, failing_before))
    }

    fn reserve_rate(
        &self,
        id: Uuid,
        rate: Rate,
        horizon: Duration,
    ) -> Result<Option<Decision>, StoreError> {
        self.queued(|c| queries::reserve_rate(c, id, rate, horizon).map(Some))
    }
}
