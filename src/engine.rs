//! The engine: a graph snapshot plus compiled policies, answering AuthZEN requests.
//!
//! Every operation has a JSON-string entry point (`*_json`) that never panics and
//! answers either the result or `{"error":{code,message,path?,line?,column?}}`.

use crate::error::{Code, Error, Result};

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
    /// Size and depth limits.
    pub limits: Limits,
}

/// Documented, configurable limits (each exceeded limit has its own error code).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of one request / batch / policy document (default 8 MiB for batches, see fields).
    pub max_request_bytes: usize,
    pub max_batch_bytes: usize,
    pub max_batch_items: usize,
    pub max_policy_bytes: usize,
    pub max_policies: usize,
    pub max_cypher_len: usize,
    pub max_expr_depth: usize,
    pub max_filter_depth: usize,
    pub max_in_list: usize,
    pub max_evaluations: usize,
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
}

fn pending() -> Error {
    Error::new(Code::ConfigInvalid, "engine not yet implemented")
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine { config }
    }
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
    /// Upsert a Capture batch: `{"nodes":[…]}`, `{"relationships":[…]}` or both keys.
    pub fn load_graph_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    pub fn upsert_nodes_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    pub fn upsert_relationships_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    pub fn delete_nodes_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    pub fn delete_relationships_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    pub fn delete_node_properties_json(&mut self, _json: &str) -> Result<GraphChange> {
        Err(pending())
    }
    /// Replace all policies atomically: one policy, one record, or an array of either.
    pub fn set_policies_json(&mut self, _json: &str) -> Result<usize> {
        Err(pending())
    }
    pub fn evaluate_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn evaluations_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn explain_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn search_subjects_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn search_resources_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn search_actions_json(&self, _request: &str, _opts: &EvalOptions) -> String {
        pending().to_wire()
    }
    pub fn stats(&self) -> Stats {
        Stats::default()
    }
}
