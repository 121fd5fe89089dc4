//! Protecting receivers: pure policies that an endpoint's attempt signals and a clock drive.
//! [`Signal`] classifies an outcome; [`Breaker`] defers deliveries to a failing endpoint;
//! [`Gcra`] holds deliveries to a rate; [`Adaptive`] halves that rate under overload and
//! raises it again. None of them does I/O; the dispatcher applies what they decide.

mod adaptive;
mod breaker;
mod limiter;
mod signal;

pub use adaptive::{Adaptive, AdaptiveRules, PauseReason};
pub use breaker::{Admit, Breaker, BreakerRules, BreakerState};
pub use limiter::{Decision, Gcra, Rate};
pub use signal::Signal;
