//! Hand-offs across the store boundary: the routes of a new event that the instance storing it
//! delivers itself, and the claim they are stored under.

use uuid::Uuid;

/// Deliveries stored already claimed by the instance that stores them, so that a fresh event
/// goes to the sender without a claim: each route with a token is inserted `sending` under
/// it, with a lease and its first attempt counted, if its endpoint is enabled, not paused, its
/// breaker closed and dispatch on (checked in the insert's own statement); otherwise it is
/// inserted `pending`, as without a hand-off. An instance that dies before sending leaves a
/// lease that runs out, and the delivery is claimed again, as any claim would be.
#[derive(Debug, Clone)]
pub struct HandOff {
    pub worker: String,
    pub lease: std::time::Duration,
    /// One per route, in route order: the claim token, or `None` for the dispatchers.
    pub tokens: Vec<Option<Uuid>>,
}

impl HandOff {
    /// The token of route `i`, if it is handed off.
    pub fn token(&self, i: usize) -> Option<Uuid> {
        self.tokens.get(i).copied().flatten()
    }

    pub fn lease_ms(&self) -> i64 {
        self.lease.as_millis().min(i64::MAX as u128) as i64
    }
}
