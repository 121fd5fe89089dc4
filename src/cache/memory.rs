//! In-memory backend: a map with expiry times. For tests and the single-binary embedded mode.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, ready};
use uuid::Uuid;

use super::{CacheError, SentCache, SentEntry};

#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<Uuid, (SentEntry, Instant)>>,
}

impl SentCache for MemoryCache {
    fn put_sent(
        &self,
        entries: Vec<(Uuid, SentEntry)>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), CacheError>> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, (_, expires)| *expires > now);
        for (id, entry) in entries {
            map.insert(id, (entry, now + ttl));
        }
        ready(Ok(())).boxed()
    }

    fn get_sent(&self, id: Uuid) -> BoxFuture<'_, Result<Option<SentEntry>, CacheError>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let found = map
            .get(&id)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(entry, _)| entry.clone());
        ready(Ok(found)).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        ready(Ok(())).boxed()
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
}
