//! [`Live`]: what this instance's source readers are doing now (reading, or failing and why,
//! and the lag they last saw), kept in memory for the views, `/health` and `/metrics`. The
//! counts are the store's; this is only what a reader knows of its broker.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One reader's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `None` while reading; the cause while the broker fails.
    pub error: Option<String>,
    /// Entries in the broker not yet delivered to the group, as the broker last said.
    pub lag: Option<u64>,
    /// When the state last changed.
    pub since: DateTime<Utc>,
}

/// The readers of this instance, by source id.
#[derive(Debug, Default)]
pub struct Live {
    status: Mutex<HashMap<Uuid, Status>>,
    /// Readers that read (not only watch) each source now.
    reading: Mutex<HashMap<Uuid, usize>>,
}

impl Live {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Uuid, Status>) -> T) -> T {
        f(&mut self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// A reader of `id` starts (`true`) or stops (`false`) reading.
    pub fn reading(&self, id: Uuid, started: bool) {
        let mut m = self
            .reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = m.entry(id).or_default();
        *n = if started { *n + 1 } else { n.saturating_sub(1) };
        if *n == 0 {
            m.remove(&id);
        }
    }

    /// Whether a reader of this instance reads `id` now.
    pub fn is_reading(&self, id: Uuid) -> bool {
        self.reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&id)
    }

    /// The reader of `id` reads; whether it was failing until now.
    pub fn running(&self, id: Uuid) -> bool {
        self.with(|m| {
            let status = m.entry(id).or_insert_with(|| Status {
                error: None,
                lag: None,
                since: Utc::now(),
            });
            let recovered = status.error.take().is_some();
            if recovered {
                status.since = Utc::now();
            }
            recovered
        })
    }

    /// The reader of `id` fails with `error`; whether this is a new outage (it was reading, or
    /// had not started), which is the one to log.
    pub fn failing(&self, id: Uuid, error: String) -> bool {
        self.with(|m| match m.get_mut(&id) {
            Some(status) if status.error.is_some() => {
                status.error = Some(error);
                false
            }
            _ => {
                m.insert(
                    id,
                    Status {
                        error: Some(error),
                        lag: None,
                        since: Utc::now(),
                    },
                );
                true
            }
        })
    }

    pub fn lag(&self, id: Uuid, lag: Option<u64>) {
        self.with(|m| {
            if let Some(status) = m.get_mut(&id) {
                status.lag = lag;
            }
        });
    }

    /// The reader of `id` stopped (paused, changed or deleted).
    pub fn remove(&self, id: Uuid) {
        self.with(|m| m.remove(&id));
    }

    pub fn get(&self, id: Uuid) -> Option<Status> {
        self.with(|m| m.get(&id).cloned())
    }

    /// Sources whose reader fails now, with the cause.
    pub fn failures(&self) -> Vec<(Uuid, String)> {
        self.with(|m| {
            m.iter()
                .filter_map(|(id, s)| s.error.clone().map(|e| (*id, e)))
                .collect()
        })
    }
}

/// A source's state as the API shows it: `paused` when disabled; else what its reader here
/// says (`running` or `failing`), or `starting` before it has connected.
pub fn state_of(enabled: bool, status: Option<&Status>) -> &'static str {
    match (enabled, status) {
        (false, _) => "paused",
        (true, None) => "starting",
        (true, Some(s)) if s.error.is_some() => "failing",
        (true, Some(_)) => "running",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_new_once_and_recovery_is_reported_once() {
        let live = Live::default();
        let id = Uuid::new_v4();
        assert_eq!(state_of(true, live.get(id).as_ref()), "starting");
        assert!(live.failing(id, "refused".into()));
        assert!(!live.failing(id, "refused again".into()));
        assert_eq!(state_of(true, live.get(id).as_ref()), "failing");
        assert_eq!(live.failures(), vec![(id, "refused again".to_owned())]);
        assert!(live.running(id));
        assert!(!live.running(id));
        assert_eq!(state_of(true, live.get(id).as_ref()), "running");
        assert_eq!(state_of(false, live.get(id).as_ref()), "paused");
        live.lag(id, Some(7));
        assert_eq!(live.get(id).unwrap().lag, Some(7));
        live.remove(id);
        assert!(live.get(id).is_none());
        live.reading(id, true);
        live.reading(id, true);
        live.reading(id, false);
        assert!(live.is_reading(id));
        live.reading(id, false);
        assert!(!live.is_reading(id));
    }
}
