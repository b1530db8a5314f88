//! Expression evaluation (WHERE, inline maps, policy filters) with Cypher's three-valued logic,
//! and parameter resolution.

use super::view::{Handle, View, TOKEN};
use super::Request;
use crate::cypher::CmpOp;
use crate::policy::plan::{CExpr, ParamRef};
use crate::value::{self, Tri, Value};
use serde_json::Value as Json;
use std::borrow::Cow;

/// Everything an expression may read besides node bindings.
pub struct Env<'a> {
    pub view: &'a View<'a>,
    pub req: &'a Request,
    pub claims: Option<&'a serde_json::Map<String, Json>>,
    pub now: Option<i64>,
    pub auth_level: i64,
    pub subject: Handle,
    pub resource: Handle,
}

fn follow<'j>(mut v: &'j Json, path: &[Box<str>]) -> Option<&'j Json> {
    for seg in path {
        v = match v {
            Json::Object(m) => m.get(&**seg)?,
            Json::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn from_json_opt(v: Option<&Json>) -> Cow<'static, Value> {
    Cow::Owned(v.map_or(Value::Null, Value::from_json))
}

fn entity_member<'j>(ty: &'j str, id: &'j str, props: &'j serde_json::Map<String, Json>, path: &[Box<str>]) -> Cow<'static, Value> {
    match path.split_first() {
        None => Cow::Owned(Value::Null),
        Some((head, rest)) => match &**head {
            "type" if rest.is_empty() => Cow::Owned(Value::Str(ty.into())),
            "id" if rest.is_empty() => Cow::Owned(Value::Str(id.into())),
            "name" if rest.is_empty() && id.is_empty() => Cow::Owned(Value::Str(ty.into())),
            "properties" => match rest.split_first() {
                None => Cow::Owned(Value::from_json(&Json::Object(props.clone()))),
                Some((k, more)) => from_json_opt(props.get(&**k).and_then(|v| follow(v, more))),
            },
            _ => Cow::Owned(Value::Null),
        },
    }
}

impl Env<'_> {
    pub fn param(&self, p: &ParamRef) -> Cow<'_, Value> {
        let req = self.req;
        match p {
            ParamRef::Token(path) => match self.claims {
                None => Cow::Owned(Value::Null),
                Some(c) => match path.split_first() {
                    None => Cow::Owned(Value::from_json(&Json::Object(c.clone()))),
                    Some((k, rest)) => from_json_opt(c.get(&**k).and_then(|v| follow(v, rest))),
                },
            },
            ParamRef::Input(name, path) => {
                from_json_opt(req.input_params().and_then(|m| m.get(&**name)).and_then(|v| follow(v, path)))
            }
            ParamRef::Now => Cow::Owned(self.now.map_or(Value::Null, Value::Int)),
            ParamRef::AuthLevel => Cow::Owned(Value::Int(self.auth_level)),
            ParamRef::AuthAge => Cow::Owned(auth_age(self.now, self.claims)),
            ParamRef::AuthScopes => Cow::Owned(scopes(self.claims)),
            ParamRef::SubjectExtId => Cow::Owned(Value::Str(req.subject.id.as_str().into())),
            ParamRef::ResourceExtId => Cow::Owned(Value::Str(req.resource.id.as_str().into())),
            ParamRef::SubjectType => Cow::Owned(Value::Str(req.subject.ty.as_str().into())),
            ParamRef::ResourceType => Cow::Owned(Value::Str(req.resource.ty.as_str().into())),
            ParamRef::Subject(path) => entity_member(&req.subject.ty, &req.subject.id, &req.subject.properties, path),
            ParamRef::Resource(path) => entity_member(&req.resource.ty, &req.resource.id, &req.resource.properties, path),
            ParamRef::Action(path) => match path.split_first() {
                Some((h, rest)) if &**h == "name" && rest.is_empty() => Cow::Owned(Value::Str(req.action.name.as_str().into())),
                _ => entity_member("", "", &req.action.properties, path),
            },
            ParamRef::Context(path) => from_json_opt(follow_map(&req.context, path)),
            ParamRef::Absent => Cow::Owned(Value::Null),
        }
    }

    /// The value of an expression under the current bindings.
    pub fn value<'s>(&'s self, e: &'s CExpr, assign: &[Handle]) -> Cow<'s, Value> {
        match e {
            CExpr::Lit(v) => Cow::Borrowed(v),
            CExpr::Null => Cow::Owned(Value::Null),
            CExpr::List(items) => Cow::Owned(Value::List(items.iter().map(|x| self.value(x, assign).into_owned()).collect())),
            CExpr::ExtId(s) => match assign.get(*s as usize).and_then(|h| self.view.ext_id(*h)) {
                Some(x) => Cow::Owned(Value::Str(x.into())),
                None => Cow::Owned(Value::Null),
            },
            CExpr::Prop { slot, name, meta } => {
                let Some(&h) = assign.get(*slot as usize) else {
                    return Cow::Owned(Value::Null);
                };
                if h == TOKEN {
                    return from_json_opt(self.view.token_claim(h, *name));
                }
                match self.view.property(h, *name) {
                    None => Cow::Owned(Value::Null),
                    Some(p) if meta.is_empty() => Cow::Borrowed(&p.value),
                    Some(p) => {
                        let mut v: &Value = match &p.metadata {
                            Some(m) => m,
                            None => return Cow::Owned(Value::Null),
                        };
                        for seg in meta {
                            match v.get(seg) {
                                Some(x) => v = x,
                                None => return Cow::Owned(Value::Null),
                            }
                        }
                        Cow::Borrowed(v)
                    }
                }
            }
            CExpr::Node(_) => Cow::Owned(Value::Null),
            CExpr::Param(p) => self.param(p),
            CExpr::DateTime(inner) => {
                let v = self.value(inner, assign);
                Cow::Owned(match &*v {
                    Value::Str(s) => crate::datetime::parse_rfc3339(s).map_or(Value::Null, Value::DateTime),
                    Value::Int(i) => i.checked_mul(1_000_000).map_or(Value::Null, Value::DateTime),
                    Value::Float(f) if f.is_finite() => Value::DateTime((f * 1e6) as i64),
                    Value::DateTime(d) => Value::DateTime(*d),
                    _ => Value::Null,
                })
            }
            _ => Cow::Owned(self.truth(e, assign).map_or(Value::Null, Value::Bool)),
        }
    }

    /// The truth of a boolean expression (null → `None`).
    pub fn truth(&self, e: &CExpr, assign: &[Handle]) -> Tri {
        match e {
            CExpr::Not(x) => self.truth(x, assign).map(|b| !b),
            CExpr::And(a, b) => match self.truth(a, assign) {
                Some(false) => Some(false),
                l => match (l, self.truth(b, assign)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            CExpr::Or(a, b) => match self.truth(a, assign) {
                Some(true) => Some(true),
                l => match (l, self.truth(b, assign)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            CExpr::Xor(a, b) => Some(self.truth(a, assign)? ^ self.truth(b, assign)?),
            CExpr::IsNull { expr, negated } => {
                let null = match &**expr {
                    CExpr::Node(s) => assign.get(*s as usize).is_none(),
                    other => self.value(other, assign).is_null(),
                };
                Some(null != *negated)
            }
            CExpr::Advice { expr, .. } => self.truth(expr, assign),
            CExpr::Cmp { op, left, right, regex } => {
                if let (CExpr::Node(a), CExpr::Node(b), CmpOp::Eq | CmpOp::Ne) = (&**left, &**right, op) {
                    let same = assign.get(*a as usize)? == assign.get(*b as usize)?;
                    return Some(if *op == CmpOp::Eq { same } else { !same });
                }
                let l = self.value(left, assign);
                let r = self.value(right, assign);
                compare(*op, &l, &r, regex.as_deref())
            }
            other => match &*self.value(other, assign) {
                Value::Bool(b) => Some(*b),
                _ => None,
            },
        }
    }

    /// Advice indices of the leaves responsible for `e` not being `want` (see DESIGN semantics 5:
    /// every failing leaf, not only the first; satisfied branches contribute nothing).
    pub fn blame(&self, e: &CExpr, want: bool, assign: &[Handle], out: &mut Vec<u32>) {
        if self.truth(e, assign) == Some(want) {
            return;
        }
        match e {
            CExpr::Advice { advice, .. } => out.push(*advice),
            CExpr::Not(x) => self.blame(x, !want, assign, out),
            CExpr::And(a, b) | CExpr::Or(a, b) | CExpr::Xor(a, b) => {
                self.blame(a, want, assign, out);
                self.blame(b, want, assign, out);
            }
            _ => {}
        }
    }
}

fn follow_map<'j>(m: &'j serde_json::Map<String, Json>, path: &[Box<str>]) -> Option<&'j Json> {
    let (k, rest) = path.split_first()?;
    follow(m.get(&**k)?, rest)
}

/// `$auth.age`: whole seconds since `auth_time` (a NumericDate, possibly fractional, RFC 7519
/// §2), rounded down; null without a clock or a numeric `auth_time`.
fn auth_age(now: Option<i64>, claims: Option<&serde_json::Map<String, Json>>) -> Value {
    let (Some(now), Some(t)) = (now, claims.and_then(|c| c.get("auth_time"))) else { return Value::Null };
    match t.as_i64() {
        Some(t) => Value::Int(now.saturating_sub(t)),
        None => match t.as_f64() {
            // `as` saturates, and the magnitudes that matter are far inside i64.
            Some(f) if f.is_finite() => Value::Int((now as f64 - f).floor() as i64),
            _ => Value::Null,
        },
    }
}

fn scopes(claims: Option<&serde_json::Map<String, Json>>) -> Value {
    let Some(c) = claims else { return Value::Null };
    if let Some(Json::String(s)) = c.get("scope") {
        return Value::List(s.split_whitespace().map(|x| Value::Str(x.into())).collect());
    }
    match c.get("scp") {
        Some(Json::Array(a)) => Value::List(a.iter().filter_map(Json::as_str).map(|x| Value::Str(x.into())).collect()),
        Some(Json::String(s)) => Value::List(s.split_whitespace().map(|x| Value::Str(x.into())).collect()),
        _ => Value::List(Vec::new()),
    }
}

/// Apply a comparison operator with Cypher's null and type rules.
pub fn compare(op: CmpOp, l: &Value, r: &Value, regex: Option<&regex_lite::Regex>) -> Tri {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => value::equals(l, r),
        CmpOp::Ne => value::equals(l, r).map(|b| !b),
        CmpOp::Lt => value::compare(l, r).map(|o| o == Less),
        CmpOp::Le => value::compare(l, r).map(|o| o != Greater),
        CmpOp::Gt => value::compare(l, r).map(|o| o == Greater),
        CmpOp::Ge => value::compare(l, r).map(|o| o != Less),
        CmpOp::In => value::is_in(l, r),
        CmpOp::StartsWith => value::starts_with(l, r),
        CmpOp::EndsWith => value::ends_with(l, r),
        CmpOp::Contains => value::contains(l, r),
        CmpOp::Regex => {
            let Value::Str(s) = l else { return None };
            match regex {
                Some(re) => Some(re.is_match(s)),
                None => match r {
                    Value::Str(p) => crate::policy::compile::compile_regex(p).ok().map(|re| re.is_match(s)),
                    _ => None,
                },
            }
        }
    }
}
