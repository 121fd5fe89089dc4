//! `GET /stats/history`: delivery attempts per time bucket over a recent window, from the
//! attempts table, so every instance shows the same picture. The dashboard's chart reads it.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::responses::{Unauthorized, Unavailable};
use super::state::AppState;
use crate::config::parse_duration;
use crate::db::{HistoryBucket, Op};

const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);
const MIN_BUCKET: Duration = Duration::from_secs(1);
const MAX_BUCKETS: u128 = 1000;

/// Query parameters of `GET /stats/history` (documented; parsed by hand for precise errors).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct HistoryParams {
    /// How far back: a duration up to 24h, such as `15m` or `1h`.
    #[param(
        default = "15m",
        example = "15m",
        pattern = r"^0*[1-9][0-9]*(ms|s|m|h)$"
    )]
    window: Option<String>,
    /// The width of a bucket: at least `1s`, and at most 1,000 buckets in the window.
    #[param(
        default = "10s",
        example = "10s",
        pattern = r"^(0*[1-9][0-9]*(s|m|h)|0*[1-9][0-9]{3,}ms)$"
    )]
    bucket: Option<String>,
}

/// The window and its buckets, oldest first; every bucket is listed, empty ones with zeros.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub window_seconds: f64,
    pub bucket_seconds: f64,
    /// The first bucket's start: a multiple of the bucket width, so buckets stay put between
    /// refreshes.
    pub from: DateTime<Utc>,
    /// The database's "now", inside the last bucket.
    pub to: DateTime<Utc>,
    pub buckets: Vec<HistoryPoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub start: DateTime<Utc>,
    /// Attempts that delivered the message.
    pub succeeded: i64,
    /// Attempts that failed in a retryable way and were retried.
    pub retried: i64,
    /// Attempts that ended their message `failed` (a permanent error, or the last retry).
    pub failed: i64,
    /// Median attempt duration (request to response) in the bucket, in milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile attempt duration in the bucket, in milliseconds.
    pub p99_ms: Option<f64>,
}

fn duration(
    query: &HashMap<String, String>,
    name: &str,
    default: &str,
) -> Result<Duration, ApiError> {
    let raw = query.get(name).map(String::as_str).unwrap_or(default);
    parse_duration(raw).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{name} must be a duration such as 10s, 15m or 1h, not '{raw}'"
        ))
    })
}

/// `(window, bucket, number of buckets)`, or why not.
pub fn parse(query: &HashMap<String, String>) -> Result<(Duration, Duration, u32), ApiError> {
    let window = duration(query, "window", "15m")?;
    let bucket = duration(query, "bucket", "10s")?;
    if window > MAX_WINDOW {
        return Err(ApiError::BadRequest("window must be at most 24h".into()));
    }
    if bucket < MIN_BUCKET {
        return Err(ApiError::BadRequest("bucket must be at least 1s".into()));
    }
    let count = window.as_millis().div_ceil(bucket.as_millis());
    if count > MAX_BUCKETS {
        return Err(ApiError::BadRequest(format!(
            "window / bucket must be at most {MAX_BUCKETS} buckets, not {count}"
        )));
    }
    Ok((window, bucket, count.max(1) as u32))
}

/// Attempts per bucket over the window: succeeded, retried and failed, with p50/p99 duration.
#[utoipa::path(
    get, path = "/stats/history", tag = "operations", operation_id = "statsHistory",
    params(HistoryParams),
    responses(
        (status = 200, body = History, description = "Every bucket of the window, oldest first",
         example = json!({"window_seconds": 30.0, "bucket_seconds": 10.0,
                          "from": "2026-11-22T10:00:00Z", "to": "2026-11-22T10:00:25Z",
                          "buckets": [
                            {"start": "2026-11-22T10:00:00Z", "succeeded": 12, "retried": 1, "failed": 0, "p50_ms": 8.0, "p99_ms": 41.5},
                            {"start": "2026-11-22T10:00:10Z", "succeeded": 0, "retried": 0, "failed": 0, "p50_ms": null, "p99_ms": null},
                            {"start": "2026-11-22T10:00:20Z", "succeeded": 3, "retried": 0, "failed": 1, "p50_ms": 7.0, "p99_ms": 9.9}]})),
        (status = 400, body = ErrorBody, description = "window or bucket is malformed or out of range",
         example = json!({"error": "bucket must be at least 1s", "status": "error"})),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    )
)]
pub async fn history(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (window, bucket, count) = parse(&query)?;
    let (now, from, buckets) = state
        .store
        .run(Op::Counts, move |s| {
            let now = s.now()?;
            let from = bucket_start(now, bucket)
                - chrono::Duration::from_std(bucket * (count - 1)).unwrap_or_default();
            Ok((now, from, s.history(from, bucket)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(History {
        window_seconds: window.as_secs_f64(),
        bucket_seconds: bucket.as_secs_f64(),
        from,
        to: now,
        buckets: fill(from, bucket, count, buckets),
    }))
}

/// The start of the bucket holding `t`: a multiple of the width since the Unix epoch.
fn bucket_start(t: DateTime<Utc>, bucket: Duration) -> DateTime<Utc> {
    let width = bucket.as_millis() as i64;
    let ms = t.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(width)).unwrap_or(t)
}

fn fill(
    from: DateTime<Utc>,
    bucket: Duration,
    count: u32,
    found: Vec<HistoryBucket>,
) -> Vec<HistoryPoint> {
    let mut found: HashMap<i64, HistoryBucket> = found.into_iter().map(|b| (b.index, b)).collect();
    (0..i64::from(count))
        .map(|i| {
            let b = found.remove(&i).unwrap_or_default();
            HistoryPoint {
                start: from + chrono::Duration::milliseconds(i * bucket.as_millis() as i64),
                succeeded: b.succeeded,
                retried: b.retried,
                failed: b.failed,
                p50_ms: b.p50_ms,
                p99_ms: b.p99_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn windows_and_buckets_are_bounded() {
        assert_eq!(
            parse(&query(&[])).unwrap(),
            (Duration::from_secs(900), Duration::from_secs(10), 90)
        );
        assert_eq!(
            parse(&query(&[("window", "24h"), ("bucket", "90s")]))
                .unwrap()
                .2,
            960
        );
        for (pairs, says) in [
            (vec![("window", "25h")], "at most 24h"),
            (vec![("bucket", "500ms")], "at least 1s"),
            (
                vec![("window", "2h"), ("bucket", "1s")],
                "at most 1000 buckets",
            ),
            (vec![("window", "soon")], "window must be a duration"),
            (vec![("bucket", "-1s")], "bucket must be a duration"),
        ] {
            let err = parse(&query(&pairs)).unwrap_err().to_string();
            assert!(err.contains(says), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn buckets_start_on_multiples_of_their_width() {
        let t = DateTime::from_timestamp_millis(1_000_012_345).unwrap();
        let start = bucket_start(t, Duration::from_secs(10));
        assert_eq!(start.timestamp_millis(), 1_000_010_000);
    }
}
