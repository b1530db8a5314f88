//! Recursive-descent parser (placeholder until the real one lands).
use super::ast::Query;
use crate::error::{Code, Error, Result};

/// Limits applied while parsing.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Maximum length of the Cypher text in bytes.
    pub max_len: usize,
    /// Maximum nesting depth of expressions, lists and parentheses.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_len: 16 * 1024, max_depth: 64 }
    }
}

/// Parse Cypher text into a [`Query`].
pub fn parse(_src: &str, _limits: &ParseLimits) -> Result<Query> {
    Err(Error::new(Code::CypherUnsupported, "parser not yet implemented"))
}
