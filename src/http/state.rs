//! What every handler can reach: the store, the cache, the monitor and a few settings.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cache::SentCache;
use crate::config::Secret;
use crate::db::Store;
use crate::monitor::Monitor;

pub struct AppState {
    pub store: Store,
    pub cache: Arc<dyn SentCache>,
    pub monitor: Arc<Monitor>,
    pub content_max_chars: usize,
    pub api_token: Option<Secret<String>>,
    pub started_at: DateTime<Utc>,
    /// Wakes this instance's continuous dispatcher at once when the API makes work due (others
    /// hear of it through the database's NOTIFY).
    pub wake: Arc<tokio::sync::Notify>,
}
