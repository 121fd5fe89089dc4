//! What became of the claims handed to the sender: the counts the scheduler logs and reports.

use crate::domain::Finish;

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
    /// Handed back unsent (shutdown, or too little lease left to start).
    pub released: u32,
    /// The outcome could not be recorded (claim taken over, or the database failed).
    pub unrecorded: u32,
    /// Held back with no attempt (a rate limit, a pause, an open breaker), due again later.
    pub deferred: u32,
}

impl DeliveryReport {
    pub(super) const RELEASED: Self = Self::one(0, 0, 0, 1, 0);
    pub(super) const UNRECORDED: Self = Self::one(0, 0, 0, 0, 1);
    pub(super) const DEFERRED: Self = Self {
        deferred: 1,
        ..Self::one(0, 0, 0, 0, 0)
    };

    const fn one(sent: u32, retried: u32, failed: u32, released: u32, unrecorded: u32) -> Self {
        Self {
            sent,
            retried,
            failed,
            released,
            unrecorded,
            deferred: 0,
        }
    }

    /// The report of one recorded outcome.
    pub(super) fn recorded(finish: &Finish) -> Self {
        match finish {
            Finish::Sent { .. } => Self::one(1, 0, 0, 0, 0),
            Finish::Retry { .. } => Self::one(0, 1, 0, 0, 0),
            Finish::Failed { .. } => Self::one(0, 0, 1, 0, 0),
        }
    }

    /// Something of the batch is due again (a retry, a deferral, a hand-back) or waits for its
    /// lease (an outcome not recorded): the dispatcher should look at the queue again.
    pub fn makes_due(&self) -> bool {
        self.retried + self.deferred + self.released + self.unrecorded > 0
    }

    pub(super) fn add(mut self, other: Self) -> Self {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.released += other.released;
        self.unrecorded += other.unrecorded;
        self.deferred += other.deferred;
        self
    }
}
