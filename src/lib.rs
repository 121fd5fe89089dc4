//! Herald routes events to endpoints and delivers them, reliably.
//!
//! ```text
//! POST /events, /messages, producer ─route (types, channels, filter)─▶ events + deliveries(pending)
//!   ─claim (SKIP LOCKED, lease)─▶ scheduler ─Deliver─▶ sender ─template, sign─▶ endpoint
//!                                                        │ outcome
//!          cache ◀─RecordSent (after commit)── sender ◀──┘ finish → DB (delivery + event counters)
//! ```
//!
//! Dependencies point inwards: `domain` uses nothing of ours; `db`, `cache` and `webhook` use
//! `domain`; `routing` uses `domain`, `db` and the webhook guard; `actors` use those; `http`
//! calls the store and the routing table; `startup` wires everything.

pub mod actors;
pub mod cache;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod monitor;
pub mod protect;
pub mod replay;
pub mod retention;
pub mod routing;
pub mod rules;
pub mod sink;
pub mod sources;
pub mod startup;
pub mod telemetry;
pub mod webhook;

pub use config::Settings;
pub use startup::{Application, Handles, ShutdownReport};
