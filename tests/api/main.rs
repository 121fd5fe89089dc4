//! Integration tests against real PostgreSQL and Redis. One binary; one file per area.

mod cli;
mod delivery;
mod dispatch;
mod helpers;
mod pipeline;
mod queue;
mod receiver;
mod resilience;
