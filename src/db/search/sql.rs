//! [`Sql`]: SQL text being built for one store, with its bind parameters. Every value a user
//! gave goes in as a bind (`$n` on PostgreSQL, `?n` on SQLite), never into the text.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which store's SQL to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// One bind parameter. Each store maps it to its own types (SQLite keeps times as Unix
/// milliseconds and ids as text).
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
    Real(f64),
    /// On SQLite, rounded up to the millisecond: `created_at >= t` and `created_at < t` then
    /// hold for the same rows as at full precision.
    Time(DateTime<Utc>),
    Uuid(Uuid),
}

#[derive(Debug, Clone)]
pub struct Sql {
    pub dialect: Dialect,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            binds: Vec::new(),
        }
    }

    /// Adds a bind and returns its placeholder.
    pub fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        self.placeholder(self.binds.len())
    }

    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.bind(Bind::Text(value.into()))
    }

    fn placeholder(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        }
    }
}

/// Milliseconds since the epoch, rounded up: SQLite's form of a bound time.
pub fn millis_up(t: DateTime<Utc>) -> i64 {
    let micros = t.timestamp_micros();
    micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_dialect_and_count_from_one() {
        let mut pg = Sql::new(Dialect::Postgres);
        assert_eq!(pg.text("a"), "$1");
        assert_eq!(pg.bind(Bind::Int(2)), "$2");
        let mut lite = Sql::new(Dialect::Sqlite);
        assert_eq!(lite.text("a"), "?1");
        assert_eq!(lite.binds, vec![Bind::Text("a".into())]);
    }

    #[test]
    fn times_round_up_to_the_millisecond() {
        let t = |us| DateTime::from_timestamp_micros(us).unwrap();
        assert_eq!(millis_up(t(1_000)), 1);
        assert_eq!(millis_up(t(1_001)), 2);
        assert_eq!(millis_up(t(-1_500)), -1);
    }
}
