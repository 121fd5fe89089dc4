//! Integration tests against real PostgreSQL and Redis. One binary; one file per area.

mod api_auth;
mod api_errors;
mod api_messages;
mod api_ops;
mod batch;
mod browser;
mod chromium;
mod cli;
mod continuous;
mod contract;
mod contract_isolation;
mod contract_queue;
mod contract_routing;
mod dashboard;
mod dashboard_routing;
mod delivery;
mod dispatch;
mod docs;
mod embedded;
mod grouped;
mod hardening;
mod helpers;
mod history;
mod http_edges;
mod isolation;
mod legacy;
mod migration;
mod outage;
mod pipeline;
mod protect_rate;
mod queue;
mod receiver;
mod resilience;
mod routing;
mod routing_changes;
mod routing_input;
mod routing_instances;
mod routing_ssrf;
mod sink;
mod testdb;
#[allow(dead_code)] // Redis is for the chaos run.
#[path = "../support/throwaway.rs"]
mod throwaway;
