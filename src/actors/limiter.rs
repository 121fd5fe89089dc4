//! Where an endpoint's rate limit is kept: in process (SQLite, or one instance), in Redis when
//! `REDIS_URL` is set (shared by every instance), or else on the endpoint's row in PostgreSQL
//! (shared too). All three run the same GCRA with reservations ([`crate::protect::Gcra`]).
//! When the shared limiter cannot be reached, the delivery is limited in process instead, and
//! the failure is logged once and counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use deadpool_redis::{Pool, redis};
use uuid::Uuid;

use crate::db::{Op, Store};
use crate::monitor::Monitor;
use crate::protect::{Decision, Gcra, Rate};

/// Takes the next slot if it is free by `now + horizon`; returns `{went, wait_us}`. Redis's own
/// clock is used, so that every instance agrees.
const RESERVE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local at = tat - tolerance
if at < now then at = now end
if at > now + horizon then return {0, at - now} end
local next = tat + interval
redis.call('SET', KEYS[1], next, 'PX', math.floor((next - now) / 1000) + 1000)
return {1, at - now}
";

pub enum Shared {
    /// One process: nothing to share.
    None,
    /// The endpoint's row in PostgreSQL.
    Store(Store),
    Redis {
        pool: Pool,
        prefix: String,
    },
}

pub struct Limiter {
    shared: Shared,
    local: Mutex<HashMap<Uuid, Gcra>>,
    /// The shared limiter failed last time (so that a failure is logged once per outage).
    failing: AtomicBool,
}

impl Limiter {
    pub fn new(shared: Shared) -> Self {
        Self {
            shared,
            local: Mutex::default(),
            failing: AtomicBool::new(false),
        }
    }

    /// Which limiter this instance uses, as `/health` names it.
    pub fn kind(&self) -> &'static str {
        match self.shared {
            Shared::None => "in_process",
            Shared::Store(_) => "postgres",
            Shared::Redis { .. } => "redis",
        }
    }

    /// Reserves the endpoint's next slot at `rate` if it comes within `horizon`.
    pub async fn reserve(
        &self,
        monitor: &Monitor,
        endpoint: Uuid,
        rate: Rate,
        horizon: Duration,
    ) -> Decision {
        let shared = match &self.shared {
            Shared::None => None,
            Shared::Store(store) => Some(
                store
                    .run(Op::Change, move |s| s.reserve_rate(endpoint, rate, horizon))
                    .await
                    .map_err(|e| crate::monitor::chain(&e))
                    .and_then(|d| d.ok_or_else(|| "the store shares no limiter".to_owned())),
            ),
            Shared::Redis { pool, prefix } => {
                Some(redis_reserve(pool, prefix, endpoint, rate, horizon).await)
            }
        };
        match shared {
            Some(Ok(decision)) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        limiter = self.kind(),
                        "the shared rate limiter answers again"
                    );
                }
                decision
            }
            Some(Err(cause)) => {
                monitor.metrics.limiter_errors.inc();
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(limiter = self.kind(), error = %cause,
                        "the shared rate limiter failed; limiting in process until it answers");
                }
                self.in_process(endpoint, rate, horizon)
            }
            None => self.in_process(endpoint, rate, horizon),
        }
    }

    /// Whether the shared limiter failed at its last use.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    fn in_process(&self, endpoint: Uuid, rate: Rate, horizon: Duration) -> Decision {
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local
            .entry(endpoint)
            .or_default()
            .reserve(rate, Utc::now(), horizon)
    }
}

async fn redis_reserve(
    pool: &Pool,
    prefix: &str,
    endpoint: Uuid,
    rate: Rate,
    horizon: Duration,
) -> Result<Decision, String> {
    let us = |d: Duration| d.as_micros().min(i64::MAX as u128) as i64;
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    // EVAL: Redis keeps the compiled script by its hash, so each call costs its text only.
    let (went, wait_us): (i64, i64) = redis::cmd("EVAL")
        .arg(RESERVE_LUA)
        .arg(1)
        .arg(format!("{prefix}herald:rate:{endpoint}"))
        .arg(us(rate.interval()))
        .arg(us(rate.tolerance()))
        .arg(us(horizon))
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let at = Utc::now() + chrono::Duration::microseconds(wait_us.max(0));
    Ok(if went == 1 {
        Decision::Go { at }
    } else {
        Decision::Wait { until: at }
    })
}

/// The guard this instance protects endpoints with: its limiter is shared through Redis when
/// `REDIS_URL` is set, else through PostgreSQL, and in process on SQLite.
pub fn protection(
    settings: &crate::config::Settings,
    store: &Store,
    endpoints: &crate::routing::Endpoints,
    monitor: &std::sync::Arc<Monitor>,
    wake: &super::continuous::Wake,
) -> anyhow::Result<super::guard::Guard> {
    let shared = match (&settings.cache.url, store.backend()) {
        (_, "sqlite") => Shared::None,
        (Some(url), _) => {
            let mut config = deadpool_redis::Config::from_url(url.expose());
            let timeout = Some(Duration::from_secs(2));
            config.pool = Some(deadpool_redis::PoolConfig {
                max_size: 8,
                timeouts: deadpool_redis::Timeouts {
                    wait: timeout,
                    create: timeout,
                    recycle: timeout,
                },
                ..Default::default()
            });
            let pool = config.create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
            Shared::Redis {
                pool,
                prefix: settings.cache.prefix.clone(),
            }
        }
        (None, _) => Shared::Store(store.clone()),
    };
    let p = &settings.protect;
    let rules = super::guard::Rules {
        breaker: crate::protect::BreakerRules::default(),
        adaptive: crate::protect::AdaptiveRules::default(),
        disable_after: p.disable_after,
        disable_min_gap: p.disable_min_gap,
    };
    let ops = p.ops_endpoint.clone().map(|name| (name, wake.clone()));
    Ok(super::guard::Guard::new(
        store.clone(),
        endpoints.clone(),
        std::sync::Arc::clone(monitor),
        Limiter::new(shared),
        rules,
        ops,
    ))
}
