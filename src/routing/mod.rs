//! Routing: which endpoints an event goes to, and what body each receives.
//!
//! - [`Path`]: RFC 9535 singular queries into a payload.
//! - [`Filter`]: the content filter, parsed once, evaluated and explained.
//! - [`Template`]: mapping and text templates, parsed at write time, rendered at delivery.
//! - [`EndpointInput`]: an endpoint as a user writes it, checked field by field.
//! - [`Endpoints`]: the cached endpoint table that routes events and serves the sender, kept
//!   in step with the store by [`reload`] and [`fresh`].
//!
//! All but the last two are pure: no I/O, unit-tested in place.

mod compare;
mod defaults;
mod filter;
mod filter_parse;
mod node;
mod path;
mod pointer;
mod spec;
mod spec_protection;
mod sync;
mod table;
mod template;

pub use compare::instant;
pub use defaults::{AUTH_HEADER, write_default};
pub use filter::{Clause, Filter, Op, Reason};
pub use node::NodeError;
pub use path::{Path, Segment};
pub use pointer::Pointer;
pub use spec::{EndpointInput, generate_secret, parse_secret};
pub use spec_protection::{DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT};
pub use sync::{fresh, reload, route_all};
pub use table::{Compiled, Endpoints};
pub use template::{Rendered, Scope, Template, plain};
