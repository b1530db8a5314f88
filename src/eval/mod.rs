//! Decisions: policy selection, subject/resource binding (with the virtual token node and
//! transient resources), pattern matching, filters, advice, explain, and search.

pub mod expr;
pub mod search;
pub mod small;
pub mod view;

use crate::engine::EngineConfig;
use crate::error::Code;
use crate::graph::{Graph, NodeId};
use crate::policy::{Policy, Status, Version};
use expr::Env;
use search::{Goal, Search};
use serde_json::{Map, Value as Json};
use small::SmallVec;
use view::{Handle, Transient, View, VirtualToken, TOKEN, TRANSIENT};

/// A subject or resource of a request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entity {
    pub ty: String,
    pub id: String,
    /// Request-supplied properties (never written into the graph).
    pub properties: Map<String, Json>,
}

/// The action of a request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Action {
    pub name: String,
    pub properties: Map<String, Json>,
}

/// A validated access request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub subject: Entity,
    pub action: Action,
    pub resource: Entity,
    pub context: Map<String, Json>,
}

impl Request {
    pub fn input_params(&self) -> Option<&Map<String, Json>> {
        self.context.get("input_params").and_then(Json::as_object)
    }

    fn policy_tags(&self) -> Option<Vec<&str>> {
        match self.context.get("policy_tags") {
            Some(Json::Array(a)) => Some(a.iter().filter_map(Json::as_str).collect()),
            Some(Json::String(s)) => Some(vec![s.as_str()]),
            _ => None,
        }
    }
}

/// Token-derived inputs of one evaluation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs<'a> {
    /// Verified claims (`None`: no token, or an expired one).
    pub claims: Option<&'a Map<String, Json>>,
    pub now: Option<i64>,
}

/// Why a decision is what it is, when there is something to say.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub code: Code,
    pub message: String,
}

/// `((type, id), relationship type, (type, id))`.
pub type PathEdge = ((String, String), String, (String, String));

/// The path that granted access (for `explain`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    /// `(variable, type, external_id)` for every named or anonymous node of the match.
    pub nodes: Vec<(Option<String>, String, String)>,
    /// `((type, id), relationship type, (type, id))`.
    pub relationships: Vec<PathEdge>,
}

/// The outcome of an evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub decision: bool,
    pub reason: Option<Reason>,
    pub advice: Vec<Json>,
    /// Index of the policy that permitted.
    pub policy: Option<usize>,
    pub path: Option<Path>,
}

impl Decision {
    fn deny(code: Code, message: String) -> Decision {
        Decision { reason: Some(Reason { code, message }), ..Decision::default() }
    }
}

/// The nodes a request binds to `subject` and `resource`.
struct Bound<'a> {
    view: View<'a>,
    subject: Handle,
    resource: Handle,
    subject_is_identity: bool,
}

fn identities(g: &Graph, config: &EngineConfig, ext: &str) -> SmallVec<NodeId, 4> {
    let mut out = SmallVec::default();
    let Some(e) = g.strings().get(ext) else { return out };
    match &config.identity_type {
        Some(t) => {
            if let Some(id) = g.strings().get(t).and_then(|ty| g.find(ty, e)) {
                out.push(id);
            }
        }
        None => {
            for ty in g.identity_types() {
                if let Some(id) = g.find(ty, e) {
                    out.push(id);
                }
            }
            out.as_mut_slice().sort_unstable();
        }
    }
    out.retain(|id| g.node(*id).is_some_and(|n| n.identity));
    out
}

/// The request's subject: a stored node, or the virtual token node (then set in `view`).
/// Returns the handle and whether the subject is an identity.
fn bind_subject<'a>(
    view: &mut View<'a>,
    config: &EngineConfig,
    req: &'a Request,
    claims: Option<&'a Map<String, Json>>,
) -> Option<(Handle, bool)> {
    let g = view.g;
    let strings = g.strings();
    let stored_subject = strings.get(&req.subject.ty).zip(strings.get(&req.subject.id)).and_then(|(t, e)| g.find(t, e));
    match stored_subject {
        Some(id) => Some((id, g.node(id).is_some_and(|n| n.identity))),
        None if req.subject.ty == config.token_type => {
            // The token node is virtual: it exists for the request, joined to the identity
            // its subject names (even without a token, so step-up advice can be given).
            view.token = Some(VirtualToken {
                ty: strings.get(&config.token_type)?,
                ext: &req.subject.id,
                same_as: strings.get("_SAME_AS").unwrap_or(u32::MAX),
                identities: identities(g, config, &req.subject.id),
                claims,
            });
            Some((TOKEN, true))
        }
        None => None,
    }
}

fn bind<'a>(g: &'a Graph, config: &EngineConfig, req: &'a Request, claims: Option<&'a Map<String, Json>>) -> Option<Bound<'a>> {
    let strings = g.strings();
    let mut view = View { g, token: None, transient: None };
    let (subject, subject_is_identity) = bind_subject(&mut view, config, req, claims)?;
    let stored_resource = strings.get(&req.resource.ty).zip(strings.get(&req.resource.id)).and_then(|(t, e)| g.find(t, e));
    let resource = match stored_resource {
        Some(id) => id,
        None => {
            view.transient = Some(Transient { ty: strings.get(&req.resource.ty)?, ext: &req.resource.id });
            TRANSIENT
        }
    };
    Some(Bound { view, subject, resource, subject_is_identity })
}

/// Policies that apply to the request: ACTIVE, matching types and action, and tags.
/// Policy types are interned when policies compile, so comparing symbols replaces string
/// compares; a request type that was never interned matches no policy.
pub fn applicable<'p>(g: &Graph, policies: &'p [Policy], candidates: &'p [usize], req: &'p Request) -> impl Iterator<Item = (usize, &'p Policy)> + 'p {
    let tags = req.policy_tags();
    let st = g.strings().get(&req.subject.ty);
    let rt = g.strings().get(&req.resource.ty);
    candidates.iter().filter_map(move |&i| {
        let p = policies.get(i)?;
        let ok = p.status == Status::Active
            && Some(p.subject_sym) == st
            && Some(p.resource_sym) == rt
            && p.actions.contains(&req.action.name)
            && tags.as_ref().is_none_or(|t| p.tags.iter().any(|pt| t.contains(&pt.as_str())));
        ok.then_some((i, p))
    })
}

fn auth_level(config: &EngineConfig, claims: Option<&Map<String, Json>>) -> i64 {
    claims
        .and_then(|c| c.get("acr"))
        .and_then(Json::as_str)
        .and_then(|acr| config.assurance_levels.iter().position(|l| l == acr))
        .map_or(-1, |i| i as i64)
}

/// Evaluate a request against the candidate policies (indices into `policies`).
pub fn decide(
    g: &Graph,
    policies: &[Policy],
    candidates: &[usize],
    config: &EngineConfig,
    req: &Request,
    inputs: Inputs<'_>,
    explain: bool,
) -> Decision {
    let mut budget = config.visit_budget;
    decide_within(g, policies, candidates, config, req, inputs, explain, &mut budget)
}

/// [`decide`] drawing its pattern work from `budget` (what is left is written back), so a
/// caller running many decisions (search) bounds their total work.
#[allow(clippy::too_many_arguments)]
fn decide_within(
    g: &Graph,
    policies: &[Policy],
    candidates: &[usize],
    config: &EngineConfig,
    req: &Request,
    inputs: Inputs<'_>,
    explain: bool,
    budget: &mut u64,
) -> Decision {
    // Computed once: each `applicable` pass looks the request's type names up in the interner.
    let mut chosen: SmallVec<usize, 8> = SmallVec::default();
    applicable(g, policies, candidates, req).for_each(|(i, _)| chosen.push(i));
    if chosen.as_slice().is_empty() {
        return Decision::deny(
            Code::NoApplicablePolicy,
            format!(
                "no ACTIVE policy grants `{}` to `{}` on `{}`",
                req.action.name, req.subject.ty, req.resource.ty
            ),
        );
    }
    let Some(bound) = bind(g, config, req, inputs.claims) else {
        return Decision::default();
    };
    if let Some(claims) = inputs.claims {
        // Token pin: a verified token speaks only for its own identity.
        let token_subject = claims.get(&config.subject_claim).and_then(Json::as_str);
        let pinned = bound.subject == TOKEN
            || bound.subject_is_identity
            || config.identity_type.as_deref() == Some(req.subject.ty.as_str());
        if pinned && token_subject != Some(req.subject.id.as_str()) {
            return Decision::deny(Code::TokenSubjectMismatch, "the verified token belongs to a different subject".into());
        }
    }
    let env = Env {
        view: &bound.view,
        req,
        claims: inputs.claims,
        now: inputs.now,
        auth_level: auth_level(config, inputs.claims),
        subject: bound.subject,
        resource: bound.resource,
    };
    // 2.0-kbac policies apply to identity subjects only.
    let usable = || {
        chosen
            .as_slice()
            .iter()
            .filter_map(|&i| policies.get(i).map(|p| (i, p)))
            .filter(|(_, p)| p.version != Version::V2Kbac || bound.subject_is_identity)
    };
    // Every usable policy's input params are checked before any pattern runs, so the answer
    // does not depend on which policy happens to be tried first.
    for (_, p) in usable() {
        if let Some(missing) = p.input_params.iter().find(|n| req.input_params().is_none_or(|m| !m.contains_key(n.as_str()))) {
            return Decision::deny(
                Code::MissingInputParam,
                format!("missing or wrong input params, `{missing}` (policy `{}`)", p.id),
            );
        }
    }
    let mut advice: Vec<Json> = Vec::new();
    for (index, p) in usable() {
        let filter_truth = p.filter.as_ref().map(|f| env.truth(f, &[]));
        let wants_pattern = match (&p.filter, filter_truth) {
            (None, _) | (_, Some(Some(true))) => true,
            (Some(f), _) => f.has_advice(),
        };
        if !wants_pattern {
            continue;
        }
        let mut s = Search::new(&env, &p.plan, &p.plan.both, *budget, Goal::Exists);
        s.want_witness = explain;
        let matched = s.start(&[(p.plan.subject, bound.subject), (p.plan.resource, bound.resource)]) && !s.exhausted;
        *budget = s.budget;
        if s.exhausted {
            return Decision::deny(
                Code::BudgetExhausted,
                format!("policy `{}` visited more than {} nodes and relationships", p.id, config.visit_budget),
            );
        }
        if !matched {
            continue;
        }
        match (&p.filter, filter_truth) {
            (None, _) | (_, Some(Some(true))) => {
                let path = if explain { s.witness.as_ref().map(|w| path_of(g, &bound.view, &p.plan, w)) } else { None };
                return Decision { decision: true, reason: None, advice: Vec::new(), policy: Some(index), path };
            }
            (Some(f), _) => {
                let mut idx = Vec::new();
                env.blame(f, true, &[], &mut idx);
                for i in idx {
                    if let Some(a) = p.advice.get(i as usize) {
                        if !advice.contains(a) {
                            advice.push(a.clone());
                        }
                    }
                }
            }
        }
    }
    Decision { advice, ..Decision::default() }
}

fn describe(g: &Graph, view: &View<'_>, h: Handle) -> (String, String) {
    match h {
        TOKEN => view.token.as_ref().map_or_else(Default::default, |t| (g.strings().resolve(t.ty).to_string(), t.ext.to_string())),
        TRANSIENT => view.transient.as_ref().map_or_else(Default::default, |t| (g.strings().resolve(t.ty).to_string(), t.ext.to_string())),
        _ => g.node(h).map_or_else(Default::default, |n| (g.strings().resolve(n.ty).to_string(), g.strings().resolve(n.ext).to_string())),
    }
}

fn path_of(g: &Graph, view: &View<'_>, plan: &crate::policy::Plan, w: &(Vec<Handle>, Vec<view::EdgeKey>)) -> Path {
    let mut path = Path::default();
    for (slot, h) in plan.slots.iter().zip(&w.0) {
        let (ty, id) = describe(g, view, *h);
        path.nodes.push((slot.name.clone(), ty, id));
    }
    for (s, ty, t) in &w.1 {
        path.relationships.push((describe(g, view, *s), g.strings().resolve(*ty).to_string(), describe(g, view, *t)));
    }
    path
}

/// Which end of the pattern a search enumerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchEnd {
    Subject,
    Resource,
}

/// Outcome of a search: stored nodes `(type, external_id)` in discovery order, de-duplicated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    pub items: Vec<(String, String)>,
    pub exhausted: bool,
}

/// Enumerate candidates by running each applicable policy's pattern from the bound end, then
/// confirm each candidate with a full decision (so search never disagrees with evaluate).
pub fn search(
    g: &Graph,
    policies: &[Policy],
    candidates: &[usize],
    config: &EngineConfig,
    req: &Request,
    inputs: Inputs<'_>,
    end: SearchEnd,
) -> Found {
    let mut found = Found::default();
    let mut seen: rustc_hash::FxHashSet<NodeId> = rustc_hash::FxHashSet::default();
    let chosen: Vec<(usize, &Policy)> = applicable(g, policies, candidates, req).collect();
    // One budget for the whole search: enumerating and confirming candidates both draw on
    // it, so no request does more than this much work however many candidates it finds.
    let mut budget = config.visit_budget.saturating_mul(8);
    let strings = g.strings();
    // The bound end is the same for every policy: bind it (and build the environment) once.
    // The subject may be the virtual token node, as in evaluate.
    let mut view = View { g, token: None, transient: None };
    let (wanted_name, start) = match end {
        SearchEnd::Subject => (&req.subject.ty, g.find_str(&req.resource.ty, &req.resource.id)),
        SearchEnd::Resource => (&req.resource.ty, bind_subject(&mut view, config, req, inputs.claims).map(|(s, _)| s)),
    };
    let (Some(wanted_type), Some(start)) = (strings.get(wanted_name), start) else { return found };
    let env = Env {
        view: &view,
        req,
        claims: inputs.claims,
        now: inputs.now,
        auth_level: auth_level(config, inputs.claims),
        subject: view::TRANSIENT,
        resource: view::TRANSIENT,
    };
    for (_, p) in chosen {
        let bound = match end {
            SearchEnd::Subject => (p.plan.resource, &p.plan.from_resource, p.plan.subject),
            SearchEnd::Resource => (p.plan.subject, &p.plan.from_subject, p.plan.resource),
        };
        let mut s = Search::new(&env, &p.plan, bound.1, budget, Goal::Collect(bound.2));
        s.start(&[(bound.0, start)]);
        budget = s.budget;
        found.exhausted |= s.exhausted;
        for h in s.found {
            if h >= TRANSIENT || !seen.insert(h) {
                continue;
            }
            // A pattern label also matches nodes that merely carry it as an extra label;
            // search answers nodes of the requested type only (as evaluate binds them).
            let Some(node) = g.node(h) else { continue };
            if node.ty != wanted_type {
                continue;
            }
            let id = strings.resolve(node.ext).to_string();
            let mut check = req.clone();
            match end {
                SearchEnd::Subject => check.subject.id = id.clone(),
                SearchEnd::Resource => check.resource.id = id.clone(),
            }
            let d = decide_within(g, policies, candidates, config, &check, inputs, false, &mut budget);
            if d.reason.as_ref().is_some_and(|r| r.code == Code::BudgetExhausted) {
                found.exhausted = true;
                break;
            }
            if d.decision {
                found.items.push((wanted_name.clone(), id));
            }
        }
        if found.exhausted {
            break;
        }
    }
    found
}
