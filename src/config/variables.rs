//! Every environment variable `herald serve` reads, with its default and meaning: shown by
//! `herald serve --help`, and checked against what `Settings` reads and against the README.

/// `(name, default, meaning)`; an empty default means unset.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "sqlite://herald.db",
        "The store: postgres://… (several instances) or sqlite://PATH (one process)",
    ),
    (
        "DATABASE_POOL_SIZE",
        "10",
        "PostgreSQL: connections per instance; SQLite: reading connections",
    ),
    (
        "REDIS_URL",
        "",
        "Redis for the sent-message cache and shared rate limits; unset: in memory",
    ),
    (
        "CACHE_MAX_ENTRIES",
        "100000",
        "Entries the in-memory cache keeps (oldest dropped first)",
    ),
    ("CACHE_PREFIX", "", "Put before every cache key"),
    ("CACHE_TTL", "24h", "Lifetime of a cache entry"),
    (
        "WEBHOOK_URL",
        "",
        "The endpoint `default` (every event type); unset: the built-in receiver; none: no default",
    ),
    (
        "ENDPOINT_ALLOWED_NETWORKS",
        "",
        "CIDR list of internal addresses endpoints may reach (empty: none; default is exempt)",
    ),
    (
        "SINK_ADDR",
        "127.0.0.1:9090",
        "The built-in receiver's address (when WEBHOOK_URL is unset)",
    ),
    ("WEBHOOK_AUTH_KEY", "", "Sent as x-ins-auth-key when set"),
    (
        "WEBHOOK_SECRET",
        "",
        "whsec_<base64>: sign requests (Standard Webhooks)",
    ),
    (
        "WEBHOOK_TIMEOUT",
        "10s",
        "Time for the webhook's status line and headers",
    ),
    (
        "SENDER_CONCURRENCY",
        "16",
        "Deliveries in flight at once, per instance",
    ),
    (
        "ENDPOINT_DISABLE_AFTER",
        "120h",
        "Disable an endpoint that has failed continuously for this long",
    ),
    (
        "ENDPOINT_DISABLE_MIN_GAP",
        "12h",
        "…only with two failures at least this far apart",
    ),
    (
        "OPS_ENDPOINT",
        "",
        "An endpoint name that receives herald.endpoint.disabled events",
    ),
    (
        "EVENT_RETENTION",
        "30d",
        "Events older than this are deleted with their deliveries and attempts; off: kept",
    ),
    (
        "RETENTION_INTERVAL",
        "1m",
        "How often old events are looked for",
    ),
    ("LISTEN_ADDR", "0.0.0.0:8080", "HTTP API address"),
    (
        "SOURCE_CLAIM_IDLE",
        "30s",
        "A source's entry unacknowledged this long is taken over by another instance",
    ),
    (
        "SOURCE_BATCH",
        "1000",
        "Entries a source reads and stores in one commit (1 to 1000)",
    ),
    (
        "SOURCE_MAX_BACKLOG",
        "100000",
        "Sources stop reading while more deliveries than this are pending",
    ),
    ("PRODUCER_ENABLED", "true", "Make fake demo messages"),
    ("PRODUCER_INTERVAL", "30s", "How often the producer runs"),
    ("PRODUCER_BATCH", "1", "Messages per producer run"),
    (
        "DISPATCH_MODE",
        "interval",
        "interval (BATCH_SIZE per SCHEDULER_INTERVAL) or continuous",
    ),
    (
        "DISPATCH_RATE",
        "0",
        "Deliveries started per second per instance; 0 = no limit",
    ),
    (
        "SCHEDULER_INTERVAL",
        "2m",
        "How often due messages are claimed",
    ),
    ("BATCH_SIZE", "2", "Messages claimed per tick"),
    (
        "LEASE_DURATION",
        "60s",
        "How long a claim is owned (>= WEBHOOK_TIMEOUT + 2s)",
    ),
    (
        "RETRY_SCHEDULE",
        "10s,1m,5m,15m",
        "Delays before attempts 2, 3, ... (+-20 % jitter)",
    ),
    ("RETRY_AFTER_MAX", "1h", "Cap on a webhook's Retry-After"),
    ("CONTENT_MAX_CHARS", "160", "Content limit in characters"),
    (
        "SHUTDOWN_GRACE",
        "10s",
        "Time for open requests and deliveries on SIGTERM/SIGINT",
    ),
    (
        "API_TOKEN",
        "",
        "When set, the API needs Authorization: Bearer <token>",
    ),
    ("LOG_FORMAT", "pretty", "pretty or json"),
];

/// The variables as help text, one a line.
pub fn help() -> String {
    let mut text = String::from("Configuration (environment variables, default in brackets):\n");
    for (name, default, meaning) in VARIABLES {
        let default = if default.is_empty() { "unset" } else { default };
        text.push_str(&format!("  {name:<20} {meaning} [{default}]\n"));
    }
    text.push_str("  RUST_LOG             Log filter [info]\n");
    text
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use super::VARIABLES;
    use crate::Settings;

    #[test]
    fn the_list_is_exactly_what_settings_read() {
        let read = RefCell::new(BTreeSet::new());
        let _ = Settings::from_lookup(&|var| {
            read.borrow_mut().insert(var.to_owned());
            None
        });
        let listed: BTreeSet<String> = VARIABLES.iter().map(|(n, _, _)| n.to_string()).collect();
        assert_eq!(read.into_inner(), listed);
    }

    #[test]
    fn the_readme_documents_every_variable() {
        let readme = include_str!("../../README.md");
        for (name, _, _) in VARIABLES {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README lacks {name}"
            );
        }
    }
}
