//! Reading a search from a query string (`GET /events`, `GET /events/count`, and later
//! replays): every parameter is parsed at the edge into [`Search`] and a [`PageRequest`], and
//! anything unknown, repeated or malformed is refused with a 400 that names it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::endpoints::current;
use super::error::ApiError;
use super::state::AppState;
use crate::db::search::{Cursor, DeliveryState, PageRequest, Search, Start, check_filter};
use crate::domain::{EventStatus, EventType};
use crate::routing::Filter;

/// The parameters that select events (both routes); `GET /events` also pages.
const SELECT: [&str; 7] = [
    "type",
    "status",
    "from",
    "to",
    "filter",
    "endpoint",
    "delivery_status",
];
const PAGE: [&str; 3] = ["limit", "offset", "cursor"];
pub const MAX_LIMIT: u64 = 100;

/// The query's pairs, checked against the names a route takes; only `type` may repeat.
struct Params<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Params<'a> {
    fn new(pairs: &'a [(String, String)], paged: bool) -> Result<Self, ApiError> {
        let known: Vec<&str> = SELECT
            .iter()
            .chain(if paged { &PAGE[..] } else { &[] })
            .copied()
            .collect();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{name}'; expected {}",
                    known.join(", ")
                )));
            }
            if name != "type" && pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::BadRequest(format!("'{name}' is given twice")));
            }
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The search a query string names; its endpoint is looked up (404 when there is none).
pub async fn search(
    state: &AppState,
    pairs: &[(String, String)],
    paged: bool,
) -> Result<(Search, Option<PageRequest>), ApiError> {
    let params = Params::new(pairs, paged)?;
    let from = instant(&params, "from")?;
    let to = instant(&params, "to")?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::BadRequest(format!(
            "from ({}) is after to ({})",
            from.to_rfc3339(),
            to.to_rfc3339()
        )));
    }
    let types = pairs
        .iter()
        .filter(|(n, _)| n == "type")
        .map(|(_, t)| {
            EventType::parse(t)
                .map(EventType::into_string)
                .map_err(|e| ApiError::BadRequest(e.0))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let status = params
        .get("status")
        .filter(|s| *s != "all")
        .map(str::parse::<EventStatus>)
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("status: {}", e.0)))?;
    let filter = params.get("filter").map(parse_filter).transpose()?;
    let delivery = params
        .get("delivery_status")
        .map(|s| {
            DeliveryState::parse(s).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "delivery_status must be one of {}, not '{s}'",
                    DeliveryState::NAMES
                ))
            })
        })
        .transpose()?;
    let endpoint = match (params.get("endpoint"), delivery) {
        (None, Some(_)) => {
            return Err(ApiError::BadRequest(
                "delivery_status needs an endpoint (its name or id)".into(),
            ));
        }
        (None, None) => None,
        (Some(raw), state_of) => Some((
            current(state, raw).await?.id,
            state_of.unwrap_or(DeliveryState::Any),
        )),
    };
    let search = Search {
        from,
        to,
        types,
        status,
        filter,
        endpoint,
    };
    let page = paged.then(|| page(&params, &search)).transpose()?;
    Ok((search, page))
}

fn instant(params: &Params<'_>, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{name} must be an RFC 3339 time such as 2026-12-01T09:00:00Z, not '{raw}'"
                    ))
                })
        })
        .transpose()
}

/// A filter in the routing language that SQL can evaluate.
pub fn parse_filter(raw: &str) -> Result<Filter, ApiError> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("filter is not JSON: {e}")))?;
    let filter = Filter::parse(&value).map_err(|e| ApiError::BadRequest(format!("filter: {e}")))?;
    check_filter(&filter).map_err(|e| ApiError::BadRequest(format!("filter: {e}")))?;
    Ok(filter)
}

fn page(params: &Params<'_>, search: &Search) -> Result<PageRequest, ApiError> {
    let number = |name: &str, default: u64, min: u64, max: u64| match params.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(if max == MAX_LIMIT {
                    format!("{name} must be a whole number from {min} to {max}")
                } else {
                    format!("{name} must be a whole number 0 or more")
                })
            }),
    };
    let limit = number("limit", 20, 1, MAX_LIMIT)? as u32;
    let start = match (params.get("cursor"), params.get("offset")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give cursor or offset, not both".into(),
            ));
        }
        (Some(token), None) => Start::After(
            Cursor::decode(token, search.order())
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
        (None, _) => Start::Offset(number("offset", 0, 0, i64::MAX as u64)?),
    };
    Ok(PageRequest { limit, start })
}
