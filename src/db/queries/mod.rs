//! SQL on PostgreSQL, one function per operation, each taking a connection. `queue` holds the
//! claim/finish protocol; `insert`, `events` and `changes` the events and the API's state changes;
//! `endpoints` the endpoints; `history` the statistics.

mod changes;
mod endpoint_rows;
mod endpoints;
mod events;
mod history;
mod insert;
mod prepared;
mod protect;
mod queue;
mod replay_batch;
mod replays;
mod retention;
mod rules;
mod search;
mod slots;
mod sources;

pub(super) use changes::{cancel, get, retry};
pub(super) use endpoints::{
    activity, all as endpoints, create as create_endpoint, delete as delete_endpoint,
    update as update_endpoint, version as endpoints_version,
};
pub(super) use events::{insert_event, insert_events, list};
pub(super) use history::{counts, history, overdue};
pub(super) use protect::{
    defer, disable, mark_failing, pause, reserve_rate, set_breaker, set_effective_rate,
};
pub(super) use queue::{announce_due, claim_due, finish, next_due, release};
pub(super) use replay_batch::{
    apply as apply_replay, candidates as replay_candidates, dry_run as replay_dry_run, replay_event,
};
pub(super) use replays::{
    create as create_replay, end as end_replay, get as replay, lease as lease_replay,
    list as replays, progress as replay_progress, set_status as set_replay_status,
};
pub(super) use retention::{oldest as oldest_event, prune};
pub(super) use rules::{
    all as rules, counts as rule_counts, create as create_rule, delete as delete_rule,
    notes as rule_notes, reminders, update as update_rule,
};
pub(super) use search::{count as count_events, search as search_events};
pub(super) use sources::{
    all as sources, create as create_source, delete as delete_source, ingest,
    update as update_source,
};
