//! In-memory backend: a bounded map with expiry times. The cache when `REDIS_URL` is unset, and
//! in tests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, ready};
use uuid::Uuid;

use super::{CacheError, SentCache, SentEntry};

/// At most `capacity` entries; when full, the oldest entry goes first. Every entry of a process
/// has the same TTL, so insertion order is also expiry order, and both bounds cost O(1).
pub struct MemoryCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Uuid, (SentEntry, Instant)>,
    /// Ids in insertion order, with the expiry they were written with.
    order: VecDeque<(Uuid, Instant)>,
}

impl MemoryCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl SentCache for MemoryCache {
    fn put_sent(
        &self,
        entries: Vec<(Uuid, SentEntry)>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), CacheError>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for (id, entry) in entries {
            inner.map.insert(id, (entry, now + ttl));
            inner.order.push_back((id, now + ttl));
        }
        let Entries { map, order } = &mut *inner;
        while let Some(&(id, expires)) = order.front() {
            if expires > now && map.len() <= self.capacity {
                break;
            }
            order.pop_front();
            // A newer write of the same id keeps its entry.
            if map.get(&id).is_some_and(|(_, e)| *e == expires) {
                map.remove(&id);
            }
        }
        ready(Ok(())).boxed()
    }

    fn get_sent(&self, id: Uuid) -> BoxFuture<'_, Result<Option<SentEntry>, CacheError>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let found = inner
            .map
            .get(&id)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(entry, _)| entry.clone());
        ready(Ok(found)).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        ready(Ok(())).boxed()
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn entries_expire_after_their_ttl() {
        let cache = MemoryCache::default();
        let id = Uuid::new_v4();
        let entry = SentEntry::new(Some("abc".into()), chrono::Utc::now());
        cache
            .put_sent(vec![(id, entry.clone())], Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(cache.get_sent(id).await.unwrap(), Some(entry));
        let deadline = Instant::now() + Duration::from_secs(2);
        while cache.get_sent(id).await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "entry never expired");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[actix_rt::test]
    async fn the_oldest_entries_go_when_full_and_a_rewrite_is_kept() {
        let cache = MemoryCache::new(3);
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let entry = SentEntry::new(None, chrono::Utc::now());
        let ttl = Duration::from_secs(60);
        for id in &ids[..3] {
            cache
                .put_sent(vec![(*id, entry.clone())], ttl)
                .await
                .unwrap();
        }
        // Written again: now the newest, so it outlives ids[1] and ids[2].
        cache
            .put_sent(vec![(ids[0], entry.clone())], ttl)
            .await
            .unwrap();
        cache
            .put_sent(vec![(ids[3], entry.clone()), (ids[4], entry.clone())], ttl)
            .await
            .unwrap();
        assert_eq!(cache.len(), 3);
        for (id, kept) in ids.iter().zip([true, false, false, true, true]) {
            assert_eq!(cache.get_sent(*id).await.unwrap().is_some(), kept);
        }
    }
}
