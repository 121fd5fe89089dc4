//! Protecting receivers: pure policies that an endpoint's attempt signals and a clock drive.
//! [`Signal`] classifies an outcome; [`Trip`] and [`opened`] open a failing endpoint's breaker;
//! [`Gcra`] holds deliveries to a rate; [`Adaptive`] halves that rate under overload and
//! raises it again. None of them does I/O; the dispatcher applies what they decide.

mod adaptive;
mod breaker;
mod limiter;
mod signal;

pub use adaptive::{Adaptive, AdaptiveRules, PauseReason};
pub use breaker::{BreakerRules, Trip, after_probe, opened};
pub use limiter::{Decision, Gcra, Rate};
pub use signal::Signal;
