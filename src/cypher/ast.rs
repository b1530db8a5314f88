//! Abstract syntax of the Cypher subset KBAC policies use.
//!
//! The AST carries no source positions so that parse → print → re-parse can be
//! compared with `==`; parse errors carry line and column instead.

/// A whole `condition.cypher`: one or more `MATCH` clauses, optionally closed by a
/// `WITH` that only passes bare variables on (`WITH subject, resource`).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub clauses: Vec<MatchClause>,
    /// Variables of a trailing `WITH v1, v2` (no expressions, no aliases): a no-op projection.
    pub with: Option<Vec<String>>,
}

/// `MATCH part, part, … [WHERE expr]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchClause {
    pub patterns: Vec<PatternPart>,
    pub where_: Option<Expr>,
}

/// `(a)-[..]->(b)<-[..]-(c)…`: a start node and a chain of (relationship, node) steps.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternPart {
    pub start: NodePattern,
    pub chain: Vec<(RelPattern, NodePattern)>,
}

/// `(var:Label1:Label2 {key: expr, …})`; every part optional.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NodePattern {
    pub var: Option<String>,
    pub labels: Vec<String>,
    /// Inline property map; values are literals, lists or `$param` references.
    pub props: Vec<(String, Expr)>,
}

/// `-[var:T1|T2*min..max {k: v}]->`, `<-[…]-`, `-[…]-`, `-->`, `<--`, `--`.
#[derive(Clone, Debug, PartialEq)]
pub struct RelPattern {
    pub var: Option<String>,
    /// Empty = any relationship type.
    pub types: Vec<String>,
    pub direction: Direction,
    /// `None` = exactly one hop (no `*`).
    pub length: Option<Length>,
    pub props: Vec<(String, Expr)>,
}

/// Direction as written, relative to reading order (left node → right node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `-[]->`
    Outgoing,
    /// `<-[]-`
    Incoming,
    /// `-[]-`
    Both,
}

/// Bounds of a variable-length relationship, as written.
/// `*` → `{None, None}`, `*3` → `{Some(3), Some(3)}`, `*..3` → `{None, Some(3)}`,
/// `*2..` → `{Some(2), None}`, `*2..5` → `{Some(2), Some(5)}`.
/// An omitted minimum means 1 (Neo4j); an omitted maximum is capped by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Length {
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// A boolean or value expression in `WHERE` or an inline property map.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// `[e1, e2, …]`
    List(Vec<Expr>),
    /// `var.seg1.seg2…` — e.g. `resource.external_id`, `subject.property.age`,
    /// `subject.property.email.metadata.source`. `path` is never empty.
    Property { var: String, path: Vec<String> },
    /// A bare variable (only meaningful in comparisons such as `a = b`; rarely used).
    Variable(String),
    /// `$name.seg…` — `path[0]` is the parameter name (`token`, `max_price`, …). Never empty.
    Param(Vec<String>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Xor(Box<Expr>, Box<Expr>),
    Compare { op: CmpOp, left: Box<Expr>, right: Box<Expr> },
    /// `expr IS NULL` (`negated: false`) / `expr IS NOT NULL` (`negated: true`).
    IsNull { expr: Box<Expr>, negated: bool },
}

/// Binary comparison / predicate operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    StartsWith,
    EndsWith,
    Contains,
    Regex,
}

impl CmpOp {
    /// The operator as written in Cypher and in policy filters.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "IN",
            CmpOp::StartsWith => "STARTS WITH",
            CmpOp::EndsWith => "ENDS WITH",
            CmpOp::Contains => "CONTAINS",
            CmpOp::Regex => "=~",
        }
    }

    /// Parse the operator spelling used by policy filters (case-insensitive words).
    pub fn from_filter(s: &str) -> Option<CmpOp> {
        let up = s.trim().to_ascii_uppercase();
        let norm: Vec<&str> = up.split_whitespace().collect();
        Some(match norm.as_slice() {
            ["="] | ["=="] => CmpOp::Eq,
            ["<>"] | ["!="] => CmpOp::Ne,
            ["<"] => CmpOp::Lt,
            ["<="] => CmpOp::Le,
            [">"] => CmpOp::Gt,
            [">="] => CmpOp::Ge,
            ["IN"] => CmpOp::In,
            ["STARTS", "WITH"] => CmpOp::StartsWith,
            ["ENDS", "WITH"] => CmpOp::EndsWith,
            ["CONTAINS"] => CmpOp::Contains,
            ["=~"] => CmpOp::Regex,
            _ => return None,
        })
    }
}

/// Scalar literals.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
}
