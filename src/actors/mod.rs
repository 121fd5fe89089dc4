//! The four actors, and the recorder that writes the sender's outcomes in groups. Each module
//! holds one actor, its messages and their handlers.
//!
//! ```text
//! Producer --insert--> events + deliveries(pending) <--claim-- Scheduler --Deliver--> Sender --POST--> endpoints
//!                                                                            |  outcome
//!                                                   Recorder <---------------+  (grouped, guarded update)
//!                                               Cache <--RecordSent (after commit)-- Sender
//! ```
//! They pass ids and claims, never state that lives only in memory: the database is the hand-off.

pub mod cache;
pub mod continuous;
pub mod guard;
mod handoff;
pub use handoff::HandOffs;
mod guard_breaker;
pub mod isolation;
pub mod limiter;
mod observe;
mod pace;
pub mod producer;
pub mod recorder;
mod report;
pub mod scheduler;
pub mod sender;
mod target;

pub use cache::{CacheWriter, RecordSent};
pub use producer::{Produce, Producer, StopProducing};
pub use recorder::Recorder;
pub use report::DeliveryReport;
pub use scheduler::{Continuous, Scheduler, StopClaiming, Tick, TickOutcome};
pub use sender::{Deliver, DeliverReserved, Drain, Sender};
