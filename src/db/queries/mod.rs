//! SQL on PostgreSQL, one function per operation, each taking a connection. `queue` holds the
//! claim/finish protocol; `events` and `changes` the events and the API's state changes;
//! `endpoints` the endpoints; `history` the statistics.

mod changes;
mod endpoints;
mod events;
mod history;
mod prepared;
mod queue;

pub(super) use changes::{cancel, get, retry};
pub(super) use endpoints::{
    activity, all as endpoints, create as create_endpoint, delete as delete_endpoint,
    update as update_endpoint, version as endpoints_version,
};
pub(super) use events::{insert_event, insert_events, list};
pub(super) use history::{counts, history, overdue};
pub(super) use queue::{announce_due, claim_due, finish, next_due, release};
