//! `Application`: builds the store, cache, webhook client, actors and HTTP server from
//! `Settings`, and owns the shutdown order. Tests build it on port 0 and drive it through
//! [`Handles`].

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, web};
use anyhow::Context as _;
use tokio::sync::Notify;

use crate::actors::continuous::Wake;
use crate::actors::{
    CacheWriter, Continuous, Drain, HandOffs, Producer, Scheduler, Sender, StopClaiming,
    StopProducing,
};
use crate::cache::{MemoryCache, RedisCache, SentCache};
use crate::config::{DispatchMode, Settings};
use crate::db::Store;
use crate::http::{self, AppState};
use crate::monitor::Monitor;
use crate::routing::{self, Endpoints};
use crate::webhook::{NetworkGuard, WebhookClient};

pub struct Application {
    port: u16,
    server: Server,
    handles: Handles,
    /// The built-in receiver, when `WEBHOOK_URL` is unset; stopped after the drain.
    sink: Option<Server>,
}

/// Everything a test (or the shutdown path) needs to reach inside a running application.
#[derive(Clone)]
pub struct Handles {
    pub store: Store,
    pub cache: Arc<dyn SentCache>,
    pub monitor: Arc<Monitor>,
    pub scheduler: Addr<Scheduler>,
    pub sender: Addr<Sender>,
    pub producer: Option<Addr<Producer>>,
    /// Wakes the dispatchers after writing work outside the API (tests, tools).
    pub wake: Wake,
    /// The cached endpoint table.
    pub endpoints: Endpoints,
    server: ServerHandle,
    grace: Duration,
    stop: Arc<Notify>,
    replay_stop: Arc<crate::monitor::Stop>,
}

/// What shutdown did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every delivery in flight finished within `SHUTDOWN_GRACE`.
    pub drained: bool,
}

impl Application {
    /// Opens the store `DATABASE_URL` names and runs its migrations, picks the cache, binds the
    /// listener, starts the actors and the HTTP server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (store, _) = crate::db::open(&settings.database).await?;
        let cache: Arc<dyn SentCache> = match &settings.cache.url {
            Some(url) => Arc::new(
                RedisCache::new(url.expose(), &settings.cache.prefix)
                    .context("invalid REDIS_URL")?,
            ),
            None => Arc::new(MemoryCache::new(settings.cache.memory_entries)),
        };
        tracing::info!(
            database = store.backend(),
            cache = cache.backend(),
            "store and cache chosen (DATABASE_URL, REDIS_URL)"
        );
        Self::build_with(settings, store, cache).await
    }

    /// Builds on a given store and cache (the embedded mode and tests pass their own).
    pub async fn build_with(
        settings: Settings,
        store: Store,
        cache: Arc<dyn SentCache>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen_addr).with_context(|| {
            format!("could not listen on {} (LISTEN_ADDR)", settings.listen_addr)
        })?;
        let port = listener.local_addr()?.port();
        let mut settings = settings;
        let sink = match &settings.webhook.url {
            // WEBHOOK_URL=none: no default endpoint, so no built-in receiver either.
            _ if !settings.webhook.default_endpoint => None,
            Some(_) => None,
            None => {
                let (server, url) = crate::sink::start_builtin(settings.webhook.sink_addr)?;
                settings.webhook.url = Some(url);
                Some(server)
            }
        };
        let guard = Arc::new(NetworkGuard::new(settings.webhook.allowed_networks.clone()));
        let client = WebhookClient::new(settings.webhook.clone(), Arc::clone(&guard))
            .context("could not build the HTTP client")?;
        // A working dispatcher claims within an interval and finishes a delivery within the
        // longest attempt; twice the interval plus that is a fair wait before saying stalled.
        let stall_window = settings.scheduler.interval * 2 + client.max_attempt_duration();
        let monitor = Arc::new(Monitor::new(stall_window));
        let store = store.observed_by(Arc::clone(&monitor) as Arc<dyn crate::db::StoreObserver>);
        let endpoints = Endpoints::default();
        routing::write_default(&store, &settings.webhook)
            .await
            .context("could not write the endpoint default (WEBHOOK_URL)")?;
        routing::reload(&store, &endpoints)
            .await
            .context("could not read the endpoints")?;

        let cache_writer =
            CacheWriter::new(Arc::clone(&cache), settings.cache.ttl, Arc::clone(&monitor)).start();
        let local_wake = Arc::new(tokio::sync::Notify::new());
        let worker = worker_id();
        let wake = Wake::start(store.clone(), Arc::clone(&local_wake), worker.clone());
        let protection =
            crate::actors::limiter::protection(&settings, &store, &endpoints, &monitor, &wake)?;
        let sender = Sender::new(
            client,
            store.clone(),
            endpoints.clone(),
            cache_writer.recipient(),
            Arc::clone(&monitor),
            settings.retry.clone(),
            protection.clone(),
            &settings.webhook,
            settings.scheduler.rate,
        );
        let slots = sender.slots();
        let isolation = crate::actors::isolation::Isolation {
            endpoints: endpoints.clone(),
            in_flight: sender.in_flight(),
        };
        let sender = sender.start();
        let continuous_mode = settings.scheduler.mode == DispatchMode::Continuous;
        let hand_offs = continuous_mode.then(|| {
            Arc::new(HandOffs {
                slots: Arc::clone(&slots),
                in_flight: Arc::clone(&isolation.in_flight),
                endpoints: endpoints.clone(),
                sender: sender.clone().recipient(),
                worker: worker.clone(),
                lease: settings.scheduler.lease,
                counter: monitor.metrics.handed_off.clone(),
                wake: Arc::clone(&local_wake),
            })
        });
        let continuous = continuous_mode.then(|| Continuous {
            sender: sender.clone().recipient(),
            slots,
            wake: local_wake,
        });
        let scheduler = Scheduler::new(
            store.clone(),
            isolation,
            sender.clone().recipient(),
            Arc::clone(&monitor),
            &settings.scheduler,
            worker,
            continuous,
        )
        .start();
        let producer = settings.producer.enabled.then(|| {
            Producer::new(
                store.clone(),
                endpoints.clone(),
                wake.clone(),
                Arc::clone(&monitor),
                settings.producer.clone(),
                settings.content_max_chars,
            )
            .start()
        });

        let replay_bell = Arc::new(Notify::new());
        let replay_stop = Arc::new(crate::monitor::Stop::default());
        crate::replay::Replayer {
            store: store.clone(),
            endpoints: endpoints.clone(),
            wake: wake.clone(),
            worker: worker_id(),
            lease: settings.scheduler.lease,
            monitor: Arc::clone(&monitor),
            bell: Arc::clone(&replay_bell),
            stop: Arc::clone(&replay_stop),
        }
        .spawn();
        if let Some(keep) = settings.retention.keep {
            crate::retention::Pruner {
                store: store.clone(),
                keep,
                every: settings.retention.every,
                monitor: Arc::clone(&monitor),
                stop: Arc::clone(&replay_stop),
            }
            .spawn();
        }
        let sources = Arc::new(crate::sources::Live::default());
        let source_bell = Arc::new(Notify::new());
        crate::sources::Supervisor {
            runner: crate::sources::Runner {
                store: store.clone(),
                endpoints: endpoints.clone(),
                wake: wake.clone(),
                live: Arc::clone(&sources),
                settings: settings.sources,
                metrics: monitor.metrics.sources.clone(),
                consumer: worker_id(),
                behind: Arc::default(),
            },
            stop: Arc::clone(&replay_stop),
            bell: Arc::clone(&source_bell),
        }
        .spawn();
        let state = web::Data::new(AppState {
            store: store.clone(),
            endpoints: endpoints.clone(),
            guard,
            protection,
            cache: Arc::clone(&cache),
            monitor: Arc::clone(&monitor),
            content_max_chars: settings.content_max_chars,
            api_token: settings.api_token.clone(),
            started_at: chrono::Utc::now(),
            wake: wake.clone(),
            dispatch: http::state::DispatchSettingsView::of(&settings),
            hand_offs,
            replay_bell,
            sources,
            source_bell,
            retention: settings.retention.keep,
        });
        let token_required = settings.api_token.is_some();
        let server = http::wire::serve(
            listener,
            move || {
                App::new()
                    .app_data(state.clone())
                    .configure(|cfg| http::configure(cfg, token_required))
            },
            settings.shutdown_grace,
        )?;
        tracing::info!(port, "herald listening");
        let handles = Handles {
            store,
            cache,
            monitor,
            scheduler,
            sender,
            producer,
            wake,
            endpoints,
            server: server.handle(),
            grace: settings.shutdown_grace,
            stop: Arc::new(Notify::new()),
            replay_stop,
        };
        Ok(Self {
            port,
            server,
            handles,
            sink,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handles(&self) -> Handles {
        self.handles.clone()
    }

    /// Serves until SIGTERM, SIGINT or [`Handles::request_shutdown`], then shuts down in order.
    pub async fn run_until_stopped(self) -> anyhow::Result<ShutdownReport> {
        let server = actix_rt::spawn(self.server);
        let sink = self.sink.map(|sink| {
            let handle = sink.handle();
            actix_rt::spawn(sink);
            handle
        });
        tokio::select! {
            signal = wait_for_signal() => tracing::info!(signal, "shutdown requested"),
            _ = self.handles.stop.notified() => tracing::info!("shutdown requested"),
        }
        let report = self.handles.shutdown().await;
        if let Some(sink) = sink {
            sink.stop(true).await;
        }
        server.await??;
        Ok(report)
    }
}

impl Handles {
    pub fn request_shutdown(&self) {
        self.stop.notify_one();
    }

    /// On the signal, at once: no delivery starts any more (claims not started are handed back)
    /// and claiming stops. Then open HTTP requests and deliveries in flight finish together,
    /// within one `SHUTDOWN_GRACE` deadline; HTTP connections still open then are closed.
    async fn shutdown(&self) -> ShutdownReport {
        let deadline = tokio::time::Instant::now() + self.grace;
        // Draining first makes the tick in progress hand back what it has not started.
        let drain = self.sender.send(Drain { deadline });
        let stop = tokio::time::timeout_at(deadline, self.scheduler.send(StopClaiming));
        if let Some(producer) = &self.producer {
            producer.do_send(StopProducing);
        }
        // A replay or a retention batch is one transaction, and a source's batch is acknowledged
        // only after its commit: stopping between two loses nothing.
        self.replay_stop.stop();
        let http = async {
            if tokio::time::timeout_at(deadline, self.server.stop(true))
                .await
                .is_err()
            {
                self.server.stop(false).await;
            }
        };
        let (drained, _, ()) = tokio::join!(drain, stop, http);
        let drained = drained.unwrap_or(false);
        // Outcomes of finished deliveries are written by now (the drain waits for them).
        self.store.close().await;
        if drained {
            tracing::info!("shutdown complete: every delivery finished");
        } else {
            tracing::warn!(
                "shutdown grace ran out; unfinished claims return to the queue when their lease expires"
            );
        }
        ShutdownReport { drained }
    }
}

/// `host-pid-random`, stored as `claimed_by` to tell instances apart.
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "herald".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &nonce[..8])
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        _ => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
