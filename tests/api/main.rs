//! Integration tests against real PostgreSQL and Redis. One binary; one file per area.

mod api_auth;
mod api_errors;
mod api_messages;
mod api_ops;
mod browser;
mod cli;
mod delivery;
mod dispatch;
mod docs;
mod hardening;
mod helpers;
mod http_edges;
mod pipeline;
mod queue;
mod receiver;
mod resilience;
mod sink;
