//! SQL, one function per operation, each taking a connection. `queue` holds the claim/finish
//! protocol; `messages` the reads and the API's state changes.

mod history;
mod messages;
mod queue;

pub(super) use history::{counts, history, overdue};
pub(super) use messages::{
    announce_due, cancel, get, insert, insert_batch, insert_idempotent, list, retry,
    sync_content_limit,
};
pub(super) use queue::{claim_due, finish, next_due, release};
