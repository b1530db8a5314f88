//! The engine: a graph snapshot plus compiled policies, answering AuthZEN requests.
//!
//! Every operation has a JSON-string entry point (`*_json`) that never panics and
//! answers either the result or `{"error":{code,message,path?,line?,column?}}`.

use crate::authzen::{self, Batch as EvalBatch, SearchKind, Semantic};
use crate::error::{Code, Error, Result};
use crate::eval::{self, Decision, Inputs, Reason, Request, SearchEnd};
use crate::graph::{parse_batch, BatchKind, Graph};
use crate::policy::{self, Draft, Policy};
use crate::token::{Jwks, TokenConfig, Verifier};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// Engine configuration; `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Upper bound for unbounded `*` and for every range maximum (default 8).
    pub max_path_length: u32,
    /// Nodes + relationships a single evaluation may visit before it answers
    /// `false` with reason `budget_exhausted` (default 200,000).
    pub visit_budget: u64,
    /// Node type of the virtual token node (default `Token`).
    pub token_type: String,
    /// Claim that names the token's identity (default `sub`).
    pub subject_claim: String,
    /// Identity node type a token joins to; `None` = any node with `is_identity`.
    pub identity_type: Option<String>,
    /// Ordered `acr` values, weakest first (e.g. `pwd`, `otp`, `mfa`, `phr`).
    pub assurance_levels: Vec<String>,
    /// Scope → actions it grants in down-scoped tokens (default: the action named like the scope).
    pub scope_actions: std::collections::BTreeMap<String, Vec<String>>,
    /// Size and depth limits.
    pub limits: Limits,
}

/// Documented, configurable limits (each exceeded limit has its own error code). In the JSON
/// configuration they sit under `"limits"` with camelCase names (`maxRequestBytes`, …).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of one AuthZEN request (default 1 MiB).
    pub max_request_bytes: usize,
    /// Bytes of one graph batch (default 256 MiB).
    pub max_batch_bytes: usize,
    /// Nodes + relationships of one graph batch (default 5,000,000).
    pub max_batch_items: usize,
    /// Bytes of one policy, as Config-API text or compact JSON (default 512,000).
    pub max_policy_bytes: usize,
    /// Policies in one set (default 10,000).
    pub max_policies: usize,
    /// Characters of one Cypher condition (default 16 KiB).
    pub max_cypher_len: usize,
    /// Nesting of Cypher expressions (default 64, at most 128).
    pub max_expr_depth: usize,
    /// Nesting of `condition.filter` (default 32, at most 128).
    pub max_filter_depth: usize,
    /// Items of one `IN` list (default 100,000).
    pub max_in_list: usize,
    /// Items of one `evaluations` batch (default 10,000).
    pub max_evaluations: usize,
}

impl Limits {
    /// Set the limit named `name` (camelCase, as in the JSON configuration).
    fn set(&mut self, name: &str, value: usize) -> std::result::Result<(), String> {
        // Depths bound recursion (the stack), so they have a ceiling.
        let (field, ceiling) = match name {
            "maxRequestBytes" => (&mut self.max_request_bytes, usize::MAX),
            "maxBatchBytes" => (&mut self.max_batch_bytes, usize::MAX),
            "maxBatchItems" => (&mut self.max_batch_items, usize::MAX),
            "maxPolicyBytes" => (&mut self.max_policy_bytes, usize::MAX),
            "maxPolicies" => (&mut self.max_policies, usize::MAX),
            "maxCypherLength" => (&mut self.max_cypher_len, usize::MAX),
            "maxExpressionDepth" => (&mut self.max_expr_depth, 128),
            "maxFilterDepth" => (&mut self.max_filter_depth, 128),
            "maxInList" => (&mut self.max_in_list, usize::MAX),
            "maxEvaluations" => (&mut self.max_evaluations, usize::MAX),
            _ => return Err(format!("`limits.{name}` is not a known limit")),
        };
        if value > ceiling {
            return Err(format!("`limits.{name}` may be at most {ceiling}"));
        }
        *field = value;
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 1 << 20,
            max_batch_bytes: 256 << 20,
            max_batch_items: 5_000_000,
            max_policy_bytes: 512_000,
            max_policies: 10_000,
            max_cypher_len: 16 * 1024,
            max_expr_depth: 64,
            max_filter_depth: 32,
            max_in_list: 100_000,
            max_evaluations: 10_000,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_path_length: 8,
            visit_budget: 200_000,
            token_type: "Token".to_string(),
            subject_claim: "sub".to_string(),
            identity_type: None,
            assurance_levels: Vec::new(),
            scope_actions: std::collections::BTreeMap::new(),
            limits: Limits::default(),
        }
    }
}

/// Per-call inputs that are not part of the AuthZEN request.
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    /// Engine clock in epoch seconds (`$now`, token `exp`/`nbf`, `$auth.age`).
    pub now: Option<i64>,
    /// Already-verified token claims (native API/CLI); feed `$token.*`.
    pub claims: Option<serde_json::Value>,
    /// A compact JWS to verify against the configured JWKS (token issue).
    pub token: Option<String>,
}

/// What a graph batch changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphChange {
    pub nodes: usize,
    pub relationships: usize,
}

impl GraphChange {
    pub fn to_json(self) -> String {
        format!(r#"{{"nodes":{},"relationships":{}}}"#, self.nodes, self.relationships)
    }
}

/// Counts of the engine's contents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub nodes: usize,
    pub relationships: usize,
    pub policies: usize,
}

/// The policy decision point.
#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    graph: Graph,
    policies: Vec<Policy>,
    drafts: Vec<Draft>,
    /// The policy document as loaded, recompiled when the graph is replaced.
    policy_source: Option<Json>,
    /// Action name → indices of policies granting it.
    by_action: FxHashMap<String, Vec<usize>>,
    verifier: Option<Verifier>,
    /// Bumped by every graph or policy change (search page tokens are tied to it).
    version: u64,
}

/// Claims resolved for one evaluation.
enum TokenState {
    None,
    Claims(Arc<Map<String, Json>>),
    Borrowed,
    Expired,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine { config, ..Engine::default() }
    }

    /// Build from a JSON configuration (`{"maxPathLength", "visitBudget", "tokenType",
    /// "subjectClaim", "identityType", "assuranceLevels", "scopeActions": {scope: [action…]},
    /// "limits": {"maxRequestBytes", "maxPolicyBytes", …} (see [`Limits`]),
    /// "token": {issuer, audience, leeway, requiredClaims, allowedAlgorithms, maxTokenLength,
    /// hs256Secret}, "jwks": {...}}`). Token options are checked strictly (a wrong type or an
    /// unknown member is `config.invalid`): a silently ignored issuer would accept any issuer.
    pub fn from_config_json(json: &str) -> Result<Self> {
        let v: Json = serde_json::from_str(json).map_err(|e| Error::from_json(&e, "engine configuration"))?;
        let o = v.as_object().ok_or_else(|| Error::new(Code::ConfigInvalid, "the configuration must be a JSON object"))?;
        let mut c = EngineConfig::default();
        let num = |k: &str| o.get(k).and_then(Json::as_u64);
        let text = |k: &str| o.get(k).and_then(Json::as_str).map(str::to_string);
        if let Some(n) = num("maxPathLength") {
            if n == 0 || n > 64 {
                return Err(Error::new(Code::ConfigInvalid, "`maxPathLength` must be between 1 and 64").at_path("maxPathLength"));
            }
            c.max_path_length = n as u32;
        }
        if let Some(n) = num("visitBudget") {
            c.visit_budget = n;
        }
        if let Some(t) = text("tokenType") {
            c.token_type = t;
        }
        if let Some(t) = text("subjectClaim") {
            c.subject_claim = t;
        }
        c.identity_type = text("identityType");
        if let Some(levels) = o.get("assuranceLevels").or_else(|| o.get("assurance").and_then(|a| a.get("levels"))) {
            c.assurance_levels = serde_json::from_value(levels.clone())
                .map_err(|_| Error::new(Code::ConfigInvalid, "`assuranceLevels` must be an array of strings").at_path("assuranceLevels"))?;
        }
        if let Some(map) = o.get("scopeActions") {
            c.scope_actions = serde_json::from_value(map.clone()).map_err(|_| {
                Error::new(Code::ConfigInvalid, "`scopeActions` must map each scope to an array of action names").at_path("scopeActions")
            })?;
        }
        match o.get("limits") {
            None | Some(Json::Null) => {}
            Some(Json::Object(limits)) => {
                for (name, value) in limits {
                    let path = format!("limits.{name}");
                    let n = value
                        .as_u64()
                        .filter(|n| *n > 0)
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| Error::new(Code::ConfigInvalid, format!("`{path}` must be a positive integer")).at_path(path.as_str()))?;
                    c.limits.set(name, n).map_err(|m| Error::new(Code::ConfigInvalid, m).at_path(path))?;
                }
            }
            Some(_) => return Err(Error::new(Code::ConfigInvalid, "`limits` must be an object").at_path("limits")),
        }
        let mut engine = Engine::new(c);
        if o.contains_key("token") || o.contains_key("jwks") {
            let tc = token_config(o.get("token"))?;
            let jwks = match o.get("jwks") {
                None | Some(Json::Null) => None,
                Some(j) => Some(Jwks::from_json(&j.to_string())?.0),
            };
            engine.verifier = Some(Verifier::new(tc, jwks)?);
        }
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// Version of graph + policies (changes on every update).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Configure token verification (replaces any earlier configuration).
    pub fn set_token_verifier(&mut self, verifier: Verifier) {
        self.verifier = Some(verifier);
    }

    /// The token verifier, if one is configured (e.g. to inspect its cache).
    pub fn token_verifier(&self) -> Option<&Verifier> {
        self.verifier.as_ref()
    }

    /// Replace the JWKS; malformed keys are skipped and returned.
    pub fn set_jwks_json(&mut self, json: &str) -> Result<Vec<Error>> {
        let (jwks, skipped) = Jwks::from_json(json)?;
        self.set_jwks(jwks)?;
        Ok(skipped)
    }

    /// Replace the JWKS with an already parsed key set.
    pub fn set_jwks(&mut self, jwks: Jwks) -> Result<()> {
        match &mut self.verifier {
            Some(v) => v.set_jwks(jwks),
            None => self.verifier = Some(Verifier::new(TokenConfig::default(), Some(jwks))?),
        }
        Ok(())
    }

    fn apply(&mut self, json: &str, kind: BatchKind) -> Result<GraphChange> {
        let batch = parse_batch(json, kind, &self.config.limits)?;
        self.graph.check(&batch)?;
        let change = self.graph.apply(&batch);
        self.version += 1;
        Ok(change)
    }

    /// Upsert a Capture batch: `{"nodes":[…]}`, `{"relationships":[…]}` or both keys.
    pub fn load_graph_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::Upsert)
    }
    pub fn upsert_nodes_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::UpsertNodes)
    }
    pub fn upsert_relationships_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::UpsertRelationships)
    }
    pub fn delete_nodes_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::DeleteNodes)
    }
    pub fn delete_relationships_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::DeleteRelationships)
    }
    pub fn delete_node_properties_json(&mut self, json: &str) -> Result<GraphChange> {
        self.apply(json, BatchKind::DeleteNodeProperties)
    }

    /// Replace the graph wholesale (bulk build; used by generators and snapshot loads).
    pub fn replace_graph(&mut self, graph: Graph) -> Result<()> {
        let mut g = graph;
        if let Some(src) = &self.policy_source {
            let set = policy::load_policy_value(src, &self.config, &mut g.strings)?;
            self.install(set, Some(src.clone()));
        }
        self.graph = g;
        self.version += 1;
        Ok(())
    }

    /// The graph and policies as a binary snapshot (see `graph::snapshot`).
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let policies = self.policy_source.as_ref().map(Json::to_string);
        crate::graph::snapshot::write(&self.graph, policies.as_deref())
    }

    /// Replace graph (and policies, if the snapshot holds them) from a binary snapshot.
    /// Nothing changes unless the whole snapshot and its policies are valid.
    pub fn load_snapshot(&mut self, bytes: &[u8]) -> Result<GraphChange> {
        let (mut g, policies) = crate::graph::snapshot::read(bytes)?;
        let doc = match &policies {
            Some(text) => Some(serde_json::from_str::<Json>(text).map_err(|e| Error::from_json(&e, "snapshot policies"))?),
            None => self.policy_source.clone(),
        };
        let set = match &doc {
            Some(d) => Some(policy::load_policy_value(d, &self.config, &mut g.strings)?),
            None => None,
        };
        let change = GraphChange { nodes: g.node_count(), relationships: g.relationship_count() };
        if let Some(set) = set {
            self.install(set, doc);
        }
        self.graph = g;
        self.version += 1;
        Ok(change)
    }

    /// Replace all policies atomically: one policy, one record, or an array of either.
    /// Returns the number of compiled (ACTIVE + INACTIVE) policies.
    pub fn set_policies_json(&mut self, json: &str) -> Result<usize> {
        let doc: Json = serde_json::from_str(json).map_err(|e| Error::from_json(&e, "policy document"))?;
        let set = policy::load_policy_value(&doc, &self.config, &mut self.graph.strings)?;
        let n = set.policies.len();
        self.install(set, Some(doc));
        self.version += 1;
        Ok(n)
    }

    fn install(&mut self, set: policy::PolicySet, source: Option<Json>) {
        self.by_action.clear();
        for (i, p) in set.policies.iter().enumerate() {
            for a in &p.actions {
                let e = self.by_action.entry(a.clone()).or_default();
                if !e.contains(&i) {
                    e.push(i);
                }
            }
        }
        self.policies = set.policies;
        self.drafts = set.drafts;
        self.policy_source = source;
    }

    /// Warnings of every compiled policy: `(policy id, message)`.
    pub fn warnings(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for p in &self.policies {
            for w in &p.warnings {
                out.push((p.id.clone(), w.clone()));
            }
        }
        out
    }

    fn candidates(&self, action: &str) -> &[usize] {
        self.by_action.get(action).map_or(&[], Vec::as_slice)
    }

    fn resolve_token(&self, opts: &EvalOptions) -> std::result::Result<TokenState, Reason> {
        if let Some(token) = &opts.token {
            let Some(v) = &self.verifier else {
                return Err(Reason { code: Code::TokenNoVerifier, message: "a token was given but no JWKS or secret is configured".into() });
            };
            let Some(now) = opts.now else {
                return Err(Reason { code: Code::ConfigInvalid, message: "verifying a token needs the clock (`now`)".into() });
            };
            return match v.verify_cached(token, now) {
                Ok(claims) => Ok(TokenState::Claims(claims)),
                Err(e) if e.code() == Code::TokenExpired => Ok(TokenState::Expired),
                Err(e) => Err(Reason { code: e.code(), message: e.message().to_string() }),
            };
        }
        Ok(match &opts.claims {
            Some(Json::Object(_)) => TokenState::Borrowed,
            _ => TokenState::None,
        })
    }

    /// Evaluate a parsed request.
    pub fn evaluate(&self, req: &Request, opts: &EvalOptions) -> Decision {
        self.evaluate_inner(req, opts, false)
    }

    fn evaluate_inner(&self, req: &Request, opts: &EvalOptions, explain: bool) -> Decision {
        let state = match self.resolve_token(opts) {
            Ok(s) => s,
            Err(reason) => return Decision { reason: Some(reason), ..Decision::default() },
        };
        let claims: Option<&Map<String, Json>> = match &state {
            TokenState::Claims(c) => Some(c),
            TokenState::Borrowed => opts.claims.as_ref().and_then(Json::as_object),
            TokenState::None | TokenState::Expired => None,
        };
        if let Some(c) = claims {
            if let Some(reason) = self.token_restriction(c, req) {
                return Decision { reason: Some(reason), ..Decision::default() };
            }
        }
        let inputs = Inputs { claims, now: opts.now };
        let mut d = eval::decide(&self.graph, &self.policies, self.candidates(&req.action.name), &self.config, req, inputs, explain);
        if matches!(state, TokenState::Expired) && !d.decision && d.reason.is_none() {
            d.reason = Some(Reason { code: Code::TokenExpired, message: "the token has expired; authenticate again".into() });
        }
        d
    }

    /// Down-scoped tokens (Keycloak RPT, DESIGN semantics 7).
    /// A token whose `authorization.permissions` is present but not an array, or whose entry
    /// has `scopes` that is not an array, grants nothing there (fail closed, not open).
    fn token_restriction(&self, claims: &Map<String, Json>, req: &Request) -> Option<Reason> {
        let permitted = self.token_permits(claims, &req.action.name, &req.resource.id)?;
        (!permitted).then(|| Reason {
            code: Code::TokenNotPermitted,
            message: format!("the token's permissions do not cover `{}` on `{}`", req.action.name, req.resource.id),
        })
    }

    /// `None` when the token is not down-scoped, else whether it permits `action` on `resource`.
    fn token_permits(&self, claims: &Map<String, Json>, action: &str, resource: &str) -> Option<bool> {
        let perms = claims.get("authorization")?.get("permissions")?;
        let perms = perms.as_array().map_or(&[][..], Vec::as_slice);
        Some(perms.iter().any(|p| {
            let names_resource = ["rsid", "rsname"].iter().any(|k| p.get(*k).and_then(Json::as_str) == Some(resource));
            let scope_ok = match p.get("scopes") {
                None | Some(Json::Null) => true,
                Some(Json::Array(s)) if s.is_empty() => true,
                Some(Json::Array(s)) => s.iter().filter_map(Json::as_str).any(|sc| self.scope_grants(sc, action)),
                Some(_) => false,
            };
            names_resource && scope_ok
        }))
    }

    fn scope_grants(&self, scope: &str, action: &str) -> bool {
        match self.config.scope_actions.get(scope) {
            Some(actions) => actions.iter().any(|a| a == action),
            None => scope == action,
        }
    }

    fn parse_request(&self, text: &str) -> Result<Request> {
        let doc = authzen::parse_json(text, self.config.limits.max_request_bytes, "request")?;
        authzen::parse_evaluation(&doc)
    }

    /// `/access/v1/evaluation` as JSON text in and out.
    pub fn evaluate_json(&self, request: &str, opts: &EvalOptions) -> String {
        match self.parse_request(request) {
            Ok(req) => authzen::decision_text(&self.evaluate(&req, opts)),
            Err(e) => e.to_wire(),
        }
    }

    /// `explain`: the decision, the deciding policy and the matching path.
    pub fn explain_json(&self, request: &str, opts: &EvalOptions) -> String {
        match self.parse_request(request) {
            Ok(req) => {
                let d = self.evaluate_inner(&req, opts, true);
                let id = d.policy.and_then(|i| self.policies.get(i)).map(|p| p.id.as_str());
                authzen::explain_json(&d, id).to_string()
            }
            Err(e) => e.to_wire(),
        }
    }

    /// `/access/v1/evaluations` (batch) as JSON text in and out.
    pub fn evaluations_json(&self, request: &str, opts: &EvalOptions) -> String {
        let doc = match authzen::parse_json(request, self.config.limits.max_request_bytes, "request") {
            Ok(d) => d,
            Err(e) => return e.to_wire(),
        };
        match authzen::parse_evaluations(&doc, self.config.limits.max_evaluations) {
            Err(e) => e.to_wire(),
            Ok(EvalBatch::Single(r)) => match r {
                Ok(req) => authzen::decision_text(&self.evaluate(&req, opts)),
                Err(e) => e.to_wire(),
            },
            Ok(EvalBatch::Many(semantic, items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let d = match item {
                        Ok(req) => self.evaluate(&req, opts),
                        Err(e) => Decision { reason: Some(Reason { code: e.code(), message: e.to_string() }), ..Decision::default() },
                    };
                    let stop = match semantic {
                        Semantic::ExecuteAll => false,
                        Semantic::DenyOnFirstDeny => !d.decision,
                        Semantic::PermitOnFirstPermit => d.decision,
                    };
                    out.push(authzen::decision_json(&d));
                    if stop {
                        break;
                    }
                }
                let mut m = Map::new();
                m.insert("evaluations".into(), Json::Array(out));
                Json::Object(m).to_string()
            }
        }
    }

    fn search_json(&self, request: &str, opts: &EvalOptions, kind: SearchKind) -> String {
        let result = (|| -> Result<authzen::SearchAnswer> {
            let doc = authzen::parse_json(request, self.config.limits.max_request_bytes, "request")?;
            let sr = authzen::parse_search(&doc, kind)?;
            let state = self.resolve_token(opts).map_err(|r| Error::new(r.code, r.message))?;
            let claims: Option<&Map<String, Json>> = match &state {
                TokenState::Claims(c) => Some(c),
                TokenState::Borrowed => opts.claims.as_ref().and_then(Json::as_object),
                _ => None,
            };
            let inputs = Inputs { claims, now: opts.now };
            let req = &sr.request;
            let results: Vec<authzen::SearchResult> = match kind {
                SearchKind::Action => self.search_actions(req, opts).into_iter().map(|name| authzen::SearchResult::Action { name }).collect(),
                SearchKind::Subject | SearchKind::Resource => {
                    let end = if kind == SearchKind::Subject { SearchEnd::Subject } else { SearchEnd::Resource };
                    let found = eval::search(&self.graph, &self.policies, self.candidates(&req.action.name), &self.config, req, inputs, end);
                    if found.exhausted {
                        return Err(Error::new(Code::BudgetExhausted, "the search visited more nodes and relationships than its budget"));
                    }
                    // Candidates are confirmed by `eval::decide`, which does not see down-scoped
                    // tokens; apply the token's permissions here so search never exceeds evaluate.
                    let permits = |id: &str| {
                        let resource = if kind == SearchKind::Resource { id } else { req.resource.id.as_str() };
                        claims.and_then(|c| self.token_permits(c, &req.action.name, resource)) != Some(false)
                    };
                    found.items.into_iter().filter(|(_, id)| permits(id)).map(|(ty, id)| authzen::SearchResult::Entity { ty, id }).collect()
                }
            };
            authzen::paginate(kind, &sr, self.version, results)
        })();
        match result.and_then(|answer| serde_json::to_string(&answer).map_err(|e| Error::new(Code::SearchInvalid, e.to_string()))) {
            Ok(v) => v,
            Err(e) => e.to_wire(),
        }
    }

    fn search_actions(&self, req: &Request, opts: &EvalOptions) -> Vec<String> {
        let mut names: Vec<&str> = Vec::new();
        for p in &self.policies {
            if p.status == policy::Status::Active && p.subject_type == req.subject.ty && p.resource_type == req.resource.ty {
                for a in &p.actions {
                    if !names.contains(&a.as_str()) {
                        names.push(a);
                    }
                }
            }
        }
        names
            .into_iter()
            .filter(|a| {
                let mut r = req.clone();
                r.action.name = (*a).to_string();
                self.evaluate(&r, opts).decision
            })
            .map(str::to_string)
            .collect()
    }

    /// Deprecated IndyKite `/access/v1/what-authorized`: `{subject:{type,id}, evaluations:
    /// [{action:{name}, resource:{type}}], context?}` → `{evaluations:[{action, resource:{type,id}}]}`,
    /// one entry per permitted resource (answered by resource search).
    pub fn what_authorized_json(&self, request: &str, opts: &EvalOptions) -> String {
        self.legacy_json(request, opts, true)
    }

    /// Deprecated IndyKite `/access/v1/who-authorized`: `{evaluations:[{action:{name},
    /// resource:{type,id}}], context?}` → `{evaluations:[{action, resource, subjects:[{type,id}]}]}`
    /// (answered by subject search over every subject type a policy names).
    pub fn who_authorized_json(&self, request: &str, opts: &EvalOptions) -> String {
        self.legacy_json(request, opts, false)
    }

    fn legacy_json(&self, request: &str, opts: &EvalOptions, what: bool) -> String {
        let result = (|| -> Result<Json> {
            let doc = authzen::parse_json(request, self.config.limits.max_request_bytes, "request")?;
            let o = doc.as_object().ok_or_else(|| Error::new(Code::SearchInvalid, "the request body must be a JSON object"))?;
            let items = o
                .get("evaluations")
                .and_then(Json::as_array)
                .ok_or_else(|| Error::new(Code::SearchInvalid, "`evaluations` (an array) is required").at_path("evaluations"))?;
            if items.len() > self.config.limits.max_evaluations {
                return Err(Error::new(Code::InputTooLarge, "too many evaluations").at_path("evaluations"));
            }
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let mut body = Map::new();
                for key in ["subject", "context"] {
                    if let Some(v) = o.get(key) {
                        body.insert(key.into(), v.clone());
                    }
                }
                for key in ["action", "resource"] {
                    if let Some(v) = item.get(key) {
                        body.insert(key.into(), v.clone());
                    }
                }
                let action = item.get("action").cloned().unwrap_or(Json::Null);
                if what {
                    let answer: Json = serde_json::from_str(&self.search_resources_json(&Json::Object(body).to_string(), opts))
                        .map_err(|e| Error::new(Code::SearchInvalid, e.to_string()))?;
                    if let Some(err) = answer.get("error") {
                        return Err(Error::new(Code::SearchInvalid, err.get("message").and_then(Json::as_str).unwrap_or("invalid evaluation").to_string())
                            .at_path(format!("evaluations[{i}]")));
                    }
                    for r in answer.get("results").and_then(Json::as_array).into_iter().flatten() {
                        out.push(serde_json::json!({"action": action, "resource": r}));
                    }
                } else {
                    let resource_type = item.get("resource").and_then(|r| r.get("type")).and_then(Json::as_str).unwrap_or("");
                    let action_name = item.get("action").and_then(|a| a.get("name")).and_then(Json::as_str).unwrap_or("");
                    let mut types: Vec<&str> = Vec::new();
                    for p in &self.policies {
                        if p.resource_type == resource_type && p.actions.iter().any(|a| a == action_name) && !types.contains(&p.subject_type.as_str()) {
                            types.push(&p.subject_type);
                        }
                    }
                    let mut subjects = Vec::new();
                    for t in types {
                        body.insert("subject".into(), serde_json::json!({ "type": t }));
                        let answer: Json = serde_json::from_str(&self.search_subjects_json(&Json::Object(body.clone()).to_string(), opts))
                            .map_err(|e| Error::new(Code::SearchInvalid, e.to_string()))?;
                        if let Some(err) = answer.get("error") {
                            return Err(Error::new(Code::SearchInvalid, err.get("message").and_then(Json::as_str).unwrap_or("invalid evaluation").to_string())
                                .at_path(format!("evaluations[{i}]")));
                        }
                        subjects.extend(answer.get("results").and_then(Json::as_array).cloned().unwrap_or_default());
                    }
                    out.push(serde_json::json!({"action": action, "resource": item.get("resource"), "subjects": subjects}));
                }
            }
            let mut m = Map::new();
            m.insert("evaluations".into(), Json::Array(out));
            Ok(Json::Object(m))
        })();
        match result {
            Ok(v) => v.to_string(),
            Err(e) => e.to_wire(),
        }
    }

    /// `/access/v1/search/subject`.
    pub fn search_subjects_json(&self, request: &str, opts: &EvalOptions) -> String {
        self.search_json(request, opts, SearchKind::Subject)
    }
    /// `/access/v1/search/resource`.
    pub fn search_resources_json(&self, request: &str, opts: &EvalOptions) -> String {
        self.search_json(request, opts, SearchKind::Resource)
    }
    /// `/access/v1/search/action`.
    pub fn search_actions_json(&self, request: &str, opts: &EvalOptions) -> String {
        self.search_json(request, opts, SearchKind::Action)
    }

    pub fn stats(&self) -> Stats {
        Stats { nodes: self.graph.node_count(), relationships: self.graph.relationship_count(), policies: self.policies.len() }
    }
}

fn token_config(v: Option<&Json>) -> Result<TokenConfig> {
    const KEYS: [&str; 7] = ["issuer", "audience", "leeway", "requiredClaims", "allowedAlgorithms", "maxTokenLength", "hs256Secret"];
    let mut c = TokenConfig::default();
    let o = match v {
        None | Some(Json::Null) => return Ok(c),
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::new(Code::ConfigInvalid, "`token` must be an object").at_path("token")),
    };
    let bad = |k: &str, what: &str| Error::new(Code::ConfigInvalid, format!("`token.{k}` must be {what}")).at_path(format!("token.{k}"));
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(Error::new(
            Code::ConfigInvalid,
            format!("unknown token option `{}` (known: {})", crate::token::quote::clip(k), KEYS.join(", ")),
        )
        .at_path("token"));
    }
    // Present-but-null counts as absent; any other wrong type is an error, never ignored.
    let get = |k: &str| o.get(k).filter(|v| !v.is_null());
    let strings = |k: &str| -> Result<Option<Vec<String>>> {
        match get(k) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Json::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(|| bad(k, "a string or an array of strings")))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(bad(k, "a string or an array of strings")),
        }
    };
    if let Some(i) = get("issuer") {
        c.issuer = Some(i.as_str().ok_or_else(|| bad("issuer", "a string"))?.to_string());
    }
    if let Some(a) = strings("audience")? {
        c.audience = a;
    }
    if let Some(l) = get("leeway") {
        c.leeway_secs = l.as_i64().ok_or_else(|| bad("leeway", "a whole number of seconds"))?;
    }
    if let Some(r) = strings("requiredClaims")? {
        c.required_claims = r;
    }
    if let Some(a) = strings("allowedAlgorithms")? {
        c.allowed_algs = a;
    }
    if let Some(m) = get("maxTokenLength") {
        let m = m.as_u64().ok_or_else(|| bad("maxTokenLength", "a positive whole number of bytes"))?;
        c.max_token_len = usize::try_from(m).unwrap_or(usize::MAX);
    }
    if let Some(s) = get("hs256Secret") {
        c.hs256_secret = Some(s.as_str().ok_or_else(|| bad("hs256Secret", "a string"))?.as_bytes().to_vec());
        if !c.allowed_algs.iter().any(|a| a == "HS256") {
            c.allowed_algs.push("HS256".into());
        }
    }
    Ok(c)
}
