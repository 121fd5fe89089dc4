//! The store contract, one trait per concern. Methods block; call them through
//! [`Store`](super::Store). The contract suite (`tests/api/contract*.rs`) holds both stores to it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::endpoint_state::{BreakerRecord, BreakerState};
use super::history::HistoryBucket;
use super::models::{AttemptRow, Claim, FinishResult, Recorded, StatusCounts};
use super::replays::{
    Candidate, DryRun, Enqueue, ReplayBatch, ReplayProgress, ReplayRow, ReplayStatus,
};
use super::retention::Pruned;
use super::rules::{ReminderQuery, ReminderRecord, RuleCounts, RuleNote, RuleRow};
use super::search::{PageRequest, Search, SearchPage, Target};
use super::sources::{Ingested, SourceRow, Tally};
use super::{
    EndpointActivity, EndpointRow, EventFilter, EventPage, EventRecord, NewEvent, Scope, StoreError,
};
use crate::protect::{Decision, Rate};

/// Result of a batch insert, in request order.
#[derive(Debug)]
pub enum Batch {
    Created(Vec<EventRecord>),
    /// The key was seen before with the same request: the first request's events.
    Replayed(Vec<EventRecord>),
}

/// Result of an idempotent insert.
#[derive(Debug)]
pub enum Inserted {
    Created(EventRecord),
    /// The key was seen before with the same request: the first event.
    Replayed(EventRecord),
}

/// The delivery protocol: claim due deliveries with a lease, record outcomes guarded by the
/// claim token, hand back what never started, and the wake-ups around it.
pub trait QueueStore {
    /// Claims up to `limit` due deliveries, if dispatch is active: sending ones whose lease
    /// expired first (of any endpoint), then pending due ones, at most `share` of each endpoint
    /// in `shares` (enabled endpoints only), each endpoint's oldest due first. Increments
    /// `attempts`.
    fn claim(
        &self,
        shares: &[Share],
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError>;
    /// Records a group of attempts at once: every attempt row is stored, each result is applied
    /// only where its claim still owns the row, and the events' statuses roll up. Answers in
    /// the order given.
    fn finish(&self, group: &[Recorded]) -> Result<Vec<FinishResult>, StoreError>;
    /// Hands back claims whose delivery never started; returns how many were released.
    fn release(&self, claims: &[Claim]) -> Result<usize, StoreError>;
    /// Due work has waited unclaimed for longer than `by`, and the dispatch switch last moved
    /// longer ago than that (work that waited while dispatch was stopped is not stalled the
    /// moment it is started again).
    fn overdue(&self, by: Duration) -> Result<bool, StoreError>;
    fn dispatch_active(&self) -> Result<bool, StoreError>;
    fn set_dispatch_active(&self, active: bool) -> Result<(), StoreError>;
    /// Tells the dispatchers of every instance that work may be due (`NOTIFY`), from the
    /// instance `from` (whose own listener ignores it).
    fn announce_due(&self, from: &str) -> Result<(), StoreError>;
    /// How long until the next delivery is due; zero when one is due now, `None` when nothing
    /// waits.
    fn next_due(&self) -> Result<Option<Duration>, StoreError>;
    /// Wakes `wake` whenever another writer makes work due, until `stop` is set; what the
    /// instance `own` announced is ignored. A store with a single writer has nothing to listen to.
    fn listen(
        &self,
        wake: Arc<tokio::sync::Notify>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        own: String,
    ) {
        let _ = (wake, stop, own);
    }
}

/// Events and their deliveries outside the delivery protocol.
pub trait EventStore {
    /// Stores events and one delivery per route, in one commit, in order, or none. With
    /// `idempotency = (key, fingerprint)`, a repeat of the same request returns the first
    /// request's events, and a different request with the same key is refused.
    fn insert_events(
        &self,
        events: &[NewEvent],
        idempotency: Option<&(String, String)>,
    ) -> Result<Batch, StoreError>;
    /// Stores one event, or returns the earlier one created with the same idempotency key.
    fn insert_event(&self, event: &NewEvent) -> Result<Inserted, StoreError>;
    fn list_events(&self, filter: &EventFilter) -> Result<EventPage, StoreError>;
    /// The event, its deliveries, and every delivery's attempts.
    fn get_event(&self, id: Uuid) -> Result<(EventRecord, Vec<AttemptRow>), StoreError>;
    /// `failed` deliveries → `pending`, attempts reset, history kept. `Conflict` when none is
    /// failed.
    fn retry(&self, scope: Scope) -> Result<EventRecord, StoreError>;
    /// `pending` deliveries → `cancelled`. `Conflict` when none is pending.
    fn cancel(&self, scope: Scope) -> Result<EventRecord, StoreError>;
    fn counts(&self) -> Result<StatusCounts, StoreError>;
    /// Delivery attempts started since `since`, per `bucket` (non-empty buckets only, in order).
    fn history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<HistoryBucket>, StoreError>;
}

/// Endpoints: where events go.
pub trait EndpointStore {
    /// Every endpoint that is not deleted, by name.
    fn endpoints(&self) -> Result<Vec<EndpointRow>, StoreError>;
    /// `Duplicate` when the name is taken.
    fn create_endpoint(&self, endpoint: &EndpointRow) -> Result<EndpointRow, StoreError>;
    /// Replaces every field but the id and `created_at`. `Duplicate` when the name is taken.
    fn update_endpoint(&self, endpoint: &EndpointRow) -> Result<EndpointRow, StoreError>;
    /// Marks it deleted (its history stays) and cancels its pending deliveries.
    fn delete_endpoint(&self, id: Uuid) -> Result<(), StoreError>;
    /// Succeeded and failed attempts per endpoint since `since`, and each one's last error.
    fn endpoint_activity(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, EndpointActivity)>, StoreError>;
    /// Bumped by every endpoint change, so that each instance knows when to reload.
    fn endpoints_version(&self) -> Result<i64, StoreError>;
}

/// Protecting receivers: deliveries held back without an attempt, and the state each endpoint
/// keeps so that every instance and a restart see it. Each write is guarded, so that two
/// instances never both move one state.
pub trait ProtectStore {
    /// Hands back claims that were held back (a rate limit, a pause, an open breaker), each due
    /// again at its time: the attempt it counted is given back and the retry schedule does not
    /// move. Returns how many were deferred.
    fn defer(&self, deferred: &[(Claim, DateTime<Utc>)]) -> Result<usize, StoreError>;
    /// Writes the breaker's record if it is still in state `from`; whether it was written.
    fn set_breaker(
        &self,
        id: Uuid,
        from: BreakerState,
        record: &BreakerRecord,
    ) -> Result<bool, StoreError>;
    /// Pauses the endpoint until `until`, unless it is paused for longer already.
    fn pause_endpoint(
        &self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError>;
    fn set_effective_rate(&self, id: Uuid, rate: Option<f64>) -> Result<(), StoreError>;
    /// `Some(at)`: a failure, which starts a failing run unless one is on; `None`: an answer,
    /// which ends it. Returns the start of the run after the change.
    fn mark_failing(
        &self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Disables an enabled endpoint with its reason; with `failing_before`, only if its
    /// failing run started by then. The endpoint, when this call disabled it.
    fn disable_endpoint(
        &self,
        id: Uuid,
        reason: &str,
        failing_before: Option<DateTime<Utc>>,
    ) -> Result<Option<EndpointRow>, StoreError>;
    /// Takes a slot of the endpoint's rate limit shared by every instance, if it comes within
    /// `horizon`; `None` when this store has no shared limiter (one process: it limits in
    /// process).
    fn reserve_rate(
        &self,
        id: Uuid,
        rate: Rate,
        horizon: Duration,
    ) -> Result<Option<Decision>, StoreError> {
        let _ = (id, rate, horizon);
        Ok(None)
    }
}

/// Search over stored events, for history and replay: the criteria and the filter are compiled
/// to one SQL condition ([`super::search::condition`]).
pub trait SearchStore {
    /// A page of the events that match, in the search's order (newest first), each with its
    /// deliveries, and the cursor of the next page when there is one.
    fn search_events(&self, search: &Search, page: &PageRequest) -> Result<SearchPage, StoreError>;
    /// How many events match.
    fn count_events(&self, search: &Search) -> Result<i64, StoreError>;
}

/// Replay jobs: rows that one instance at a time runs, batch by batch, under a lease.
pub trait ReplayStore {
    fn create_replay(&self, job: &ReplayRow) -> Result<ReplayRow, StoreError>;
    /// Newest first.
    fn replays(&self, limit: u32) -> Result<Vec<ReplayRow>, StoreError>;
    fn replay(&self, id: Uuid) -> Result<ReplayRow, StoreError>;
    /// Its deliveries by where they stand now.
    fn replay_progress(&self, id: Uuid) -> Result<ReplayProgress, StoreError>;
    /// Moves a job that is in one of `from` to `to`; `Conflict` naming its status otherwise.
    fn set_replay_status(
        &self,
        id: Uuid,
        from: &[ReplayStatus],
        to: ReplayStatus,
    ) -> Result<ReplayRow, StoreError>;
    /// Leases the oldest running job whose lease is free, expired or already `owner`'s.
    fn lease_replay(&self, owner: &str, lease: Duration) -> Result<Option<ReplayRow>, StoreError>;
    /// The next `limit` events after the job's cursor that a target may get, oldest first,
    /// each with its deliveries.
    fn replay_candidates(
        &self,
        job: &ReplayRow,
        targets: &[Target<'_>],
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError>;
    /// Writes a batch with the job's cursor if `owner` still runs the job (renewing its lease);
    /// the deliveries enqueued, or `None` when the job is no longer `owner`'s.
    fn apply_replay(
        &self,
        job: Uuid,
        owner: &str,
        lease: Duration,
        batch: &ReplayBatch,
    ) -> Result<Option<i64>, StoreError>;
    /// Ends a running job that `owner` holds (`done` or `failed`); whether it did.
    fn end_replay(
        &self,
        job: Uuid,
        owner: &str,
        status: ReplayStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Replays one event at once: stores `job` (already `done`) and applies `enqueue` under it,
    /// in one transaction; the deliveries enqueued.
    fn replay_event(&self, job: &ReplayRow, enqueue: &[Enqueue]) -> Result<i64, StoreError>;
    /// What the job would send, counted in SQL (exact when every target is).
    fn replay_dry_run(&self, job: &ReplayRow, targets: &[Target<'_>])
    -> Result<DryRun, StoreError>;
}

/// Retention: the oldest events go, in bounded batches.
pub trait RetentionStore {
    /// Deletes up to `limit` events created before `before`, oldest first, with their
    /// deliveries and attempts; never one with a delivery pending or sending.
    fn prune(&self, before: DateTime<Utc>, limit: u32) -> Result<Pruned, StoreError>;
    /// When the oldest event kept was created.
    fn oldest_event(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Reminder rules and their reminders. The reminders themselves are written by the event
/// inserts, from each event's [`RuleAction`](super::RuleAction)s, in the same transaction.
pub trait RuleStore {
    /// Every rule that is not deleted, by name.
    fn rules(&self) -> Result<Vec<RuleRow>, StoreError>;
    /// `Duplicate` when the name is taken.
    fn create_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError>;
    /// Replaces every field but the id and `created_at`; `Duplicate` when the name is taken.
    fn update_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError>;
    /// Marks it deleted (its reminders' history stays) and cancels its pending reminders;
    /// how many were cancelled.
    fn delete_rule(&self, id: Uuid) -> Result<usize, StoreError>;
    /// Reminders by time, as `query` selects them.
    fn reminders(&self, query: &ReminderQuery) -> Result<Vec<ReminderRecord>, StoreError>;
    /// Pending and sent reminders, and the next one's time, per rule that has any.
    fn rule_counts(&self) -> Result<Vec<(Uuid, RuleCounts)>, StoreError>;
    /// What each rule did with the event `event`.
    fn rule_notes(&self, event: Uuid) -> Result<Vec<RuleNote>, StoreError>;
}

/// Event sources, and the batches of entries they store.
pub trait SourceStore {
    /// Every source, by name.
    fn sources(&self) -> Result<Vec<SourceRow>, StoreError>;
    /// `Duplicate` when the name is taken.
    fn create_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError>;
    /// Replaces the name, kind, spec and `enabled`; the counts stay. `NotFound`, or
    /// `Duplicate` when the name is taken.
    fn update_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError>;
    /// Forgets the source (its events stay). `NotFound` when there is none.
    fn delete_source(&self, id: Uuid) -> Result<(), StoreError>;
    /// Stores a batch read by `source` in one commit, with its counts: each event carries its
    /// entry's idempotency key, and an entry whose key is stored already is skipped (counted a
    /// duplicate). `NotFound` (and nothing stored) when the source is gone.
    fn ingest(
        &self,
        source: Uuid,
        events: Vec<NewEvent>,
        tally: &Tally,
    ) -> Result<Ingested, StoreError>;
}

/// A whole store.
pub trait Backend:
    QueueStore
    + EventStore
    + EndpointStore
    + ProtectStore
    + SearchStore
    + ReplayStore
    + RetentionStore
    + RuleStore
    + SourceStore
    + Send
    + Sync
    + 'static
{
    /// `postgres` or `sqlite`, as `/health` shows it.
    fn backend(&self) -> &'static str;
    /// How many groups of outcomes are worth writing at once.
    fn parallel_writes(&self) -> usize;
    fn ping(&self) -> Result<(), StoreError>;
    /// Shutdown: lets go of what only one process may hold (the SQLite file's lock); every call
    /// after it fails. A pooled store has nothing to let go of.
    fn close(&self) {}
    /// The database's clock, so that every instance agrees on "now".
    fn now(&self) -> Result<DateTime<Utc>, StoreError>;

    /// [`QueueStore::claim`] with up to `limit` from every endpoint, for tools and tests; the
    /// dispatcher claims with each endpoint's fair share.
    fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
        worker: &str,
    ) -> Result<Vec<Claim>, StoreError> {
        let shares: Vec<Share> = self
            .endpoints()?
            .iter()
            .map(|e| Share {
                endpoint_id: e.id,
                share: limit,
            })
            .collect();
        self.claim(&shares, limit, lease, worker)
    }
}

/// How many due deliveries one claim may take of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub endpoint_id: Uuid,
    pub share: u32,
}
