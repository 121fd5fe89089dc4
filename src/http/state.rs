//! What every handler can reach: the store, the cache, the monitor and a few settings.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actors::HandOffs;
use crate::actors::continuous::Wake;
use crate::cache::SentCache;
use crate::config::Secret;
use crate::db::{Inserted, NewEvent, Op, Store, StoreError};
use crate::domain::MessageStatus;
use crate::monitor::Monitor;
use crate::routing::Endpoints;
use crate::webhook::NetworkGuard;

pub struct AppState {
    pub store: Store,
    /// The cached endpoint table: routes events.
    pub endpoints: Endpoints,
    /// Checks endpoint URLs (`ENDPOINT_ALLOWED_NETWORKS`).
    pub guard: Arc<NetworkGuard>,
    /// Protects each endpoint's receiver (its limiter, for `/health`).
    pub protection: crate::actors::guard::Guard,
    pub cache: Arc<dyn SentCache>,
    pub monitor: Arc<Monitor>,
    pub content_max_chars: usize,
    pub api_token: Option<Secret<String>>,
    pub started_at: DateTime<Utc>,
    /// Wakes the dispatchers when the API makes work due.
    pub wake: Wake,
    /// How this instance dispatches, as `/stats` shows it.
    pub dispatch: DispatchSettingsView,
    /// Continuous dispatch: a created event's deliveries go straight to the sender.
    pub hand_offs: Option<Arc<HandOffs>>,
    /// Rung when a replay job is made or resumed, so that this instance's replayer starts it.
    pub replay_bell: Arc<tokio::sync::Notify>,
    /// What this instance's source readers are doing.
    pub sources: Arc<crate::sources::Live>,
    /// Rung after a change to a source, so that this instance's readers follow it at once.
    pub source_bell: Arc<tokio::sync::Notify>,
    /// `EVENT_RETENTION`, as `/stats` shows it.
    pub retention: Option<std::time::Duration>,
}

impl AppState {
    /// `event` with its routes: the enabled endpoints it matches now, by a table checked
    /// against the store within the last second.
    pub async fn routed(&self, event: NewEvent) -> NewEvent {
        self.routed_all(vec![event]).await.remove(0)
    }

    /// Routes and stores one event (its 201), hands what it can to the sender, and wakes the
    /// dispatchers for what it could not.
    pub async fn create(&self, event: NewEvent) -> Result<Inserted, StoreError> {
        let mut event = self.routed(event).await;
        let reserved = match &self.hand_offs {
            Some(hand_offs) => hand_offs.reserve(&mut event).await,
            None => None,
        };
        // Reminders it scheduled or moved may be due before the dispatchers next look.
        let reminds = event.reminders.iter().any(|a| a.want.is_some());
        let inserted = self
            .store
            .run(Op::Insert, move |s| s.insert_event(&event))
            .await?;
        let record = match &inserted {
            Inserted::Created(record) => record,
            Inserted::Replayed(_) => return Ok(inserted),
        };
        if let (Some(hand_offs), Some(reserved)) = (&self.hand_offs, reserved) {
            hand_offs.deliver(reserved, record);
        }
        if reminds
            || record
                .deliveries
                .iter()
                .any(|d| d.status == MessageStatus::Pending)
        {
            self.wake.due();
        }
        Ok(inserted)
    }

    /// [`Self::routed`] for each event of a batch, with what the reminder rules want of it.
    pub async fn routed_all(&self, events: Vec<NewEvent>) -> Vec<NewEvent> {
        crate::routing::route_all(&self.store, &self.endpoints, events).await
    }
}

/// This instance's dispatch settings.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DispatchSettingsView {
    /// `interval` or `continuous`.
    #[schema(example = "interval")]
    pub mode: &'static str,
    /// `SCHEDULER_INTERVAL` (in `continuous` mode, the fallback poll).
    pub interval_seconds: f64,
    /// `BATCH_SIZE`.
    pub batch_size: u32,
    /// `SENDER_CONCURRENCY`.
    pub concurrency: usize,
    /// `DISPATCH_RATE` in messages per second; `null` for no limit.
    pub rate_per_second: Option<f64>,
}

impl DispatchSettingsView {
    pub fn of(settings: &crate::config::Settings) -> Self {
        Self {
            mode: match settings.scheduler.mode {
                crate::config::DispatchMode::Interval => "interval",
                crate::config::DispatchMode::Continuous => "continuous",
            },
            interval_seconds: settings.scheduler.interval.as_secs_f64(),
            batch_size: settings.scheduler.batch_size,
            concurrency: settings.webhook.concurrency,
            rate_per_second: settings.scheduler.rate,
        }
    }
}
