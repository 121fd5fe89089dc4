//! Pure domain types: no I/O, no framework. Everything here is unit-tested in place.
//!
//! - [`Recipient`], [`Content`]: newtypes that parse at the edge; an invalid value cannot exist.
//! - [`MessageStatus`]: the closed set of states a message goes through.
//! - [`AttemptOutcome`]: what one delivery attempt produced.
//! - [`RetryPolicy`]: the pure decision "retry when, or give up", as a [`Finish`].

mod event;
mod message;
mod outcome;
pub mod patch;
mod retry;

pub use event::{EndpointName, EventStatus, EventType, parse_channel};
pub use message::{Content, MessageStatus, Recipient, ValidationError};
pub use outcome::{AttemptOutcome, ErrorClass, OutcomeKind};
pub use retry::{Finish, RetryPolicy};
