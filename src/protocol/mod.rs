//! The CBM #2 protocol: pure. No clock, no database, no socket: callers pass the time and
//! whatever the directory says, and get back the event to record or a refusal.
//!
//! `protocol/protocol.toml` states the protocol as data; [`machine`] implements its state
//! table with statig; [`inquiry`] carries the inputs, events and projection; [`invocation`]
//! renders the formal statement; [`definition`] reads the TOML (embedded at build time).

pub mod definition;
pub mod inquiry;
pub mod invocation;
pub mod machine;

pub use inquiry::{Action, EventData, Inquiry, Refusal, Role, apply, decide};
pub use machine::{ActionName, Status};
