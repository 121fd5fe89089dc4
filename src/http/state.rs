//! What every handler can reach: the store, the cache, the monitor and a few settings.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actors::continuous::Wake;
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
    /// Wakes the dispatchers when the API makes work due.
    pub wake: Wake,
}
