//! Settings: every knob Herald has, read once from the environment at startup, typed and
//! validated. A bad value stops startup with an error naming the variable. There are no
//! globals: `Application::build` takes a `Settings`, so tests run several configurations.

mod env;
mod variables;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;

pub use env::{ConfigError, Env, Secret, parse_duration};
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
    /// When set, the API (not health, metrics or docs) requires `Authorization: Bearer <token>`.
    pub api_token: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    /// PostgreSQL: connections per instance. SQLite: reading connections (one more writes).
    pub pool_size: u32,
}

/// Which store `DATABASE_URL` chose.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`: the shared store several instances can use.
    Postgres(Secret<String>),
    /// `sqlite://PATH` or `sqlite:PATH` (and the default, `sqlite://herald.db`): an embedded
    /// file owned by one process.
    Sqlite(std::path::PathBuf),
}

impl DatabaseUrl {
    const SCHEMES: &str = "postgres://…, postgresql://… or sqlite://PATH";

    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let trimmed = raw.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Self::Postgres(Secret::new(trimmed.to_owned())));
        }
        // The value is only echoed when it cannot hold a password.
        let refuse = || ConfigError::new("DATABASE_URL", None, Self::SCHEMES);
        let path = if lower.starts_with("sqlite://") {
            &trimmed["sqlite://".len()..]
        } else if lower.starts_with("sqlite:") {
            &trimmed["sqlite:".len()..]
        } else {
            return Err(refuse());
        };
        if path.is_empty() || path.contains('\0') {
            return Err(refuse());
        }
        Ok(Self::Sqlite(path.into()))
    }

    /// `postgres` or `sqlite`, as `/health` shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
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

        let webhook = WebhookSettings {
            url: webhook_url(&env)?,
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
        })
    }
}

fn webhook_url(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    let Some(url) = env.get("WEBHOOK_URL") else {
        return Ok(None);
    };
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Ok(Some(url))
        }
        _ => Err(ConfigError::new(
            "WEBHOOK_URL",
            Some(&url),
            "an http:// or https:// URL",
        )),
    }
}

/// `DISPATCH_RATE`: messages per second, 0 (the default) for no limit.
fn dispatch_rate(env: &Env<'_>) -> Result<Option<f64>, ConfigError> {
    let Some(raw) = env.get("DISPATCH_RATE") else {
        return Ok(None);
    };
    match raw.trim().parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Some(rate)),
        _ => Err(ConfigError::new(
            "DISPATCH_RATE",
            Some(&raw),
            "messages per second: 0 (no limit) or a positive number",
        )),
    }
}

/// A bearer token is sent in a header: visible ASCII only, or no client could present it.
fn api_token(env: &Env<'_>) -> Result<Option<Secret<String>>, ConfigError> {
    let token = env.secret("API_TOKEN");
    if let Some(t) = &token
        && !t.expose().bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ConfigError::new(
            "API_TOKEN",
            None,
            "visible ASCII characters without spaces",
        ));
    }
    Ok(token)
}

fn signing_key(env: &Env<'_>) -> Result<Option<Secret<Vec<u8>>>, ConfigError> {
    let Some(raw) = env.get("WEBHOOK_SECRET") else {
        return Ok(None);
    };
    let expected = "whsec_ followed by base64 (Standard Webhooks secret)";
    let encoded = raw
        .trim()
        .strip_prefix("whsec_")
        .ok_or_else(|| ConfigError::new("WEBHOOK_SECRET", None, expected))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| ConfigError::new("WEBHOOK_SECRET", None, expected))?;
    if key.is_empty() {
        return Err(ConfigError::new("WEBHOOK_SECRET", None, expected));
    }
    Ok(Some(Secret::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_for_local_use() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen_addr.port(), 8080);
        assert_eq!(s.scheduler.batch_size, 2);
        assert_eq!(s.scheduler.interval, Duration::from_secs(120));
        assert_eq!(s.producer.interval, Duration::from_secs(30));
        assert_eq!(s.retry.max_attempts(), 5);
        assert_eq!(s.content_max_chars, 160);
        assert_eq!(s.cache.ttl, Duration::from_secs(86_400));
        assert!(s.producer.enabled);
        assert_eq!(s.database.url, DatabaseUrl::Sqlite("herald.db".into()));
        assert!(s.cache.url.is_none());
        assert!(s.webhook.url.is_none());
        assert_eq!(s.webhook.sink_addr.port(), 9090);
    }

    #[test]
    fn database_url_chooses_the_store() {
        let url = |raw: &str| settings(&[("DATABASE_URL", raw)]).map(|s| s.database.url);
        assert_eq!(
            url("sqlite:///var/lib/herald/q.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/herald/q.db".into())
        );
        assert_eq!(
            url("sqlite:data/q.db").unwrap(),
            DatabaseUrl::Sqlite("data/q.db".into())
        );
        assert!(matches!(
            url("postgresql://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        for bad in ["mysql://u:secret@h/db", "sqlite://", "herald.db"] {
            let err = url(bad).unwrap_err();
            assert_eq!(err.var, "DATABASE_URL");
            let text = err.to_string();
            assert!(
                text.contains("sqlite://PATH") && !text.contains("secret"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_bad_secret_is_refused_without_echoing_it() {
        let err = settings(&[("WEBHOOK_SECRET", "not-a-secret")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WEBHOOK_SECRET") && !err.contains("not-a-secret"),
            "{err}"
        );
    }

    #[test]
    fn the_lease_must_outlast_the_webhook_timeout() {
        let err = settings(&[("WEBHOOK_TIMEOUT", "30s"), ("LEASE_DURATION", "20s")]).unwrap_err();
        assert_eq!(err.var, "LEASE_DURATION");
    }

    #[test]
    fn an_api_token_is_trimmed_and_one_with_inner_spaces_is_refused() {
        let s = settings(&[("API_TOKEN", "  s3cret\n")]).unwrap();
        assert_eq!(s.api_token.unwrap().expose(), "s3cret");
        let err = settings(&[("API_TOKEN", "two words")]).unwrap_err();
        assert_eq!(err.var, "API_TOKEN");
        assert!(!err.to_string().contains("two words"), "{err}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("BATCH_SIZE", "many"),
            ("WEBHOOK_URL", "ftp://x"),
            ("LOG_FORMAT", "xml"),
            ("PRODUCER_ENABLED", "perhaps"),
            ("LISTEN_ADDR", "here"),
            ("SINK_ADDR", "there"),
            ("CACHE_MAX_ENTRIES", "0"),
            ("SCHEDULER_INTERVAL", "2 fortnights"),
            ("DISPATCH_MODE", "eventually"),
            ("DISPATCH_RATE", "-5"),
            ("DISPATCH_RATE", "fast"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
        }
    }
}
