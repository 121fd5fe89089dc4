//! An endpoint's row on SQLite as it is read back (UUIDs as text, times as Unix milliseconds):
//! its settings and its protection state.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};

use super::super::StoreError;
use super::super::endpoint_state::{
    BreakerRecord, BreakerState, EndpointState, OnFailure, Protection,
};
use super::super::endpoints::{EndpointRow, parse_json};
use super::rows::{time, uuid};

/// Every column [`Row`] reads, in a `SELECT` or a `RETURNING`.
pub const COLUMNS: &str = "id, name, url, event_types, channels, filter, template, headers, \
    secret, enabled, description, max_in_flight, created_at, updated_at, rate_per_sec, burst, \
    ordering_key, on_failure, breaker_state, breaker_since, breaker_until, breaker_reason, \
    breaker_cooldown_ms, paused_until, pause_reason, effective_rate, failing_since, \
    disabled_at, disabled_reason";

#[derive(QueryableByName)]
pub struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Text>)]
    event_types: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    channels: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    filter: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    template: Option<String>,
    #[diesel(sql_type = Text)]
    headers: String,
    #[diesel(sql_type = Nullable<Text>)]
    secret: Option<String>,
    #[diesel(sql_type = Integer)]
    enabled: i32,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Integer)]
    max_in_flight: i32,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
    #[diesel(embed)]
    protection: ProtectionRow,
    #[diesel(embed)]
    state: StateRow,
}

#[derive(QueryableByName)]
struct ProtectionRow {
    #[diesel(sql_type = Nullable<Double>)]
    rate_per_sec: Option<f64>,
    #[diesel(sql_type = Nullable<Integer>)]
    burst: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    ordering_key: Option<String>,
    #[diesel(sql_type = Text)]
    on_failure: String,
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Text)]
    breaker_state: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    breaker_since: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    breaker_until: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    breaker_reason: Option<String>,
    #[diesel(sql_type = BigInt)]
    breaker_cooldown_ms: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    paused_until: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pause_reason: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    effective_rate: Option<f64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    failing_since: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    disabled_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    disabled_reason: Option<String>,
}

impl Row {
    pub fn into_row(self) -> Result<EndpointRow, StoreError> {
        let (p, s) = (self.protection, self.state);
        Ok(EndpointRow {
            id: uuid(&self.id)?,
            name: self.name,
            url: self.url,
            event_types: parse_json(self.event_types.as_deref()),
            channels: parse_json(self.channels.as_deref()),
            filter: parse_json(self.filter.as_deref()),
            template: parse_json(self.template.as_deref()),
            headers: parse_json(Some(&self.headers)).unwrap_or_default(),
            secret: self.secret,
            enabled: self.enabled != 0,
            description: self.description,
            max_in_flight: self.max_in_flight.max(1) as u32,
            protection: Protection {
                rate_per_sec: p.rate_per_sec,
                burst: p.burst.map(|b| b.max(1) as u32),
                ordering_key: p.ordering_key,
                on_failure: OnFailure::parse(&p.on_failure).unwrap_or_default(),
            },
            state: EndpointState {
                breaker: BreakerRecord {
                    state: BreakerState::parse(&s.breaker_state),
                    since: s.breaker_since.map(time),
                    until: s.breaker_until.map(time),
                    reason: s.breaker_reason,
                    cooldown_ms: s.breaker_cooldown_ms,
                },
                paused_until: s.paused_until.map(time),
                pause_reason: s.pause_reason,
                effective_rate: s.effective_rate,
                failing_since: s.failing_since.map(time),
                disabled_at: s.disabled_at.map(time),
                disabled_reason: s.disabled_reason,
            },
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        })
    }
}
