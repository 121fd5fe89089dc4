//! Settings: every knob Herald has, read once from the environment at startup, typed and
//! validated. A bad value stops startup with an error naming the variable. There are no
//! globals: `Application::build` takes a `Settings`, so tests run several configurations.

mod env;
mod values;
mod variables;

use std::net::SocketAddr;
use std::time::Duration;

pub use env::{ConfigError, Env, Secret, parse_duration};
pub use values::DatabaseUrl;
use values::{api_token, dispatch_rate, signing_key, webhook_url};
pub use variables::{VARIABLES, help as variables_help};

use crate::domain::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub webhook: WebhookSettings,
    pub producer: ProducerSettings,
    pub scheduler: SchedulerSettings,
    pub retry: RetryPolicy,
    pub content_max_chars: usize,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub protect: ProtectSettings,
    pub retention: RetentionSettings,
    pub sources: SourceSettings,
    /// When set, the API (not health, metrics or docs) requires `Authorization: Bearer <token>`.
    pub api_token: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    /// PostgreSQL: connections per instance. SQLite: reading connections (one more writes).
    pub pool_size: u32,
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `None`: the in-memory cache of this process.
    pub url: Option<Secret<String>>,
    /// Entries the in-memory cache keeps at most (the oldest go first).
    pub memory_entries: usize,
    /// Put before every key (`{prefix}message:{id}`); lets tests and tenants share a Redis.
    pub prefix: String,
    pub ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `None`: deliver to the built-in receiver started on `SINK_ADDR`.
    pub url: Option<String>,
    /// `false` with `WEBHOOK_URL=none`: no endpoint `default`.
    pub default_endpoint: bool,
    /// `ENDPOINT_ALLOWED_NETWORKS`: internal addresses user endpoints may reach.
    pub allowed_networks: Vec<ipnet::IpNet>,
    pub sink_addr: SocketAddr,
    pub auth_key: Option<Secret<String>>,
    /// The decoded key of a `whsec_<base64>` secret.
    pub signing_key: Option<Secret<Vec<u8>>>,
    pub timeout: Duration,
    /// Deliveries in flight at once, per instance.
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct ProducerSettings {
    pub enabled: bool,
    pub interval: Duration,
    pub batch: u32,
}

/// How the scheduler finds work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchMode {
    /// `BATCH_SIZE` messages every `SCHEDULER_INTERVAL`; a tick waits for its batch.
    Interval,
    /// A message is claimed as soon as it is due and a delivery slot is free; woken by new
    /// messages (PostgreSQL `LISTEN/NOTIFY`), by the next known due time, and by a fallback poll
    /// every `SCHEDULER_INTERVAL`.
    Continuous,
}

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    pub mode: DispatchMode,
    /// Deliveries started per second per instance, at most; `None` for no limit.
    pub rate: Option<f64>,
    pub interval: Duration,
    pub batch_size: u32,
    /// How long a claim is owned; a `sending` row whose lease ran out is claimable again.
    pub lease: Duration,
}

/// Auto-disable and the operators' own notifications (see the README, "Protecting receivers").
#[derive(Debug, Clone)]
pub struct ProtectSettings {
    /// An endpoint that has failed continuously for this long is disabled.
    pub disable_after: Duration,
    /// …and only with two failures at least this far apart.
    pub disable_min_gap: Duration,
    /// The endpoint (by name) that receives `herald.endpoint.disabled`.
    pub ops_endpoint: Option<String>,
}

/// How long events are kept (see the README, "Retention").
#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// Events older than this are deleted with their deliveries and attempts; `None`: kept.
    pub keep: Option<Duration>,
    /// How often the pruner looks.
    pub every: Duration,
}

/// How event sources read their brokers (see the README, "Sources").
#[derive(Debug, Clone, Copy)]
pub struct SourceSettings {
    /// A Redis entry pending this long with a consumer is taken over (`XAUTOCLAIM`); a
    /// JetStream entry not acknowledged this long is delivered again (`ack_wait`).
    pub claim_idle: Duration,
    /// Entries read, and stored in one commit, at most.
    pub batch: usize,
    /// Reading pauses while more deliveries than this are pending.
    pub max_backlog: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|var| std::env::var(var).ok())
    }

    /// Reads any environment; unset variables take their documented defaults.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let listen = env.string("LISTEN_ADDR", "0.0.0.0:8080");
        let listen_addr = listen.parse().map_err(|_| {
            ConfigError::new("LISTEN_ADDR", Some(&listen), "host:port, e.g. 0.0.0.0:8080")
        })?;

        let none = env
            .get("WEBHOOK_URL")
            .is_some_and(|u| u.trim().eq_ignore_ascii_case("none"));
        let allowed = env.string("ENDPOINT_ALLOWED_NETWORKS", "");
        let webhook = WebhookSettings {
            url: if none { None } else { webhook_url(&env)? },
            default_endpoint: !none,
            allowed_networks: crate::webhook::NetworkGuard::parse_list(&allowed).map_err(
                |why| ConfigError::new("ENDPOINT_ALLOWED_NETWORKS", Some(&allowed), why),
            )?,
            sink_addr: {
                let raw = env.string("SINK_ADDR", "127.0.0.1:9090");
                raw.parse().map_err(|_| {
                    ConfigError::new("SINK_ADDR", Some(&raw), "host:port, e.g. 127.0.0.1:9090")
                })?
            },
            auth_key: env.secret("WEBHOOK_AUTH_KEY"),
            signing_key: signing_key(&env)?,
            timeout: env.duration("WEBHOOK_TIMEOUT", "10s")?,
            concurrency: env.number("SENDER_CONCURRENCY", 16, (1, 1024))?,
        };
        let scheduler = SchedulerSettings {
            mode: match env
                .string("DISPATCH_MODE", "interval")
                .to_ascii_lowercase()
                .as_str()
            {
                "interval" => DispatchMode::Interval,
                "continuous" => DispatchMode::Continuous,
                other => {
                    return Err(ConfigError::new(
                        "DISPATCH_MODE",
                        Some(other),
                        "interval or continuous",
                    ));
                }
            },
            rate: dispatch_rate(&env)?,
            interval: env.duration("SCHEDULER_INTERVAL", "2m")?,
            batch_size: env.number("BATCH_SIZE", 2, (1, 1000))?,
            lease: env.duration("LEASE_DURATION", "60s")?,
        };
        if scheduler.lease < webhook.timeout + Duration::from_secs(2) {
            return Err(ConfigError::new(
                "LEASE_DURATION",
                Some(&humantime::format_duration(scheduler.lease).to_string()),
                "at least WEBHOOK_TIMEOUT + 2s, so that a delivery ends before its claim can be taken over",
            ));
        }
        let schedule = env.durations("RETRY_SCHEDULE", "10s,1m,5m,15m")?;
        let retry_after_cap = env.duration("RETRY_AFTER_MAX", "1h")?;

        Ok(Self {
            listen_addr,
            database: DatabaseSettings {
                url: DatabaseUrl::parse(&env.string("DATABASE_URL", "sqlite://herald.db"))?,
                pool_size: env.number("DATABASE_POOL_SIZE", 10, (1, 200))?,
            },
            cache: CacheSettings {
                url: env.secret("REDIS_URL"),
                memory_entries: env.number("CACHE_MAX_ENTRIES", 100_000, (1, 100_000_000))?,
                prefix: env.string("CACHE_PREFIX", ""),
                ttl: env.duration("CACHE_TTL", "24h")?,
            },
            webhook,
            producer: ProducerSettings {
                enabled: env.boolean("PRODUCER_ENABLED", true)?,
                interval: env.duration("PRODUCER_INTERVAL", "30s")?,
                batch: env.number("PRODUCER_BATCH", 1, (1, 10_000))?,
            },
            scheduler,
            retry: RetryPolicy::new(schedule, 0.2, retry_after_cap),
            content_max_chars: env.number("CONTENT_MAX_CHARS", 160, (1, 10_000))?,
            shutdown_grace: env.duration("SHUTDOWN_GRACE", "10s")?,
            log_format: match env
                .string("LOG_FORMAT", "pretty")
                .to_ascii_lowercase()
                .as_str()
            {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::new(
                        "LOG_FORMAT",
                        Some(other),
                        "pretty or json",
                    ));
                }
            },
            api_token: api_token(&env)?,
            retention: RetentionSettings {
                keep: match env.string("EVENT_RETENTION", "30d").trim() {
                    "off" => None,
                    _ => Some(env.duration("EVENT_RETENTION", "30d")?),
                },
                every: env.duration("RETENTION_INTERVAL", "1m")?,
            },
            sources: SourceSettings {
                claim_idle: env.duration("SOURCE_CLAIM_IDLE", "30s")?,
                batch: env.number("SOURCE_BATCH", 1000, (1, 1000))?,
                max_backlog: env.number("SOURCE_MAX_BACKLOG", 100_000, (1, 100_000_000))?,
            },
            protect: ProtectSettings {
                disable_after: env.duration("ENDPOINT_DISABLE_AFTER", "120h")?,
                disable_min_gap: env.duration("ENDPOINT_DISABLE_MIN_GAP", "12h")?,
                ops_endpoint: env.get("OPS_ENDPOINT").filter(|n| !n.trim().is_empty()),
            },
        })
    }
}

#[cfg(test)]
mod tests;
