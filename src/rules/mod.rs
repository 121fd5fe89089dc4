//! Reminder rules: events that schedule notifications ahead of a date found in their payload.
//!
//! - [`offset`]: offsets, durations, times of day and quiet hours, parsed at the edge.
//! - [`when`]: when a reminder goes out, in the rule's time zone (`chrono-tz`).
//! - [`spec`]: a rule as written ([`RuleInput`]) and parsed ([`Rule`]).
//! - [`plan`]: what a rule wants of an event ([`RuleAction`](crate::db::RuleAction)s).
//! - [`slot`]: what that does to a subject's stored reminders (rows as in `row`).
//!
//! All pure: no I/O, unit-tested in place. The store applies the actions in the transaction
//! that stores the event ([`apply_rules`](crate::db::apply_rules)).

pub mod offset;
pub mod plan;
mod row;
pub mod slot;
pub mod spec;
pub mod when;

pub use plan::{plan_event, preview};
pub use spec::{QuietInput, Rule, RuleInput};
