//! Routing: which endpoints an event goes to, and what body each receives.
//!
//! - [`Path`]: RFC 9535 singular queries into a payload.
//! - [`Filter`]: the content filter, parsed once, evaluated and explained.
//! - [`Template`]: mapping and text templates, parsed at write time, rendered at delivery.
//!
//! Everything here is pure: no I/O, unit-tested in place.

mod compare;
mod filter;
mod node;
mod path;
mod pointer;
mod template;

pub use filter::{Clause, Filter, Op, Reason};
pub use node::NodeError;
pub use path::{Path, Segment};
pub use pointer::Pointer;
pub use template::{Rendered, Scope, Template, plain};
