//! Reading typed values from an environment lookup, with errors that name the variable and
//! what it expected. Secret values are wrapped so that `Debug` and logs never show them.

use std::fmt;
use std::time::Duration;

/// A value that must not be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}{shown}: expected {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    /// `='value'` for ordinary variables, empty for secrets.
    shown: String,
    pub expected: String,
}

impl ConfigError {
    pub fn new(var: &'static str, value: Option<&str>, expected: impl Into<String>) -> Self {
        Self {
            var,
            shown: value.map(|v| format!("='{v}'")).unwrap_or_default(),
            expected: expected.into(),
        }
    }
}

/// An environment, as a lookup function so that tests can pass a map.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value, or `None` when unset or empty.
    pub fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    pub fn string(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_owned())
    }

    /// A secret, without surrounding whitespace (a trailing newline from a file or a paste
    /// would otherwise lock everyone out).
    pub fn secret(&self, var: &str) -> Option<Secret<String>> {
        self.get(var).map(|v| Secret::new(v.trim().to_owned()))
    }

    pub fn number<T>(&self, var: &'static str, default: T, range: (T, T)) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let expected = || format!("a whole number from {} to {}", range.0, range.1);
        let value: T = raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(var, Some(&raw), expected()))?;
        if value < range.0 || value > range.1 {
            return Err(ConfigError::new(var, Some(&raw), expected()));
        }
        Ok(value)
    }

    pub fn boolean(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError::new(var, Some(&v), "true or false")),
        }
    }

    /// A positive human-readable duration such as `250ms`, `30s`, `2m`, `24h`.
    pub fn duration(&self, var: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.string(var, default);
        parse_duration(&raw).ok_or_else(|| {
            ConfigError::new(
                var,
                Some(&raw),
                "a positive duration such as 250ms, 30s, 2m or 24h",
            )
        })
    }

    /// A comma-separated list of durations, e.g. `10s,1m,5m,15m`; empty means none.
    pub fn durations(
        &self,
        var: &'static str,
        default: &str,
    ) -> Result<Vec<Duration>, ConfigError> {
        let raw = (self.lookup)(var).unwrap_or_else(|| default.to_owned());
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                parse_duration(part).ok_or_else(|| {
                    ConfigError::new(
                        var,
                        Some(&raw),
                        "comma-separated durations such as 10s,1m,5m,15m",
                    )
                })
            })
            .collect()
    }
}

pub fn parse_duration(raw: &str) -> Option<Duration> {
    humantime::parse_duration(raw.trim())
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations_are_human_readable_and_positive() {
        let map = env_of(&[("A", "250ms"), ("B", "2m"), ("C", "0s"), ("D", "soon")]);
        let lookup = |k: &str| map.get(k).cloned();
        let env = Env::new(&lookup);
        assert_eq!(env.duration("A", "1s").unwrap(), Duration::from_millis(250));
        assert_eq!(env.duration("B", "1s").unwrap(), Duration::from_secs(120));
        assert!(env.duration("C", "1s").is_err());
        let err = env.duration("D", "1s").unwrap_err().to_string();
        assert!(
            err.contains("invalid D='soon'") && err.contains("30s"),
            "{err}"
        );
        assert_eq!(
            env.duration("UNSET", "30s").unwrap(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn numbers_are_range_checked_and_name_the_variable() {
        let map = env_of(&[("N", "0"), ("M", "abc")]);
        let lookup = |k: &str| map.get(k).cloned();
        let env = Env::new(&lookup);
        let err = env.number("N", 2u32, (1, 10)).unwrap_err().to_string();
        assert_eq!(err, "invalid N='0': expected a whole number from 1 to 10");
        assert!(env.number("M", 2u32, (1, 10)).is_err());
        assert_eq!(env.number("UNSET", 2u32, (1, 10)).unwrap(), 2);
    }

    #[test]
    fn secrets_do_not_show_in_debug_or_errors() {
        let s = Secret::new("hunter2".to_string());
        assert!(!format!("{s:?}").contains("hunter2"));
        let err = ConfigError::new("WEBHOOK_SECRET", None, "whsec_<base64>").to_string();
        assert_eq!(err, "invalid WEBHOOK_SECRET: expected whsec_<base64>");
    }

    #[test]
    fn a_list_of_durations_parses_and_may_be_empty() {
        let map = env_of(&[("R", "10s, 1m,5m"), ("E", ""), ("X", "10s,later")]);
        let lookup = |k: &str| map.get(k).cloned();
        let env = Env::new(&lookup);
        assert_eq!(env.durations("R", "").unwrap().len(), 3);
        assert!(env.durations("E", "10s").unwrap().is_empty());
        assert!(env.durations("X", "").is_err());
    }
}
