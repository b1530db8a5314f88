//! Lexer, parser and printer for the Cypher subset of KBAC policies (no graph knowledge).

pub mod ast;
mod lexer;
mod parser;
mod print;

pub use ast::*;
pub use parser::{parse, ParseLimits};
pub use print::to_cypher;
