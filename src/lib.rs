#![doc = include_str!("../README.md")]

pub mod authzen;
pub mod cypher;
pub mod datetime;
pub mod engine;
pub mod error;
pub mod eval;
pub mod graph;
pub mod policy;
pub mod stepup;
pub mod token;
pub mod value;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use engine::{Engine, EngineConfig, EvalOptions, GraphChange, Limits, Stats};
pub use error::{Code, Error, Result};
