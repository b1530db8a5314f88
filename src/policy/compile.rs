//! Cypher AST and filter JSON → [`Plan`] and [`CExpr`].

use super::plan::*;
use crate::cypher::{self, CmpOp, Direction, Expr, Literal, Query};
use crate::error::{Code, Error, Result};
use crate::graph::Interner;
use crate::value::Value;
use serde_json::Value as Json;

/// At most this many node variables per policy (the search keeps slot masks in a u64).
pub const MAX_SLOTS: usize = 64;

/// Names the compiler needs beyond the query itself.
pub struct CompileCtx<'a> {
    pub strings: &'a mut Interner,
    pub subject_type: &'a str,
    pub resource_type: &'a str,
    pub max_path_length: u32,
    pub max_in_list: usize,
    pub max_filter_depth: usize,
    /// Things `kbac check` reports.
    pub warnings: &'a mut Vec<String>,
}

struct Builder<'c, 'a> {
    cx: &'c mut CompileCtx<'a>,
    slots: Vec<SlotSpec>,
    rel_vars: Vec<String>,
    hops: Vec<Hop>,
    preds: Vec<CExpr>,
}

/// Compile a parsed query into a plan. `subject`/`resource` get their types from the policy.
pub fn compile_query(q: &Query, cx: &mut CompileCtx<'_>) -> Result<Plan> {
    let mut b = Builder { cx, slots: Vec::new(), rel_vars: Vec::new(), hops: Vec::new(), preds: Vec::new() };
    // Pass 1: declare every node variable so expressions may refer to ones bound later.
    for clause in &q.clauses {
        for part in &clause.patterns {
            b.declare(&part.start)?;
            for (rel, node) in &part.chain {
                if let Some(v) = &rel.var {
                    b.rel_vars.push(v.clone());
                }
                b.declare(node)?;
            }
        }
    }
    for (ci, clause) in q.clauses.iter().enumerate() {
        let ci = u16::try_from(ci).map_err(|_| Error::new(Code::CypherUnsupported, "too many MATCH clauses"))?;
        for part in &clause.patterns {
            let mut left = b.node(&part.start)?;
            for (rel, node) in &part.chain {
                let right = b.node(node)?;
                b.hop(rel, left, right, ci)?;
                left = right;
            }
        }
        if let Some(w) = &clause.where_ {
            let e = b.expr(w, 0)?;
            split_and(e, &mut b.preds);
        }
    }
    if let Some(with) = &q.with {
        for v in with {
            if b.slot_of(v).is_none() && !b.rel_vars.contains(v) {
                return Err(Error::new(Code::CypherUndefinedVariable, format!("`WITH` names `{v}`, which no pattern binds")));
            }
        }
    }
    let subject = b.ensure_bound("subject", b.cx.subject_type.to_string())?;
    let resource = b.ensure_bound("resource", b.cx.resource_type.to_string())?;
    let Builder { slots, hops, preds, .. } = b;
    let mut plan = Plan {
        slots,
        hops,
        preds,
        subject,
        resource,
        both: Order::default(),
        from_subject: Order::default(),
        from_resource: Order::default(),
    };
    plan.both = order(&plan, &[subject, resource]);
    plan.from_subject = order(&plan, &[subject]);
    plan.from_resource = order(&plan, &[resource]);
    Ok(plan)
}

fn split_and(e: CExpr, out: &mut Vec<CExpr>) {
    match e {
        CExpr::And(a, b) => {
            split_and(*a, out);
            split_and(*b, out);
        }
        other => out.push(other),
    }
}

impl Builder<'_, '_> {
    fn slot_of(&self, name: &str) -> Option<Slot> {
        self.slots.iter().position(|s| s.name.as_deref() == Some(name)).map(|i| i as Slot)
    }

    fn new_slot(&mut self, name: Option<String>) -> Result<Slot> {
        if self.slots.len() >= MAX_SLOTS {
            return Err(Error::new(Code::CypherUnsupported, format!("a policy pattern may use at most {MAX_SLOTS} nodes")));
        }
        self.slots.push(SlotSpec { name, ..SlotSpec::default() });
        Ok((self.slots.len() - 1) as Slot)
    }

    fn declare(&mut self, n: &cypher::NodePattern) -> Result<()> {
        if let Some(v) = &n.var {
            if self.slot_of(v).is_none() {
                self.new_slot(Some(v.clone()))?;
            }
        }
        Ok(())
    }

    /// The slot for a node pattern, adding its labels and inline properties.
    fn node(&mut self, n: &cypher::NodePattern) -> Result<Slot> {
        let slot = match &n.var {
            Some(v) => {
                if self.rel_vars.contains(v) {
                    return Err(Error::new(Code::CypherUnsupported, format!("`{v}` is used both as a node and a relationship variable")));
                }
                self.slot_of(v).map_or_else(|| self.new_slot(Some(v.clone())), Ok)?
            }
            None => self.new_slot(None)?,
        };
        for l in &n.labels {
            let sym = self.cx.strings.intern(l);
            if let Some(s) = self.slots.get_mut(slot as usize) {
                if !s.labels.contains(&sym) {
                    s.labels.push(sym);
                }
            }
        }
        for (k, v) in &n.props {
            let key = if k == "external_id" { PropKey::ExternalId } else { PropKey::Property(self.cx.strings.intern(k)) };
            let e = self.expr(v, 0)?;
            if let Some(s) = self.slots.get_mut(slot as usize) {
                s.props.push((key, e));
            }
        }
        Ok(slot)
    }

    fn hop(&mut self, rel: &cypher::RelPattern, left: Slot, right: Slot, clause: u16) -> Result<()> {
        if !rel.props.is_empty() {
            return Err(Error::new(Code::CypherUnsupported, "property maps on relationships are not supported"));
        }
        let mut types: Vec<_> = rel.types.iter().map(|t| self.cx.strings.intern(t)).collect();
        types.sort_unstable();
        types.dedup();
        let dir = match rel.direction {
            Direction::Outgoing => Dir::Out,
            Direction::Incoming => Dir::In,
            Direction::Both => Dir::Both,
        };
        let cap = self.cx.max_path_length;
        let (min, max, var_length) = match rel.length {
            None => (1, 1, false),
            Some(len) => {
                let min = len.min.unwrap_or(1);
                let max = match len.max {
                    Some(m) => m,
                    None => {
                        self.cx.warnings.push(format!(
                            "unbounded variable-length relationship is capped at maxPathLength {cap}"
                        ));
                        cap.max(min)
                    }
                };
                if min > max {
                    return Err(Error::new(Code::CypherInvalidRange, format!("range `*{min}..{max}` has min > max")));
                }
                if max > cap {
                    return Err(Error::new(
                        Code::LimitPathLength,
                        format!("range maximum {max} exceeds maxPathLength {cap}"),
                    ));
                }
                (min, max, true)
            }
        };
        self.hops.push(Hop { a: left, b: right, types, dir, min, max, var_length, clause });
        Ok(())
    }

    fn ensure_bound(&mut self, name: &str, ty: String) -> Result<Slot> {
        let sym = self.cx.strings.intern(&ty);
        let slot = match self.slot_of(name) {
            Some(s) => s,
            None => {
                // The platform pins `subject` and `resource`; a pattern that never names one
                // still requires that node to exist (a disconnected node of the policy's type).
                self.cx.warnings.push(format!("the pattern does not bind `{name}`; it is matched as a disconnected `{ty}` node"));
                self.new_slot(Some(name.to_string()))?
            }
        };
        if let Some(s) = self.slots.get_mut(slot as usize) {
            if !s.labels.contains(&sym) {
                s.labels.insert(0, sym);
            }
        }
        Ok(slot)
    }

    fn expr(&mut self, e: &Expr, depth: usize) -> Result<CExpr> {
        if depth > 256 {
            return Err(Error::new(Code::CypherTooDeep, "expression nests too deeply"));
        }
        let d = depth + 1;
        Ok(match e {
            Expr::Literal(l) => CExpr::Lit(literal(l)),
            Expr::List(items) => {
                if items.len() > self.cx.max_in_list {
                    return Err(Error::new(Code::LimitInList, format!("list of {} items exceeds the limit of {}", items.len(), self.cx.max_in_list)));
                }
                let c: Vec<CExpr> = items.iter().map(|x| self.expr(x, d)).collect::<Result<_>>()?;
                if c.iter().all(|x| matches!(x, CExpr::Lit(_))) {
                    CExpr::Lit(Value::List(c.into_iter().filter_map(|x| if let CExpr::Lit(v) = x { Some(v) } else { None }).collect()))
                } else {
                    CExpr::List(c)
                }
            }
            Expr::Property { var, path } => self.property(var, path)?,
            Expr::Variable(v) => match self.slot_of(v) {
                Some(s) => CExpr::Node(s),
                None if self.rel_vars.contains(v) => {
                    return Err(Error::new(Code::CypherUnsupported, format!("relationship variable `{v}` in an expression")))
                }
                None => return Err(Error::new(Code::CypherUndefinedVariable, format!("variable `{v}` is not defined"))),
            },
            Expr::Param(path) => CExpr::Param(param_ref(path)?),
            Expr::Not(x) => CExpr::Not(Box::new(self.expr(x, d)?)),
            Expr::And(a, b) => CExpr::And(Box::new(self.expr(a, d)?), Box::new(self.expr(b, d)?)),
            Expr::Or(a, b) => CExpr::Or(Box::new(self.expr(a, d)?), Box::new(self.expr(b, d)?)),
            Expr::Xor(a, b) => CExpr::Xor(Box::new(self.expr(a, d)?), Box::new(self.expr(b, d)?)),
            Expr::IsNull { expr, negated } => CExpr::IsNull { expr: Box::new(self.expr(expr, d)?), negated: *negated },
            Expr::Compare { op, left, right } => {
                let l = self.expr(left, d)?;
                let r = self.expr(right, d)?;
                comparison(*op, l, r)?
            }
        })
    }

    fn property(&mut self, var: &str, path: &[String]) -> Result<CExpr> {
        let Some(slot) = self.slot_of(var) else {
            if self.rel_vars.iter().any(|r| r == var) {
                return Err(Error::new(Code::CypherUnsupported, format!("properties of relationship variable `{var}` are not supported")));
            }
            return Err(Error::new(Code::CypherUndefinedVariable, format!("variable `{var}` is not defined")));
        };
        let segs: Vec<&str> = path.iter().map(String::as_str).collect();
        Ok(match segs.as_slice() {
            ["external_id"] => CExpr::ExtId(slot),
            ["property", name] => CExpr::Prop { slot, name: self.cx.strings.intern(name), meta: Vec::new() },
            ["property", name, "metadata", rest @ ..] if !rest.is_empty() => CExpr::Prop {
                slot,
                name: self.cx.strings.intern(name),
                meta: rest.iter().map(|s| Box::<str>::from(*s)).collect(),
            },
            _ => {
                self.cx.warnings.push(format!(
                    "`{var}.{}` is not `external_id` or `property.<name>`; it is always null",
                    path.join(".")
                ));
                CExpr::Null
            }
        })
    }
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::String(s) => Value::Str(s.as_str().into()),
    }
}

/// Build a comparison, precompiling a literal regular expression.
fn comparison(op: CmpOp, left: CExpr, right: CExpr) -> Result<CExpr> {
    let regex = match (op, &right) {
        (CmpOp::Regex, CExpr::Lit(Value::Str(p))) => Some(Box::new(compile_regex(p)?)),
        _ => None,
    };
    Ok(CExpr::Cmp { op, left: Box::new(left), right: Box::new(right), regex })
}

/// Cypher `=~` matches the whole string.
pub fn compile_regex(pattern: &str) -> Result<regex_lite::Regex> {
    regex_lite::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| Error::new(Code::CypherInvalidRegex, format!("regular expression `{pattern}` does not compile: {}", first_line(&e.to_string()))))
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_string()
}

/// `$a.b.c` path → parameter reference.
pub fn param_ref(path: &[String]) -> Result<ParamRef> {
    let Some((head, rest)) = path.split_first() else {
        return Err(Error::new(Code::PolicyParameterInvalid, "empty parameter name"));
    };
    let rest_boxed = || rest.iter().map(|s| Box::<str>::from(s.as_str())).collect::<Vec<_>>();
    let no_path = |p: ParamRef| -> Result<ParamRef> {
        if rest.is_empty() {
            Ok(p)
        } else {
            Err(Error::new(Code::PolicyParameterInvalid, format!("`${}` has no members", head)))
        }
    };
    Ok(match head.as_str() {
        "token" => ParamRef::Token(rest_boxed()),
        "ik_token" => ParamRef::Absent,
        "now" => no_path(ParamRef::Now)?,
        "auth" => match rest.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["level"] => ParamRef::AuthLevel,
            ["age"] => ParamRef::AuthAge,
            ["scopes"] => ParamRef::AuthScopes,
            _ => {
                return Err(Error::new(
                    Code::PolicyParameterInvalid,
                    format!("`$auth.{}` is unknown (use `$auth.level`, `$auth.age` or `$auth.scopes`)", rest.join(".")),
                ))
            }
        },
        "subject_external_id" => no_path(ParamRef::SubjectExtId)?,
        "resource_external_id" => no_path(ParamRef::ResourceExtId)?,
        "subject_type" => no_path(ParamRef::SubjectType)?,
        "resource_type" => no_path(ParamRef::ResourceType)?,
        "subject" => ParamRef::Subject(rest_boxed()),
        "resource" => ParamRef::Resource(rest_boxed()),
        "action" => ParamRef::Action(rest_boxed()),
        "context" => ParamRef::Context(rest_boxed()),
        name => {
            if name.is_empty() {
                return Err(Error::new(Code::PolicyParameterInvalid, "empty parameter name"));
            }
            ParamRef::Input(name.into(), rest_boxed())
        }
    })
}

/// Parse `$a.b.c` text (as used in filters) into a path.
pub fn param_path(text: &str) -> Option<Vec<String>> {
    let body = text.strip_prefix('$')?;
    let parts: Vec<String> = body.split('.').map(str::to_string).collect();
    if parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')) {
        return None;
    }
    Some(parts)
}

/// Compile a KBAC `condition.filter` (object tree, or array = AND) into an expression.
/// Advice maps of leaves are appended to `advice`.
pub fn compile_filter(v: &Json, path: &str, depth: usize, cx: &CompileCtx<'_>, advice: &mut Vec<Json>) -> Result<Option<CExpr>> {
    if depth > cx.max_filter_depth {
        return Err(Error::new(Code::PolicyFilterTooDeep, format!("filter nests deeper than {}", cx.max_filter_depth)).at_path(path));
    }
    match v {
        Json::Null => Ok(None),
        Json::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(e) = compile_filter(item, &format!("{path}[{i}]"), depth + 1, cx, advice)? {
                    parts.push(e);
                }
            }
            Ok(balanced(parts, CExpr::And))
        }
        Json::Object(o) if o.is_empty() => Ok(None),
        Json::Object(o) => {
            let op = o
                .get("operator")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::new(Code::PolicyFilterInvalid, "`operator` (a string) is required").at_path(format!("{path}.operator")))?;
            let upper = op.trim().to_ascii_uppercase();
            if matches!(upper.as_str(), "AND" | "OR" | "NOT") {
                let operands = o
                    .get("operands")
                    .and_then(Json::as_array)
                    .ok_or_else(|| Error::new(Code::PolicyFilterInvalid, format!("`{upper}` needs an `operands` array")).at_path(format!("{path}.operands")))?;
                let need_ok = if upper == "NOT" { operands.len() == 1 } else { operands.len() >= 2 };
                if !need_ok {
                    let need = if upper == "NOT" { "exactly 1 operand" } else { "at least 2 operands" };
                    return Err(Error::new(Code::PolicyFilterInvalid, format!("`{upper}` needs {need}, found {}", operands.len()))
                        .at_path(format!("{path}.operands")));
                }
                let mut parts = Vec::with_capacity(operands.len());
                for (i, x) in operands.iter().enumerate() {
                    let p = format!("{path}.operands[{i}]");
                    match compile_filter(x, &p, depth + 1, cx, advice)? {
                        Some(e) => parts.push(e),
                        None => return Err(Error::new(Code::PolicyFilterInvalid, "an operand must be a filter node").at_path(p)),
                    }
                }
                if upper == "NOT" {
                    return Ok(parts.pop().map(|e| CExpr::Not(Box::new(e))));
                }
                return Ok(balanced(parts, if upper == "AND" { CExpr::And } else { CExpr::Or }));
            }
            leaf(o, op, path, cx, advice).map(Some)
        }
        _ => Err(Error::new(Code::PolicyFilterInvalid, "a filter must be an object or an array").at_path(path)),
    }
}

/// Joins the operands of an n-ary AND/OR into a balanced binary tree: the tree is as high as
/// log2(n), so evaluating (and dropping) a filter with thousands of operands recurses only a
/// few dozen levels instead of once per operand. Both operators are associative, and the
/// evaluation order of the leaves is kept.
fn balanced(mut parts: Vec<CExpr>, join: fn(Box<CExpr>, Box<CExpr>) -> CExpr) -> Option<CExpr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        n => {
            let right = parts.split_off(n / 2);
            match (balanced(parts, join), balanced(right, join)) {
                (Some(l), Some(r)) => Some(join(Box::new(l), Box::new(r))),
                (l, r) => l.or(r),
            }
        }
    }
}

fn leaf(o: &serde_json::Map<String, Json>, op: &str, path: &str, cx: &CompileCtx<'_>, advice: &mut Vec<Json>) -> Result<CExpr> {
    let upper: String = op.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase();
    let attr = o
        .get("attribute")
        .ok_or_else(|| Error::new(Code::PolicyFilterInvalid, "`attribute` is required").at_path(format!("{path}.attribute")))?;
    let left = operand(attr, &format!("{path}.attribute"), cx, true)?;
    let expr = match upper.as_str() {
        "IS NULL" | "IS NOT NULL" => {
            if o.get("value").is_some_and(|v| !v.is_null()) {
                return Err(Error::new(Code::PolicyFilterInvalid, format!("`{upper}` takes no `value`")).at_path(format!("{path}.value")));
            }
            CExpr::IsNull { expr: Box::new(left), negated: upper == "IS NOT NULL" }
        }
        _ => {
            let cmp = CmpOp::from_filter(op).ok_or_else(|| {
                Error::new(Code::PolicyFilterInvalid, format!("unknown operator `{op}`")).at_path(format!("{path}.operator"))
            })?;
            let v = o
                .get("value")
                .ok_or_else(|| Error::new(Code::PolicyFilterInvalid, format!("`{}` needs a `value`", cmp.as_str())).at_path(format!("{path}.value")))?;
            let right = operand(v, &format!("{path}.value"), cx, false)?;
            if cmp == CmpOp::In && !matches!(right, CExpr::Lit(Value::List(_)) | CExpr::Param(_)) {
                return Err(Error::new(Code::PolicyFilterInvalid, "`IN` needs a list (or a `$` reference to one)").at_path(format!("{path}.value")));
            }
            comparison(cmp, left, right).map_err(|e| e.at_path(format!("{path}.value")))?
        }
    };
    match o.get("advice") {
        None | Some(Json::Null) => Ok(expr),
        Some(a @ Json::Object(_)) => {
            advice.push(a.clone());
            Ok(CExpr::Advice { expr: Box::new(expr), advice: (advice.len() - 1) as u32 })
        }
        Some(_) => Err(Error::new(Code::PolicyFilterInvalid, "`advice` must be an object").at_path(format!("{path}.advice"))),
    }
}

/// A filter operand: `$ref`, a datetime wrapper, or a JSON literal.
fn operand(v: &Json, path: &str, cx: &CompileCtx<'_>, is_attribute: bool) -> Result<CExpr> {
    match v {
        Json::String(s) if s.starts_with('$') => {
            let p = param_path(s).ok_or_else(|| Error::new(Code::PolicyParameterInvalid, format!("`{s}` is not a valid `$` reference")).at_path(path))?;
            Ok(CExpr::Param(param_ref(&p).map_err(|e| e.at_path(path))?))
        }
        Json::Object(o) if o.get("type").and_then(Json::as_str).is_some_and(|t| t.eq_ignore_ascii_case("datetime")) => {
            match o.get("value") {
                Some(Json::String(s)) if s.starts_with('$') => Ok(CExpr::DateTime(Box::new(operand(&Json::String(s.clone()), path, cx, false)?))),
                Some(Json::String(s)) => crate::datetime::parse_rfc3339(s)
                    .map(|us| CExpr::Lit(Value::DateTime(us)))
                    .ok_or_else(|| Error::new(Code::PolicyFilterInvalid, format!("`{s}` is not an RFC 3339 date-time")).at_path(format!("{path}.value"))),
                Some(Json::Number(n)) => Ok(CExpr::Lit(Value::DateTime(n.as_f64().map_or(0, |f| (f * 1e6) as i64)))),
                _ => Err(Error::new(Code::PolicyFilterInvalid, "a datetime needs a string `value`").at_path(format!("{path}.value"))),
            }
        }
        Json::String(s) if is_attribute => Err(Error::new(
            Code::PolicyFilterInvalid,
            format!("filter attribute `{s}` must be a `$` reference (filters are evaluated without the graph)"),
        )
        .at_path(path)),
        Json::Array(items) if items.len() > cx.max_in_list => {
            Err(Error::new(Code::LimitInList, format!("list of {} items exceeds the limit of {}", items.len(), cx.max_in_list)).at_path(path))
        }
        other => Ok(CExpr::Lit(Value::from_json(other))),
    }
}

/// Greedy join order: checks (both ends bound) first, then single hops from a bound end,
/// then variable-length hops, then scans for components that touch no bound node.
pub fn order(plan: &Plan, start: &[Slot]) -> Order {
    let mut bound: u64 = 0;
    for s in start {
        bound |= 1u64 << s;
    }
    let mut done = vec![false; plan.hops.len()];
    let mut pred_done = vec![false; plan.preds.len()];
    let pred_masks: Vec<u64> = plan
        .preds
        .iter()
        .map(|p| {
            let mut v = Vec::new();
            p.slots(&mut v);
            v.iter().fold(0u64, |m, s| m | (1u64 << s))
        })
        .collect();
    let mut ord = Order::default();
    let ready = |bound: u64, pred_done: &mut Vec<bool>| -> Vec<u16> {
        let mut out = Vec::new();
        for (i, m) in pred_masks.iter().enumerate() {
            if m & !bound == 0 && !pred_done.get(i).copied().unwrap_or(true) {
                if let Some(d) = pred_done.get_mut(i) {
                    *d = true;
                }
                out.push(i as u16);
            }
        }
        out
    };
    ord.initial_preds = ready(bound, &mut pred_done);
    let all_slots: u64 = if plan.slots.len() >= 64 { u64::MAX } else { (1u64 << plan.slots.len()) - 1 };
    loop {
        let is_bound = |s: Slot| bound & (1u64 << s) != 0;
        let mut pick: Option<(usize, Slot, Slot, u8)> = None;
        for (i, h) in plan.hops.iter().enumerate() {
            if done.get(i).copied().unwrap_or(true) {
                continue;
            }
            let rank = match (is_bound(h.a), is_bound(h.b), h.var_length) {
                (true, true, false) => 0,
                (true, true, true) => 1,
                (true, false, false) | (false, true, false) => 2,
                (true, false, true) | (false, true, true) => 3,
                _ => continue,
            };
            let (from, to) = if is_bound(h.a) { (h.a, h.b) } else { (h.b, h.a) };
            if pick.is_none_or(|p| rank < p.3) {
                pick = Some((i, from, to, rank));
            }
        }
        let op = if let Some((i, from, to, _)) = pick {
            if let Some(d) = done.get_mut(i) {
                *d = true;
            }
            bound |= 1u64 << to;
            Op::Hop { hop: i as u16, from, to }
        } else if bound & all_slots != all_slots {
            // A component with no bound node: scan from its most constrained slot.
            let unbound: Vec<Slot> = (0..plan.slots.len() as Slot).filter(|s| !is_bound(*s)).collect();
            let slot = unbound
                .iter()
                .copied()
                .find(|s| plan.slots.get(*s as usize).is_some_and(|x| !x.labels.is_empty()))
                .or_else(|| unbound.first().copied())
                .unwrap_or(0);
            bound |= 1u64 << slot;
            Op::Scan { slot }
        } else {
            break;
        };
        ord.ops.push(op);
        ord.after.push(ready(bound, &mut pred_done));
    }
    ord
}
