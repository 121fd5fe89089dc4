//! Herald moves messages from PostgreSQL to a webhook, reliably.
//!
//! ```text
//! producer ─insert─▶ messages(pending) ─claim (SKIP LOCKED, lease)─▶ scheduler ─Deliver─▶ sender ─POST─▶ webhook
//!                                                                                          │ outcome
//!                                       cache ◀─RecordSent (after commit)── sender ◀────────┘ finish → DB
//! ```
//!
//! Dependencies point inwards: `domain` uses nothing of ours; `db`, `cache` and `webhook` use
//! `domain`; `actors` use those; `http` calls the store; `startup` wires everything.

pub mod actors;
pub mod cache;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod monitor;
pub mod routing;
pub mod sink;
pub mod startup;
pub mod telemetry;
pub mod webhook;

pub use config::Settings;
pub use startup::{Application, Handles, ShutdownReport};
