//! kbac — a local KBAC policy decision point over a property-graph snapshot, answering
//! AuthZEN requests with step-up advice. See README.md.

pub mod cypher;
pub mod engine;
pub mod error;

pub use engine::{Engine, EngineConfig, EvalOptions, GraphChange, Limits, Stats};
pub use error::{Code, Error, Result};
