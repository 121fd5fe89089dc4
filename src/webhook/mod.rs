//! Talking to the webhook: one shared reqwest client, one request per attempt, and the answer
//! turned into an [`AttemptOutcome`](crate::domain::AttemptOutcome). Nothing here touches the
//! database or decides about retries.

mod client;
mod signing;

pub use client::{Delivery, WebhookClient};
pub use signing::sign;
