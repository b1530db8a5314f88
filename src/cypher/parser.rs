//! Recursive-descent parser for the Cypher subset of KBAC policies.
//!
//! Two limits keep it safe on hostile input: `depth` counts the parser's own recursion
//! (parentheses, lists, map values) so the stack stays bounded, and every expression
//! carries its tree height so that long flat chains (`a AND b AND …`, `NOT NOT …`),
//! which are built iteratively, still yield trees that later recursive passes (compiler,
//! printer, `Drop`) can walk safely.

use super::ast::{CmpOp, Direction, Expr, Length, Literal, MatchClause, NodePattern, PatternPart, Query, RelPattern};
use super::lexer::{clip, describe, tokenize, Tok, Token};
use crate::error::{Code, Error, Result};

/// Limits applied while parsing.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Maximum length of the Cypher text in bytes.
    pub max_len: usize,
    /// Maximum nesting depth of expressions, lists and parentheses, and maximum height
    /// of an expression tree (so `a AND b AND …` counts one level per operator).
    /// Values above 128 are treated as 128.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_len: 16 * 1024, max_depth: 64 }
    }
}

/// Parse Cypher text into a [`Query`].
pub fn parse(src: &str, limits: &ParseLimits) -> Result<Query> {
    if src.len() > limits.max_len {
        return Err(Error::new(
            Code::CypherTooLong,
            format!("Cypher text is {} bytes, more than the limit of {}", src.len(), limits.max_len),
        )
        .at_position(1, 1));
    }
    let toks = tokenize(src)?;
    let max_depth = limits.max_depth.min(HARD_MAX_DEPTH);
    let mut p = Parser { toks: &toks, pos: 0, depth: 0, max_depth };
    p.query()
}

/// A ceiling on any configured `max_depth`, so that no configuration can let input
/// exhaust the stack. One nesting level costs about 1.2 KB of stack in release builds and
/// about 8 KB in unoptimised ones, so 128 levels fit a 1 MB (wasm) stack optimised and a
/// 2 MB (test thread) stack unoptimised.
const HARD_MAX_DEPTH: usize = 128;

static EOF: Token = Token { tok: Tok::Eof, line: 1, col: 1 };

/// An expression with the height of its tree.
struct Ex {
    e: Expr,
    h: usize,
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

/// Words that end an expression or start a clause; they cannot be bare variables in
/// `WHERE`/`WITH` unless backtick-quoted.
const EXPR_KEYWORDS: &[&str] = &[
    "AND", "OR", "XOR", "NOT", "IN", "IS", "STARTS", "ENDS", "CONTAINS", "MATCH", "WHERE", "WITH", "AS", "DISTINCT",
];

impl<'a> Parser<'a> {
    // ----- token helpers ---------------------------------------------------------------

    fn tok_at(&self, n: usize) -> &'a Token {
        let toks: &'a [Token] = self.toks;
        toks.get(self.pos.saturating_add(n)).or(toks.last()).unwrap_or(&EOF)
    }

    fn peek(&self) -> &'a Tok {
        &self.tok_at(0).tok
    }

    fn peek_at(&self, n: usize) -> &'a Tok {
        &self.tok_at(n).tok
    }

    fn advance(&mut self) {
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
    }

    fn err_at(&self, t: &Token, code: Code, msg: impl Into<String>) -> Error {
        Error::new(code, msg).at_position(t.line, t.col)
    }

    fn err(&self, code: Code, msg: impl Into<String>) -> Error {
        self.err_at(self.tok_at(0), code, msg)
    }

    fn unexpected(&self, what: &str) -> Error {
        self.err(Code::CypherSyntax, format!("expected {what} but found {}", describe(self.peek())))
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<()> {
        if self.peek() == t {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    /// A name where any identifier is fine (labels, types, property keys, path segments).
    fn name(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Tok::Ident(s) | Tok::Quoted(s) => {
                self.advance();
                Ok(s.clone())
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn too_deep(&self, t: &Token) -> Error {
        self.err_at(t, Code::CypherTooDeep, format!("expression nests deeper than the limit of {}", self.max_depth))
    }

    // ----- clauses ---------------------------------------------------------------------

    fn query(&mut self) -> Result<Query> {
        let mut clauses = Vec::new();
        let mut with = None;
        loop {
            if self.is_kw("MATCH") {
                clauses.push(self.match_clause()?);
            } else if let Some(e) = self.rejected_clause() {
                return Err(e);
            } else if self.is_kw("WITH") && !clauses.is_empty() {
                with = Some(self.with_clause()?);
                break;
            } else if *self.peek() == Tok::Eof && !clauses.is_empty() {
                break;
            } else if clauses.is_empty() {
                return Err(self.unexpected("`MATCH`"));
            } else if clauses.last().is_some_and(|c: &MatchClause| c.where_.is_some()) {
                return Err(self.unexpected("`MATCH`, `WITH` or end of input"));
            } else {
                return Err(self.unexpected("`,`, `WHERE`, `MATCH`, `WITH` or end of input"));
            }
        }
        Ok(Query { clauses, with })
    }

    /// The error for a clause outside the subset, if the current token starts one.
    fn rejected_clause(&self) -> Option<Error> {
        let Tok::Ident(word) = self.peek() else { return None };
        let w = word.to_ascii_uppercase();
        let unsupported = |what: &str| Some(self.err(Code::CypherUnsupported, format!("{what} is not supported in KBAC policies")));
        match w.as_str() {
            "CREATE" | "MERGE" | "SET" | "DELETE" | "REMOVE" => Some(self.err(
                Code::CypherMutatingClause,
                format!("`{w}` is not allowed: KBAC policy conditions must not modify the graph"),
            )),
            "DETACH" => Some(self.err(
                Code::CypherMutatingClause,
                "`DETACH DELETE` is not allowed: KBAC policy conditions must not modify the graph",
            )),
            "RETURN" => Some(self.err(Code::CypherReturnNotAllowed, "`RETURN` is not allowed in a KBAC policy condition")),
            "USE" => Some(self.err(
                Code::CypherUseNotAllowed,
                "`USE` is not allowed: graph selection is not supported by the local engine",
            )),
            "CALL" => Some(self.err(Code::CypherCallNotAllowed, "`CALL` is not allowed in KBAC policies")),
            "OPTIONAL" if self.is_kw_at(1, "MATCH") => unsupported("`OPTIONAL MATCH`"),
            "ORDER" if self.is_kw_at(1, "BY") => unsupported("`ORDER BY`"),
            "LOAD" if self.is_kw_at(1, "CSV") => unsupported("`LOAD CSV`"),
            "USING" if self.is_kw_at(1, "INDEX") => unsupported("`USING INDEX`"),
            "USING" => unsupported("`USING` (a planner hint)"),
            "UNWIND" | "LIMIT" | "SKIP" | "UNION" | "FOREACH" | "FINISH" => unsupported(&format!("`{w}`")),
            _ => None,
        }
    }

    fn match_clause(&mut self) -> Result<MatchClause> {
        self.advance();
        let mut patterns = vec![self.pattern_part()?];
        while *self.peek() == Tok::Comma {
            self.advance();
            patterns.push(self.pattern_part()?);
        }
        let where_ = if self.is_kw("WHERE") {
            self.advance();
            Some(self.expr()?.e)
        } else {
            None
        };
        Ok(MatchClause { patterns, where_ })
    }

    fn with_clause(&mut self) -> Result<Vec<String>> {
        self.advance();
        let unsupported = |p: &Self, msg: &str| p.err(Code::CypherUnsupported, msg.to_string());
        let expressions = "expressions in `WITH` are not supported in KBAC policies; only bare variables may be passed on";
        if self.is_kw("DISTINCT") {
            return Err(unsupported(self, "`WITH DISTINCT` is not supported in KBAC policies"));
        }
        let mut vars = Vec::new();
        loop {
            match self.peek() {
                Tok::Star => return Err(unsupported(self, "`WITH *` is not supported in KBAC policies")),
                Tok::Ident(s) if !self.is_expr_keyword(s) => vars.push(s.clone()),
                Tok::Quoted(s) => vars.push(s.clone()),
                Tok::Eof => return Err(self.unexpected("a variable")),
                _ => return Err(unsupported(self, expressions)),
            }
            // Anything but `,`, the end or a following word makes the item an expression;
            // report it at the item, not at the operator.
            match self.peek_at(1) {
                Tok::Comma | Tok::Eof => {}
                Tok::Ident(s) if !self.is_expr_keyword(s) || self.is_kw_at(1, "MATCH") || self.is_kw_at(1, "WITH") => {}
                Tok::Ident(_) if self.is_kw_at(1, "AS") || self.is_kw_at(1, "WHERE") => {}
                _ => return Err(unsupported(self, expressions)),
            }
            self.advance();
            match self.peek() {
                Tok::Comma => self.advance(),
                Tok::Eof => return Ok(vars),
                _ => break,
            }
        }
        if let Some(e) = self.rejected_clause() {
            return Err(e);
        }
        if self.is_kw("AS") {
            return Err(unsupported(self, "aliases (`WITH … AS …`) are not supported in KBAC policies"));
        }
        if self.is_kw("WHERE") {
            return Err(unsupported(self, "`WITH … WHERE` is not supported in KBAC policies"));
        }
        if self.is_kw("MATCH") || self.is_kw("WITH") {
            return Err(unsupported(self, "clauses after `WITH` are not supported in KBAC policies"));
        }
        Err(self.unexpected("`,` or end of input"))
    }

    fn is_expr_keyword(&self, s: &str) -> bool {
        EXPR_KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
    }

    // ----- patterns --------------------------------------------------------------------

    fn pattern_part(&mut self) -> Result<PatternPart> {
        if let Tok::Ident(s) = self.peek() {
            if *self.peek_at(1) == Tok::Eq {
                return Err(self.err(Code::CypherUnsupported, "named paths (`p = …`) are not supported in KBAC policies"));
            }
            if *self.peek_at(1) == Tok::LParen {
                return Err(self.err(
                    Code::CypherUnsupported,
                    format!("`{}(…)` in a pattern is not supported in KBAC policies", clip(s)),
                ));
            }
        }
        let start = self.node()?;
        let mut chain = Vec::new();
        loop {
            let arrow = match self.peek() {
                Tok::Minus => true,
                Tok::Lt => *self.peek_at(1) == Tok::Minus,
                _ => false,
            };
            if !arrow {
                break;
            }
            let rel = self.rel()?;
            let node = self.node()?;
            chain.push((rel, node));
        }
        Ok(PatternPart { start, chain })
    }

    fn node(&mut self) -> Result<NodePattern> {
        self.expect(&Tok::LParen, "`(`")?;
        if *self.peek() == Tok::LParen {
            return Err(self.err(Code::CypherUnsupported, "quantified path patterns are not supported in KBAC policies"));
        }
        let mut node = NodePattern::default();
        if let Tok::Ident(s) | Tok::Quoted(s) = self.peek() {
            node.var = Some(s.clone());
            self.advance();
        }
        while *self.peek() == Tok::Colon {
            self.advance();
            node.labels.push(self.name("a label")?);
        }
        if *self.peek() == Tok::Pipe {
            return Err(self.err(Code::CypherUnsupported, "label expressions (`:A|B`) are not supported in KBAC policies"));
        }
        if self.is_kw("WHERE") {
            return Err(self.err(Code::CypherUnsupported, "`WHERE` inside a pattern is not supported in KBAC policies"));
        }
        if *self.peek() == Tok::LBrace {
            node.props = self.map()?;
        }
        self.expect(&Tok::RParen, "`)`")?;
        Ok(node)
    }

    fn map(&mut self) -> Result<Vec<(String, Expr)>> {
        self.advance();
        let mut props = Vec::new();
        if *self.peek() == Tok::RBrace {
            self.advance();
            return Ok(props);
        }
        loop {
            let key = self.name("a property name")?;
            self.expect(&Tok::Colon, "`:`")?;
            props.push((key, self.expr()?.e));
            match self.peek() {
                Tok::Comma => self.advance(),
                Tok::RBrace => {
                    self.advance();
                    return Ok(props);
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    fn rel(&mut self) -> Result<RelPattern> {
        let start = self.tok_at(0);
        let left = *self.peek() == Tok::Lt;
        if left {
            self.advance();
        }
        self.expect(&Tok::Minus, "`-`")?;
        let mut rel = RelPattern { var: None, types: Vec::new(), direction: Direction::Both, length: None, props: Vec::new() };
        if *self.peek() == Tok::LBracket {
            self.advance();
            self.rel_detail(&mut rel)?;
            self.expect(&Tok::RBracket, "`]`")?;
        }
        self.expect(&Tok::Minus, "`-`")?;
        let right = *self.peek() == Tok::Gt;
        if right {
            self.advance();
        }
        rel.direction = match (left, right) {
            (true, true) => {
                return Err(self.err_at(start, Code::CypherSyntax, "a relationship cannot point both ways (`<-…->`)"))
            }
            (true, false) => Direction::Incoming,
            (false, true) => Direction::Outgoing,
            (false, false) => Direction::Both,
        };
        Ok(rel)
    }

    fn rel_detail(&mut self, rel: &mut RelPattern) -> Result<()> {
        if let Tok::Ident(s) | Tok::Quoted(s) = self.peek() {
            rel.var = Some(s.clone());
            self.advance();
        }
        if *self.peek() == Tok::Colon {
            self.advance();
            rel.types.push(self.name("a relationship type")?);
            while *self.peek() == Tok::Pipe {
                self.advance();
                if *self.peek() == Tok::Colon {
                    self.advance();
                }
                rel.types.push(self.name("a relationship type")?);
            }
        }
        if *self.peek() == Tok::Star {
            let star = self.tok_at(0);
            self.advance();
            let min = self.range_bound()?;
            let max = if *self.peek() == Tok::DotDot {
                self.advance();
                self.range_bound()?
            } else {
                min
            };
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    return Err(self.err_at(
                        star,
                        Code::CypherInvalidRange,
                        format!("variable-length range `*{a}..{b}` has a minimum greater than its maximum"),
                    ));
                }
            }
            rel.length = Some(Length { min, max });
        }
        if self.is_kw("WHERE") {
            return Err(self.err(Code::CypherUnsupported, "`WHERE` inside a pattern is not supported in KBAC policies"));
        }
        if *self.peek() == Tok::LBrace {
            rel.props = self.map()?;
        }
        Ok(())
    }

    fn range_bound(&mut self) -> Result<Option<u32>> {
        let Tok::Int(n) = self.peek() else { return Ok(None) };
        let v = u32::try_from(*n)
            .map_err(|_| self.err(Code::CypherInvalidRange, format!("variable-length bound `{n}` is too large")))?;
        self.advance();
        Ok(Some(v))
    }

    // ----- expressions -----------------------------------------------------------------
    //
    // The recursion path per nesting level is kept to a few small frames
    // (`expr` → `unary` → `operand` → `primary` [→ `list`] → `expr`): binary operators are
    // folded with an explicit operator stack, and everything that cannot recurse
    // (literals, names, error messages) lives in `#[inline(never)]` helpers so its
    // temporaries do not bloat the recursive frames in unoptimised builds.

    /// Every nested expression enters here, so `depth` bounds the recursion.
    fn expr(&mut self) -> Result<Ex> {
        if self.depth >= self.max_depth {
            return Err(self.too_deep(self.tok_at(0)));
        }
        self.depth += 1;
        let r = self.binary_chain();
        self.depth -= 1;
        r
    }

    /// `OR` < `XOR` < `AND`, all left-associative, folded without recursion.
    fn binary_chain(&mut self) -> Result<Ex> {
        let mut operands = vec![self.unary()?];
        let mut ops: Vec<(u8, &'a Token)> = Vec::new();
        loop {
            let prec = if self.is_kw("OR") {
                1
            } else if self.is_kw("XOR") {
                2
            } else if self.is_kw("AND") {
                3
            } else {
                break;
            };
            let op = self.tok_at(0);
            self.advance();
            while ops.last().is_some_and(|&(p, _)| p >= prec) {
                self.reduce(&mut operands, &mut ops)?;
            }
            ops.push((prec, op));
            operands.push(self.unary()?);
        }
        while !ops.is_empty() {
            self.reduce(&mut operands, &mut ops)?;
        }
        operands.pop().ok_or_else(|| self.unexpected("an expression"))
    }

    #[inline(never)]
    fn reduce(&self, operands: &mut Vec<Ex>, ops: &mut Vec<(u8, &'a Token)>) -> Result<()> {
        let (Some((prec, op)), Some(r), Some(l)) = (ops.pop(), operands.pop(), operands.pop()) else {
            return Err(self.unexpected("an expression"));
        };
        let h = l.h.max(r.h).saturating_add(1);
        if h > self.max_depth {
            return Err(self.too_deep(op));
        }
        let (l, r) = (Box::new(l.e), Box::new(r.e));
        let e = match prec {
            1 => Expr::Or(l, r),
            2 => Expr::Xor(l, r),
            _ => Expr::And(l, r),
        };
        operands.push(Ex { e, h });
        Ok(())
    }

    /// `NOT* operand [cmp operand]`; `NOT` chains are counted, not recursed.
    fn unary(&mut self) -> Result<Ex> {
        let first = self.tok_at(0);
        let nots = self.count_nots()?;
        let l = self.operand()?;
        let mut x = match self.cmp_op()? {
            None => l,
            Some((op, n)) => {
                let op_tok = self.tok_at(0);
                for _ in 0..n {
                    self.advance();
                }
                let r = self.operand()?;
                self.compare(op_tok, op, l, r)?
            }
        };
        if nots > 0 {
            x = self.wrap_nots(first, nots, x)?;
        }
        Ok(x)
    }

    #[inline(never)]
    fn count_nots(&mut self) -> Result<usize> {
        let mut count = 0usize;
        while self.is_kw("NOT") {
            count += 1;
            if count >= self.max_depth {
                return Err(self.too_deep(self.tok_at(0)));
            }
            self.advance();
        }
        Ok(count)
    }

    #[inline(never)]
    fn wrap_nots(&self, first: &Token, count: usize, mut x: Ex) -> Result<Ex> {
        let h = x.h.saturating_add(count);
        if h > self.max_depth {
            return Err(self.too_deep(first));
        }
        for _ in 0..count {
            x.e = Expr::Not(Box::new(x.e));
        }
        x.h = h;
        Ok(x)
    }

    #[inline(never)]
    fn compare(&self, op_tok: &Token, op: CmpOp, l: Ex, r: Ex) -> Result<Ex> {
        let h = l.h.max(r.h).saturating_add(1);
        if h > self.max_depth {
            return Err(self.too_deep(op_tok));
        }
        if self.cmp_op()?.is_some() {
            return Err(self.err(
                Code::CypherUnsupported,
                "chained comparisons such as `a < b < c` are not supported in KBAC policies; combine them with `AND`",
            ));
        }
        Ok(Ex { e: Expr::Compare { op, left: Box::new(l.e), right: Box::new(r.e) }, h })
    }

    /// The comparison operator at the cursor and how many tokens it spans.
    #[inline(never)]
    fn cmp_op(&self) -> Result<Option<(CmpOp, usize)>> {
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne | Tok::BangEq => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::RegexEq => CmpOp::Regex,
            Tok::Ident(s) => {
                let (op, two) = match s.to_ascii_uppercase().as_str() {
                    "IN" => (CmpOp::In, false),
                    "CONTAINS" => (CmpOp::Contains, false),
                    "STARTS" => (CmpOp::StartsWith, true),
                    "ENDS" => (CmpOp::EndsWith, true),
                    _ => return Ok(None),
                };
                if two {
                    if !self.is_kw_at(1, "WITH") {
                        let t = self.tok_at(1);
                        return Err(self.err_at(
                            t,
                            Code::CypherSyntax,
                            format!("expected `WITH` after `{}` but found {}", s.to_ascii_uppercase(), describe(&t.tok)),
                        ));
                    }
                    return Ok(Some((op, 2)));
                }
                return Ok(Some((op, 1)));
            }
            _ => return Ok(None),
        };
        Ok(Some((op, 1)))
    }

    /// A primary followed by postfix `IS [NOT] NULL`s.
    fn operand(&mut self) -> Result<Ex> {
        let mut x = self.primary()?;
        while self.postfix(&mut x)? {}
        Ok(x)
    }

    /// Apply one postfix operator to `x`; `false` when there is none.
    #[inline(never)]
    fn postfix(&mut self, x: &mut Ex) -> Result<bool> {
        let t = self.tok_at(0);
        let unsupported = |what: &str| Err(self.err(Code::CypherUnsupported, format!("{what} in KBAC policies")));
        match &t.tok {
            Tok::Ident(s) if s.eq_ignore_ascii_case("IS") => {
                self.advance();
                let negated = self.is_kw("NOT");
                if negated {
                    self.advance();
                }
                if !self.is_kw("NULL") {
                    return Err(self.unexpected("`NULL`"));
                }
                self.advance();
                let h = x.h.saturating_add(1);
                if h > self.max_depth {
                    return Err(self.too_deep(t));
                }
                let inner = std::mem::replace(&mut x.e, Expr::Literal(Literal::Null));
                *x = Ex { e: Expr::IsNull { expr: Box::new(inner), negated }, h };
                Ok(true)
            }
            Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Percent | Tok::Caret => {
                unsupported(&format!("arithmetic ({}) is not supported", describe(&t.tok)))
            }
            Tok::LBracket => unsupported("list indexing and slicing are not supported"),
            Tok::Colon => unsupported("label predicates such as `n:Label` are not supported"),
            Tok::Dot => unsupported("property access is only supported on variables and parameters"),
            _ => Ok(false),
        }
    }

    fn leaf(e: Expr) -> Ex {
        Ex { e, h: 1 }
    }

    /// Only the recursive cases are handled here; see [`Parser::atom`].
    fn primary(&mut self) -> Result<Ex> {
        match self.peek() {
            Tok::LBracket => self.list(),
            Tok::LParen => {
                self.check_not_pattern()?;
                self.advance();
                let x = self.expr()?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(x)
            }
            _ => self.atom(),
        }
    }

    #[inline(never)]
    fn check_not_pattern(&self) -> Result<()> {
        if self.looks_like_pattern() {
            return Err(self.err(
                Code::CypherUnsupported,
                "pattern predicates such as `(a)-[:R]->(b)` in `WHERE` are not supported in KBAC policies",
            ));
        }
        Ok(())
    }

    /// Literals, parameters and names: everything that does not nest.
    #[inline(never)]
    fn atom(&mut self) -> Result<Ex> {
        let t = self.tok_at(0);
        match &t.tok {
            Tok::Int(n) => {
                let v = i64::try_from(*n)
                    .map_err(|_| self.err(Code::CypherInvalidNumber, format!("integer `{n}` is out of range")))?;
                self.advance();
                Ok(Self::leaf(Expr::Literal(Literal::Int(v))))
            }
            Tok::Float(f) => {
                self.advance();
                Ok(Self::leaf(Expr::Literal(Literal::Float(*f))))
            }
            Tok::Minus => {
                self.advance();
                let lit = match self.peek() {
                    Tok::Int(n) => {
                        let v = 0i64.checked_sub_unsigned(*n).ok_or_else(|| {
                            self.err(Code::CypherInvalidNumber, format!("integer `-{n}` is out of range"))
                        })?;
                        Literal::Int(v)
                    }
                    Tok::Float(f) => Literal::Float(-*f),
                    _ => {
                        return Err(self.err_at(
                            t,
                            Code::CypherUnsupported,
                            "unary minus is only supported on number literals in KBAC policies",
                        ))
                    }
                };
                self.advance();
                Ok(Self::leaf(Expr::Literal(lit)))
            }
            Tok::Plus => Err(self.err(Code::CypherUnsupported, "unary `+` is not supported in KBAC policies")),
            Tok::Str(s) => {
                self.advance();
                Ok(Self::leaf(Expr::Literal(Literal::String(s.clone()))))
            }
            Tok::Param(name) => {
                self.advance();
                let mut path = vec![name.clone()];
                self.dotted(&mut path)?;
                Ok(Self::leaf(Expr::Param(path)))
            }
            Tok::LBrace => Err(self.err(Code::CypherUnsupported, "map literals are not supported in KBAC policy expressions")),
            Tok::Quoted(s) => self.variable(s),
            Tok::Ident(s) => self.word(t, s),
            _ => Err(self.unexpected("an expression")),
        }
    }

    #[inline(never)]
    fn word(&mut self, t: &Token, s: &str) -> Result<Ex> {
        let up = s.to_ascii_uppercase();
        let lit = match up.as_str() {
            "TRUE" => Some(Literal::Bool(true)),
            "FALSE" => Some(Literal::Bool(false)),
            "NULL" => Some(Literal::Null),
            _ => None,
        };
        if let Some(lit) = lit {
            self.advance();
            return Ok(Self::leaf(Expr::Literal(lit)));
        }
        let unsupported = |what: String| Err(self.err_at(t, Code::CypherUnsupported, format!("{what} is not supported in KBAC policies")));
        match (up.as_str(), self.peek_at(1)) {
            ("CASE", _) => return unsupported("`CASE`".into()),
            ("EXISTS" | "COUNT" | "COLLECT", Tok::LBrace) => return unsupported(format!("the `{up} {{ … }}` subquery")),
            (_, Tok::LParen) => return unsupported(format!("function call `{}(…)`", clip(s))),
            (_, Tok::LBrace) => return unsupported(format!("map projection `{} {{ … }}`", clip(s))),
            (_, Tok::Dot) => return self.variable(s),
            _ => {}
        }
        if let Some(e) = self.rejected_clause() {
            return Err(e);
        }
        if self.is_expr_keyword(s) {
            return Err(self.unexpected("an expression"));
        }
        self.variable(s)
    }

    fn variable(&mut self, var: &str) -> Result<Ex> {
        self.advance();
        if *self.peek() == Tok::LParen {
            return Err(self.err(
                Code::CypherUnsupported,
                format!("function call `{}(…)` is not supported in KBAC policies", clip(var)),
            ));
        }
        let mut path = Vec::new();
        self.dotted(&mut path)?;
        let e = if path.is_empty() {
            Expr::Variable(var.to_string())
        } else {
            Expr::Property { var: var.to_string(), path }
        };
        Ok(Self::leaf(e))
    }

    /// `.seg.seg…`; after a dot any identifier, keywords included, is a name.
    fn dotted(&mut self, path: &mut Vec<String>) -> Result<()> {
        while *self.peek() == Tok::Dot {
            self.advance();
            if *self.peek() == Tok::Star {
                return Err(self.err(Code::CypherUnsupported, "property wildcards (`.*`) are not supported in KBAC policy conditions"));
            }
            path.push(self.name("a property name after `.`")?);
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Ex> {
        let open = self.tok_at(0);
        self.advance();
        let mut items = Vec::new();
        let mut h = 0usize;
        if *self.peek() == Tok::RBracket {
            self.advance();
            return Ok(Self::leaf(Expr::List(items)));
        }
        loop {
            let x = self.expr()?;
            h = h.max(x.h);
            items.push(x.e);
            match self.peek() {
                Tok::Comma => self.advance(),
                Tok::RBracket => {
                    self.advance();
                    break;
                }
                Tok::Pipe => return Err(self.err(Code::CypherUnsupported, "list comprehensions are not supported in KBAC policies")),
                Tok::Ident(_) if self.is_kw("WHERE") => {
                    return Err(self.err(Code::CypherUnsupported, "list comprehensions are not supported in KBAC policies"))
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
        let h = h.saturating_add(1);
        if h > self.max_depth {
            return Err(self.too_deep(open));
        }
        Ok(Ex { e: Expr::List(items), h })
    }

    /// At `(`: does a node pattern start here (`()`, `(:L`, `(a:L`, `(a {`, `(a)-…`)?
    fn looks_like_pattern(&self) -> bool {
        match self.peek_at(1) {
            Tok::RParen | Tok::Colon => true,
            Tok::Ident(_) | Tok::Quoted(_) => match self.peek_at(2) {
                Tok::Colon | Tok::LBrace => true,
                Tok::RParen => match self.peek_at(3) {
                    Tok::Minus => matches!(self.peek_at(4), Tok::LBracket | Tok::Minus),
                    Tok::Lt => {
                        *self.peek_at(4) == Tok::Minus && matches!(self.peek_at(5), Tok::LBracket | Tok::Minus)
                    }
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn limits(max_depth: usize) -> ParseLimits {
        ParseLimits { max_len: 1 << 20, max_depth }
    }

    fn code(src: &str, max_depth: usize) -> Option<Code> {
        parse(src, &limits(max_depth)).err().map(|e| e.code())
    }

    #[test]
    fn tree_height_counts_flat_chains() {
        // Leaf = 1, each operator adds one level on the deeper side.
        assert_eq!(code("MATCH (a) WHERE a AND b AND c", 3), None);
        assert_eq!(code("MATCH (a) WHERE a AND b AND c AND d", 3), Some(Code::CypherTooDeep));
        assert_eq!(code("MATCH (a) WHERE NOT NOT a", 3), None);
        assert_eq!(code("MATCH (a) WHERE NOT NOT NOT a", 3), Some(Code::CypherTooDeep));
        assert_eq!(code("MATCH (a) WHERE a.x = 1 IS NULL", 3), None);
        assert_eq!(code("MATCH (a) WHERE [[1]]", 3), None);
        assert_eq!(code("MATCH (a) WHERE [[1]] = 1", 3), Some(Code::CypherTooDeep));
    }

    #[test]
    fn operator_stack_keeps_precedence_and_associativity() {
        let q = parse("MATCH (a) WHERE a XOR b OR c AND d XOR e", &limits(64)).unwrap();
        let v = |s: &str| Box::new(Expr::Variable(s.into()));
        let expected = Expr::Or(
            Box::new(Expr::Xor(v("a"), v("b"))),
            Box::new(Expr::Xor(Box::new(Expr::And(v("c"), v("d"))), v("e"))),
        );
        assert_eq!(q.clauses[0].where_, Some(expected));
    }

    #[test]
    fn position_of_too_deep_and_too_long() {
        let e = parse("MATCH (a)\nWHERE ((((a))))", &limits(3)).unwrap_err();
        assert_eq!((e.code(), e.location().line, e.location().column), (Code::CypherTooDeep, Some(2), Some(10)));
        let e = parse("MATCH (a)", &ParseLimits { max_len: 3, max_depth: 64 }).unwrap_err();
        assert_eq!(e.code(), Code::CypherTooLong);
    }

    #[test]
    fn depth_configuration_is_capped() {
        let deep = format!("MATCH (a) WHERE {}a{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(code(&deep, usize::MAX), Some(Code::CypherTooDeep));
    }
}
