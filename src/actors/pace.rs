//! `DISPATCH_RATE`: the sender's pacing of delivery starts, shared by both dispatch modes.

use std::time::Duration;

/// Paces delivery starts to a rate: each takes the next free turn, `1 / rate` after the last.
pub struct Pace {
    every: Duration,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    pub fn new(rate: f64) -> Self {
        Self {
            every: Duration::from_secs_f64(1.0 / rate),
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    pub async fn wait_turn(&self) {
        let turn = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let turn = (*next).max(tokio::time::Instant::now());
            *next = turn + self.every;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}
