//! Redis backend over a deadpool-redis pool, with short timeouts so that an unreachable Redis
//! answers with an error quickly instead of stalling the caller.

use std::time::Duration;

use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts, redis};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::{CacheError, SentCache, SentEntry, key};

pub struct RedisCache {
    pool: Pool,
    prefix: String,
}

impl RedisCache {
    /// Builds the pool without connecting: Herald starts even when Redis is down.
    pub fn new(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let mut config = Config::from_url(url);
        let timeout = Some(Duration::from_secs(2));
        config.pool = Some(PoolConfig {
            max_size: 16,
            timeouts: Timeouts {
                wait: timeout,
                create: timeout,
                recycle: timeout,
            },
            ..PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| CacheError(e.to_string()))?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
        })
    }

    async fn conn(&self) -> Result<deadpool_redis::Connection, CacheError> {
        self.pool.get().await.map_err(|e| CacheError(e.to_string()))
    }
}

fn redis_error(e: redis::RedisError) -> CacheError {
    CacheError(e.to_string())
}

impl SentCache for RedisCache {
    fn put_sent(
        &self,
        entries: Vec<(Uuid, SentEntry)>,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), CacheError>> {
        async move {
            let mut pipe = redis::pipe();
            for (id, entry) in &entries {
                let value = serde_json::to_string(entry).map_err(|e| CacheError(e.to_string()))?;
                pipe.cmd("SET")
                    .arg(key(&self.prefix, *id))
                    .arg(value)
                    .arg("PX")
                    .arg(ttl.as_millis().max(1) as u64)
                    .ignore();
            }
            let mut conn = self.conn().await?;
            pipe.query_async::<()>(&mut conn).await.map_err(redis_error)
        }
        .boxed()
    }

    fn get_sent(&self, id: Uuid) -> BoxFuture<'_, Result<Option<SentEntry>, CacheError>> {
        async move {
            let mut conn = self.conn().await?;
            let raw: Option<String> = redis::cmd("GET")
                .arg(key(&self.prefix, id))
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            raw.map(|r| serde_json::from_str(&r).map_err(|e| CacheError(e.to_string())))
                .transpose()
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), CacheError>> {
        async move {
            let mut conn = self.conn().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(|_| ())
                .map_err(redis_error)
        }
        .boxed()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
