//! Event sources: entries read from Redis Streams and NATS JetStream become events, stored
//! before they are acknowledged.
//!
//! - [`spec`]: a source as the API takes it, parsed field by field.
//! - [`entry`]: what one entry becomes (an event, or the reason it is moved aside). Pure.
//! - [`runner`]: the reading loop every broker shares; [`redis_stream`] and [`nats`] are the
//!   brokers' sides of it.
//! - [`Supervisor`]: starts and stops a reader per enabled source, as the store says.
//! - [`Live`]: what this instance's readers are doing now.

pub mod entry;
mod live;
mod metrics;
mod nats;
mod redis_stream;
mod runner;
pub mod spec;
mod supervisor;

pub use live::{Live, Status, state_of};
pub use metrics::SourceMetrics;
pub use redis_stream::start_id;
pub use runner::{Runner, backoff};
pub use spec::{Kind, Source, SourceInput};
pub use supervisor::Supervisor;
