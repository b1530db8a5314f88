//! kbac — a local KBAC policy decision point over a property-graph snapshot, answering
//! AuthZEN requests with step-up advice. See README.md and DESIGN notes in the repo.

pub mod cypher;
pub mod error;

pub use error::{Code, Error, Result};
