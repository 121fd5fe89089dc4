//! The four actors. Each module holds one actor, its messages and their handlers.
//!
//! ```text
//! Producer --insert--> messages(pending) <--claim-- Scheduler --Deliver--> Sender --POST--> webhook
//!                                                                            |  finish (guarded update)
//!                                               Cache <--RecordSent (after commit)--+
//! ```
//! They pass ids and claims, never state that lives only in memory: the database is the hand-off.

pub mod cache;
pub mod producer;
pub mod scheduler;
pub mod sender;

pub use cache::{CacheWriter, RecordSent};
pub use producer::{Produce, Producer, StopProducing};
pub use scheduler::{Scheduler, StopClaiming, Tick, TickOutcome};
pub use sender::{Deliver, DeliveryReport, Drain, Sender};
