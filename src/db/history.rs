//! The delivery history's shape, shared by both stores: attempts per time bucket, and the
//! bucketing for a store that cannot aggregate percentiles in SQL.

/// Delivery attempts whose start falls in one bucket of a history window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryBucket {
    /// The bucket's place from the window's start (0 for the first).
    pub index: i64,
    pub succeeded: i64,
    /// Attempts that failed in a retryable way and were retried.
    pub retried: i64,
    /// Attempts that ended their message `failed`: a permanent error, or the last retryable one.
    pub failed: i64,
    /// Attempt durations (request to response), interpolated percentiles.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// What an attempt in the history counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClass {
    Succeeded,
    Retried,
    Failed,
}

/// Buckets `(start offset in ms, class, duration in ms)` samples, for stores that cannot
/// aggregate in SQL; percentiles interpolate between ranks as PostgreSQL's `percentile_cont`.
pub fn bucketize(samples: &[(i64, AttemptClass, i32)], bucket_ms: i64) -> Vec<HistoryBucket> {
    let mut by_index: std::collections::BTreeMap<i64, (HistoryBucket, Vec<f64>)> =
        Default::default();
    for &(offset, class, duration) in samples {
        let index = offset.div_euclid(bucket_ms.max(1));
        let (bucket, durations) = by_index.entry(index).or_default();
        bucket.index = index;
        *match class {
            AttemptClass::Succeeded => &mut bucket.succeeded,
            AttemptClass::Retried => &mut bucket.retried,
            AttemptClass::Failed => &mut bucket.failed,
        } += 1;
        durations.push(f64::from(duration));
    }
    by_index
        .into_values()
        .map(|(mut bucket, mut durations)| {
            durations.sort_by(f64::total_cmp);
            bucket.p50_ms = percentile(&durations, 0.5);
            bucket.p99_ms = percentile(&durations, 0.99);
            bucket
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fall_in_their_buckets_with_interpolated_percentiles() {
        use AttemptClass::*;
        let samples = [
            (0, Succeeded, 10),
            (999, Succeeded, 20),
            (1000, Retried, 5),
            (3500, Failed, 7),
            (3600, Succeeded, 9),
        ];
        let buckets = bucketize(&samples, 1000);
        let summary: Vec<_> = buckets
            .iter()
            .map(|b| (b.index, b.succeeded, b.retried, b.failed))
            .collect();
        assert_eq!(summary, vec![(0, 2, 0, 0), (1, 0, 1, 0), (3, 1, 0, 1)]);
        assert_eq!(buckets[0].p50_ms, Some(15.0));
        assert!((buckets[0].p99_ms.unwrap() - 19.9).abs() < 1e-9);
        assert_eq!(buckets[1].p99_ms, Some(5.0));
        assert!(bucketize(&[], 1000).is_empty());
    }
}
