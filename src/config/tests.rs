//! Settings read from a map: defaults, bad values, and the values that choose a backend.

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
