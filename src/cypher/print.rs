//! Canonical printer: `parse(to_cypher(q)) == q`.
//!
//! Every unary and binary expression is parenthesised, so the printed text never depends
//! on operator precedence, and identifiers that could be read as keywords are quoted.

use std::fmt::Write;

use super::ast::{Direction, Expr, Literal, NodePattern, PatternPart, Query, RelPattern};
use super::lexer::{is_ident_continue, is_ident_start};

/// Words quoted with backticks wherever they appear as names, so that no position in
/// the grammar can read them as keywords.
const KEYWORDS: &[&str] = &[
    "ALL", "AND", "AS", "ASC", "ASCENDING", "BY", "CALL", "CASE", "COLLECT", "CONTAINS", "COUNT", "CREATE", "CSV",
    "DELETE", "DESC", "DESCENDING", "DETACH", "DISTINCT", "ELSE", "END", "ENDS", "EXISTS", "FALSE", "FINISH", "FOREACH",
    "IN", "INDEX", "IS", "LIMIT", "LOAD", "MATCH", "MERGE", "NOT", "NULL", "OPTIONAL", "OR", "ORDER", "REMOVE", "RETURN",
    "SET", "SKIP", "STARTS", "THEN", "TRUE", "UNION", "UNWIND", "USE", "USING", "WHEN", "WHERE", "WITH", "XOR", "YIELD",
];

/// Print a query in canonical Cypher.
pub fn to_cypher(q: &Query) -> String {
    let mut out = String::new();
    for (i, c) in q.clauses.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str("MATCH ");
        for (j, p) in c.patterns.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            pattern(&mut out, p);
        }
        if let Some(w) = &c.where_ {
            out.push_str(" WHERE ");
            expr(&mut out, w);
        }
    }
    if let Some(vars) = &q.with {
        out.push_str(" WITH ");
        for (i, v) in vars.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            ident(&mut out, v);
        }
    }
    out
}

fn pattern(out: &mut String, p: &PatternPart) {
    node(out, &p.start);
    for (r, n) in &p.chain {
        rel(out, r);
        node(out, n);
    }
}

fn node(out: &mut String, n: &NodePattern) {
    out.push('(');
    if let Some(v) = &n.var {
        ident(out, v);
    }
    for l in &n.labels {
        out.push(':');
        ident(out, l);
    }
    if !n.props.is_empty() {
        if n.var.is_some() || !n.labels.is_empty() {
            out.push(' ');
        }
        props(out, &n.props);
    }
    out.push(')');
}

fn rel(out: &mut String, r: &RelPattern) {
    out.push_str(if r.direction == Direction::Incoming { "<-" } else { "-" });
    let detail = r.var.is_some() || !r.types.is_empty() || r.length.is_some() || !r.props.is_empty();
    if detail {
        out.push('[');
        if let Some(v) = &r.var {
            ident(out, v);
        }
        for (i, t) in r.types.iter().enumerate() {
            out.push_str(if i == 0 { ":" } else { "|" });
            ident(out, t);
        }
        if let Some(len) = &r.length {
            out.push('*');
            match (len.min, len.max) {
                (None, None) => {}
                (Some(a), Some(b)) if a == b => {
                    let _ = write!(out, "{a}");
                }
                (min, max) => {
                    if let Some(a) = min {
                        let _ = write!(out, "{a}");
                    }
                    out.push_str("..");
                    if let Some(b) = max {
                        let _ = write!(out, "{b}");
                    }
                }
            }
        }
        if !r.props.is_empty() {
            if r.var.is_some() || !r.types.is_empty() || r.length.is_some() {
                out.push(' ');
            }
            props(out, &r.props);
        }
        out.push(']');
    }
    out.push_str(if r.direction == Direction::Outgoing { "->" } else { "-" });
}

fn props(out: &mut String, props: &[(String, Expr)]) {
    out.push('{');
    for (i, (k, v)) in props.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        ident(out, k);
        out.push_str(": ");
        expr(out, v);
    }
    out.push('}');
}

fn expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Literal(l) => literal(out, l),
        Expr::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, x);
            }
            out.push(']');
        }
        Expr::Property { var, path } => {
            ident(out, var);
            for seg in path {
                out.push('.');
                ident(out, seg);
            }
        }
        Expr::Variable(v) => ident(out, v),
        Expr::Param(path) => {
            out.push('$');
            let mut segs = path.iter();
            if let Some(name) = segs.next() {
                // `$0`-style names are digits; any run of identifier characters lexes back.
                if !name.is_empty() && name.chars().all(is_ident_continue) && !is_keyword(name) {
                    out.push_str(name);
                } else {
                    quoted(out, name);
                }
            }
            for seg in segs {
                out.push('.');
                ident(out, seg);
            }
        }
        Expr::Not(x) => {
            out.push_str("(NOT ");
            expr(out, x);
            out.push(')');
        }
        Expr::And(a, b) => binary(out, a, "AND", b),
        Expr::Or(a, b) => binary(out, a, "OR", b),
        Expr::Xor(a, b) => binary(out, a, "XOR", b),
        Expr::Compare { op, left, right } => binary(out, left, op.as_str(), right),
        Expr::IsNull { expr: x, negated } => {
            out.push('(');
            expr(out, x);
            out.push_str(if *negated { " IS NOT NULL)" } else { " IS NULL)" });
        }
    }
}

fn binary(out: &mut String, a: &Expr, op: &str, b: &Expr) {
    out.push('(');
    expr(out, a);
    out.push(' ');
    out.push_str(op);
    out.push(' ');
    expr(out, b);
    out.push(')');
}

fn literal(out: &mut String, l: &Literal) {
    match l {
        Literal::Null => out.push_str("null"),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Literal::Float(f) => {
            // `{:?}` is the shortest text that reads back as the same f64; make sure it
            // still reads as a float (`1e16` does, `1` would not).
            let s = format!("{f:?}");
            let is_float_text = s.contains(['.', 'e', 'E']) || !f.is_finite();
            out.push_str(&s);
            if !is_float_text {
                out.push_str(".0");
            }
        }
        Literal::String(s) => string(out, s),
    }
}

fn string(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

fn is_keyword(s: &str) -> bool {
    KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
}

fn ident(out: &mut String, s: &str) {
    let mut chars = s.chars();
    let plain = chars.next().is_some_and(is_ident_start) && chars.all(is_ident_continue) && !is_keyword(s);
    if plain {
        out.push_str(s);
    } else {
        quoted(out, s);
    }
}

fn quoted(out: &mut String, s: &str) {
    out.push('`');
    for c in s.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn lit(l: Literal) -> String {
        let mut s = String::new();
        literal(&mut s, &l);
        s
    }

    fn id(s: &str) -> String {
        let mut out = String::new();
        ident(&mut out, s);
        out
    }

    #[test]
    fn floats_stay_floats() {
        assert_eq!(lit(Literal::Float(1.0)), "1.0");
        assert_eq!(lit(Literal::Float(-0.0)), "-0.0");
        assert_eq!(lit(Literal::Float(1e300)), "1e300");
        assert_eq!(lit(Literal::Float(5e-324)), "5e-324");
        assert_eq!(lit(Literal::Int(i64::MIN)), "-9223372036854775808");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(lit(Literal::String("it's \\ \n\t\r\u{8}\u{c}\u{1}\"é😀".into())), r#"'it\'s \\ \n\t\r\b\f\u0001"é😀'"#);
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(id("subject"), "subject");
        assert_eq!(id("_SAME_AS"), "_SAME_AS");
        assert_eq!(id("Ünï"), "Ünï");
        assert_eq!(id("weird name"), "`weird name`");
        assert_eq!(id("a`b"), "`a``b`");
        assert_eq!(id("1abc"), "`1abc`");
        assert_eq!(id("match"), "`match`");
        assert_eq!(id("Null"), "`Null`");
    }
}
