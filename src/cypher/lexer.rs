//! Tokens of the Cypher subset.
//!
//! The lexer works on a `Vec<char>` so that columns are counted in characters and no
//! string is ever sliced at a byte offset. Arrows are not tokens of their own: `-->`,
//! `<-[` and `]->` are assembled by the parser from `<`, `-` and `>`, which keeps
//! `a<-5` (a comparison with a negative number) lexable.

use crate::error::{Code, Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An unquoted identifier; it may be a keyword, the parser decides by context.
    Ident(String),
    /// A backtick-quoted identifier; never a keyword.
    Quoted(String),
    /// `$name`, `` $`name` `` or `$0`: the parameter name without `$`.
    Param(String),
    Str(String),
    /// The magnitude of an integer literal; the sign is applied by the parser so that
    /// `-9223372036854775808` fits.
    Int(u64),
    Float(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Semicolon,
    Dot,
    DotDot,
    Pipe,
    Star,
    Eq,
    /// `<>`
    Ne,
    /// `!=`
    BangEq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`
    RegexEq,
    Minus,
    Plus,
    Slash,
    Percent,
    Caret,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: u32,
    pub col: u32,
}

/// The identifier rules shared with the printer, so that whatever the printer leaves
/// unquoted lexes back as one identifier.
pub(crate) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

pub(crate) fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Shorten user text quoted in an error message so that a 1 MB identifier does not
/// produce a 1 MB message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// A human description of a token for "expected … but found …" messages.
pub(crate) fn describe(t: &Tok) -> String {
    let p = |s: &str| format!("`{s}`");
    match t {
        Tok::Ident(s) | Tok::Quoted(s) => format!("`{}`", clip(s)),
        Tok::Param(s) => format!("`${}`", clip(s)),
        Tok::Str(_) => "a string literal".to_string(),
        Tok::Int(n) => format!("`{n}`"),
        Tok::Float(f) => format!("`{f:?}`"),
        Tok::LParen => p("("),
        Tok::RParen => p(")"),
        Tok::LBracket => p("["),
        Tok::RBracket => p("]"),
        Tok::LBrace => p("{"),
        Tok::RBrace => p("}"),
        Tok::Comma => p(","),
        Tok::Colon => p(":"),
        Tok::Semicolon => p(";"),
        Tok::Dot => p("."),
        Tok::DotDot => p(".."),
        Tok::Pipe => p("|"),
        Tok::Star => p("*"),
        Tok::Eq => p("="),
        Tok::Ne => p("<>"),
        Tok::BangEq => p("!="),
        Tok::Lt => p("<"),
        Tok::Le => p("<="),
        Tok::Gt => p(">"),
        Tok::Ge => p(">="),
        Tok::RegexEq => p("=~"),
        Tok::Minus => p("-"),
        Tok::Plus => p("+"),
        Tok::Slash => p("/"),
        Tok::Percent => p("%"),
        Tok::Caret => p("^"),
        Tok::Eof => "end of input".to_string(),
    }
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
}

/// Split Cypher text into tokens; the last token is always [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>> {
    let mut lx = Lexer { chars: src.chars().collect(), i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    loop {
        lx.skip_trivia()?;
        let (line, col) = (lx.line, lx.col);
        let tok = lx.next_token()?;
        let done = tok == Tok::Eof;
        out.push(Token { tok, line, col });
        if done {
            return Ok(out);
        }
    }
}

fn syntax(line: u32, col: u32, msg: impl Into<String>) -> Error {
    Error::new(Code::CypherSyntax, msg).at_position(line, col)
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.i.saturating_add(n)).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let (line, col) = (self.line, self.col);
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(), self.peek_at(1)) {
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => return Err(syntax(line, col, "unterminated `/*` comment")),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Tok> {
        let (line, col) = (self.line, self.col);
        let Some(c) = self.peek() else { return Ok(Tok::Eof) };
        let next = self.peek_at(1);
        // Two-character operators first.
        let two = match (c, next) {
            ('<', Some('>')) => Some(Tok::Ne),
            ('<', Some('=')) => Some(Tok::Le),
            ('>', Some('=')) => Some(Tok::Ge),
            ('!', Some('=')) => Some(Tok::BangEq),
            ('=', Some('~')) => Some(Tok::RegexEq),
            ('.', Some('.')) => Some(Tok::DotDot),
            _ => None,
        };
        if let Some(t) = two {
            self.bump();
            self.bump();
            return Ok(t);
        }
        let one = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            ';' => Some(Tok::Semicolon),
            '|' => Some(Tok::Pipe),
            '*' => Some(Tok::Star),
            '=' => Some(Tok::Eq),
            '<' => Some(Tok::Lt),
            '>' => Some(Tok::Gt),
            '-' => Some(Tok::Minus),
            '+' => Some(Tok::Plus),
            '/' => Some(Tok::Slash),
            '%' => Some(Tok::Percent),
            '^' => Some(Tok::Caret),
            '.' if !next.is_some_and(|d| d.is_ascii_digit()) => Some(Tok::Dot),
            _ => None,
        };
        if let Some(t) = one {
            self.bump();
            return Ok(t);
        }
        if c.is_ascii_digit() || c == '.' {
            return self.number(line, col);
        }
        if c == '\'' || c == '"' {
            return self.string(line, col).map(Tok::Str);
        }
        if c == '`' {
            return self.quoted(line, col).map(Tok::Quoted);
        }
        if c == '$' {
            self.bump();
            return match self.peek() {
                Some('`') => {
                    let (l, c) = (self.line, self.col);
                    self.quoted(l, c).map(Tok::Param)
                }
                Some(d) if is_ident_continue(d) => Ok(Tok::Param(self.run(is_ident_continue))),
                _ => Err(syntax(line, col, "expected a parameter name after `$`")),
            };
        }
        if is_ident_start(c) {
            return Ok(Tok::Ident(self.run(is_ident_continue)));
        }
        Err(syntax(line, col, format!("unexpected character `{c}`")))
    }

    fn run(&mut self, pred: fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn quoted(&mut self, line: u32, col: u32) -> Result<String> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(syntax(line, col, "unterminated `` ` ``-quoted identifier")),
                Some('`') => {
                    if self.peek() == Some('`') {
                        self.bump();
                        s.push('`');
                    } else {
                        break;
                    }
                }
                Some(c) => s.push(c),
            }
        }
        if s.is_empty() {
            return Err(syntax(line, col, "empty `` ` ``-quoted identifier"));
        }
        Ok(s)
    }

    fn number(&mut self, line: u32, col: u32) -> Result<Tok> {
        let invalid = |msg: String| Error::new(Code::CypherInvalidNumber, msg).at_position(line, col);
        if self.peek() == Some('0') && matches!(self.peek_at(1), Some('x' | 'X')) {
            self.bump();
            self.bump();
            let digits = self.run(|c| c.is_ascii_alphanumeric() || c == '_');
            let v = if digits.chars().all(|c| c.is_ascii_hexdigit()) {
                u64::from_str_radix(&digits, 16).ok()
            } else {
                None
            };
            return v.map(Tok::Int).ok_or_else(|| invalid(format!("invalid hexadecimal number `0x{}`", clip(&digits))));
        }
        let mut text = self.run(|c| c.is_ascii_digit());
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            text.push('.');
            text.push_str(&self.run(|c| c.is_ascii_digit()));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = matches!(self.peek_at(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                text.push('e');
                self.bump();
                if sign {
                    text.extend(self.bump());
                }
                text.push_str(&self.run(|c| c.is_ascii_digit()));
            }
        }
        // `12abc` or `1e` is one malformed number, not a number followed by a name.
        if self.peek().is_some_and(is_ident_continue) {
            let rest = self.run(is_ident_continue);
            return Err(invalid(format!("invalid number `{}`", clip(&format!("{text}{rest}")))));
        }
        if is_float {
            let v: f64 = format!("0{text}").parse().map_err(|_| invalid(format!("invalid number `{}`", clip(&text))))?;
            if !v.is_finite() {
                return Err(invalid(format!("number `{}` is out of range", clip(&text))));
            }
            return Ok(Tok::Float(v));
        }
        if text.len() > 1 && text.starts_with('0') {
            return Err(invalid(format!(
                "number `{}` has a leading zero (octal in some Cypher versions); write it without",
                clip(&text)
            )));
        }
        text.parse::<u64>().map(Tok::Int).map_err(|_| invalid(format!("integer `{}` is out of range", clip(&text))))
    }

    fn string(&mut self, line: u32, col: u32) -> Result<String> {
        let quote = self.bump();
        let mut s = String::new();
        loop {
            let (el, ec) = (self.line, self.col);
            let Some(c) = self.bump() else {
                return Err(Error::new(Code::CypherUnterminatedString, "unterminated string literal").at_position(line, col));
            };
            if Some(c) == quote {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(e) = self.bump() else {
                return Err(Error::new(Code::CypherUnterminatedString, "unterminated string literal").at_position(line, col));
            };
            match e {
                '\\' | '\'' | '"' => s.push(e),
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'u' | 'U' => {
                    let hi = self.hex4(el, ec)?;
                    let ch = if (0xD800..0xDC00).contains(&hi) {
                        let lo = if self.peek() == Some('\\') && matches!(self.peek_at(1), Some('u' | 'U')) {
                            let (ll, lc) = (self.line, self.col);
                            self.bump();
                            self.bump();
                            Some(self.hex4(ll, lc)?)
                        } else {
                            None
                        };
                        match lo {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    match ch {
                        Some(ch) => s.push(ch),
                        None => return Err(syntax(el, ec, "lone surrogate in `\\u` escape")),
                    }
                }
                other => return Err(syntax(el, ec, format!("unknown escape `\\{other}` in string literal"))),
            }
        }
    }

    fn hex4(&mut self, line: u32, col: u32) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.bump();
                }
                None => return Err(syntax(line, col, "`\\u` escape needs four hexadecimal digits")),
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn ranges_and_floats() {
        assert_eq!(toks("*1..3"), vec![Tok::Star, Tok::Int(1), Tok::DotDot, Tok::Int(3), Tok::Eof]);
        assert_eq!(toks("*..3"), vec![Tok::Star, Tok::DotDot, Tok::Int(3), Tok::Eof]);
        assert_eq!(toks(".5 1.5e3 1E-3"), vec![Tok::Float(0.5), Tok::Float(1500.0), Tok::Float(0.001), Tok::Eof]);
        assert_eq!(toks("0x1F"), vec![Tok::Int(31), Tok::Eof]);
        assert_eq!(toks("18446744073709551615"), vec![Tok::Int(u64::MAX), Tok::Eof]);
        assert_eq!(tokenize("18446744073709551616").unwrap_err().code(), Code::CypherInvalidNumber);
        assert_eq!(tokenize("12abc").unwrap_err().code(), Code::CypherInvalidNumber);
        assert_eq!(tokenize("1e999").unwrap_err().code(), Code::CypherInvalidNumber);
        assert_eq!(tokenize("007").unwrap_err().code(), Code::CypherInvalidNumber);
    }

    #[test]
    fn arrows_are_split() {
        assert_eq!(toks("<--"), vec![Tok::Lt, Tok::Minus, Tok::Minus, Tok::Eof]);
        assert_eq!(toks("]->"), vec![Tok::RBracket, Tok::Minus, Tok::Gt, Tok::Eof]);
        assert_eq!(toks("<> != =~ <= >="), vec![Tok::Ne, Tok::BangEq, Tok::RegexEq, Tok::Le, Tok::Ge, Tok::Eof]);
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(toks(r#"'a\'b' "c\"d\n""#), vec![Tok::Str("a'b".into()), Tok::Str("c\"d\n".into()), Tok::Eof]);
        assert_eq!(toks(r"'\uD83D\uDE00'"), vec![Tok::Str("😀".into()), Tok::Eof]);
        assert_eq!(tokenize(r"'\uD83D'").unwrap_err().code(), Code::CypherSyntax);
        assert_eq!(tokenize(r"'\uDE00'").unwrap_err().code(), Code::CypherSyntax);
        let e = tokenize("MATCH\n  'abc").unwrap_err();
        assert_eq!(e.code(), Code::CypherUnterminatedString);
        assert_eq!((e.location().line, e.location().column), (Some(2), Some(3)));
    }

    #[test]
    fn identifiers_params_comments() {
        assert_eq!(
            toks("`a``b` $x $`y z` $0 // c\n /* d */ é"),
            vec![
                Tok::Quoted("a`b".into()),
                Tok::Param("x".into()),
                Tok::Param("y z".into()),
                Tok::Param("0".into()),
                Tok::Ident("é".into()),
                Tok::Eof
            ]
        );
        assert_eq!(tokenize("/* x").unwrap_err().code(), Code::CypherSyntax);
        let e = tokenize("ü ü &").unwrap_err();
        assert_eq!(e.location().column, Some(5));
    }
}
