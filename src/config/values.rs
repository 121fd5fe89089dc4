//! Settings that are more than a number or a duration: each parsed here from its raw value, with
//! an error naming the variable (and never echoing a secret).

use base64::Engine;

use super::env::{ConfigError, Env, Secret};

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

pub(super) fn webhook_url(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
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
pub(super) fn dispatch_rate(env: &Env<'_>) -> Result<Option<f64>, ConfigError> {
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
pub(super) fn api_token(env: &Env<'_>) -> Result<Option<Secret<String>>, ConfigError> {
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

pub(super) fn signing_key(env: &Env<'_>) -> Result<Option<Secret<Vec<u8>>>, ConfigError> {
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
