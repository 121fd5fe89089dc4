//! The scenarios, in the order they run. Each returns a [`Row`] and never panics on a broken
//! promise: it says so in the row, so the table is always whole.

mod crash;
mod fanout;
mod outages;
mod protect;
mod replay;
mod sources;
mod storm;

use std::future::Future;
use std::pin::Pin;

use crate::{Row, Scale};

pub type Run = fn(Scale) -> Pin<Box<dyn Future<Output = Row>>>;

pub fn all() -> Vec<(&'static str, Run)> {
    vec![
        ("kill -9 mid-drain", |s| Box::pin(crash::kill9(s))),
        ("3 instances on one database", |s| {
            Box::pin(crash::three_instances(s))
        }),
        ("PostgreSQL restarts and a stop under load", |s| {
            Box::pin(outages::postgres(s))
        }),
        ("Redis killed, then frozen", |s| Box::pin(outages::redis(s))),
        ("webhook storm", |s| Box::pin(storm::storm(s))),
        ("fan-out with kill -9 and a PostgreSQL restart", |s| {
            Box::pin(fanout::fanout(s))
        }),
        ("3 endpoints: healthy, timing out, 429", |s| {
            Box::pin(protect::protect(s))
        }),
        ("kill -9 during a replay", |s| {
            Box::pin(replay::kill9_mid_replay(s))
        }),
        ("kill -9 ×5 reading a Redis stream", |s| {
            Box::pin(sources::redis_kill9(s))
        }),
        ("kill -9 ×5 reading a JetStream stream", |s| {
            Box::pin(sources::nats_kill9(s))
        }),
        ("SIGTERM with a slow client and a busy drain", |s| {
            Box::pin(crash::sigterm(s))
        }),
    ]
}

/// The delivered-versus-expected arithmetic every scenario shares.
pub fn tally(expected: usize, received: usize, distinct: usize) -> (usize, usize) {
    (
        expected.saturating_sub(distinct),
        received.saturating_sub(distinct),
    )
}
