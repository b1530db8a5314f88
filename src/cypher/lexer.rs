//! Tokens of the Cypher subset.
