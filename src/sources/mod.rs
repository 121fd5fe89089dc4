//! Event sources: entries read from Redis Streams and NATS JetStream become events. So far the
//! parsed source ([`spec`]) and what one entry becomes ([`entry`]); the readers come next.

pub mod entry;
pub mod spec;
