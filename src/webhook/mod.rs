//! Talking to the webhook: one shared reqwest client, one request per attempt, and the answer
//! turned into an [`AttemptOutcome`](crate::domain::AttemptOutcome). Nothing here touches the
//! database or decides about retries.

mod client;
mod guard;
mod signing;

pub use client::{Body, Delivery, Target, WebhookClient};
pub use guard::{GuardedResolver, NetworkGuard, is_special};
pub use signing::sign;
