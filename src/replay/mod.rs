//! Replay: sending stored events again, from a point in time. A job is a row (`db::ReplayRow`);
//! the [`Replayer`](runner) of each instance leases running jobs one at a time and works through
//! their window in batches. Decisions are pure: [`plan`] (what to do for an event and an
//! endpoint) and [`pace`] (how fast).

mod dry;
pub mod pace;
pub mod plan;
mod runner;

pub use dry::dry_run;
pub use plan::{Action, Mode, decide};
pub use runner::{Replayer, as_targets, plan as plan_event};
