//! wasm-bindgen exports: the `Engine` class used by the npm package's JS shim.
//!
//! Compiled only for `wasm32`. Every function here decodes its arguments, calls one
//! `kbac::Engine` entry point (the `*_json` ones, or the typed `evaluate` for the id-only
//! fast path) and returns its answer; no policy logic lives here.
//! Domain outcomes and bad input come back as JSON data (`{"error":{…}}`); JS exceptions
//! are reserved for misuse (wrong argument types, an invalid engine configuration).

use wasm_bindgen::prelude::*;

use crate::authzen;
use crate::engine::{Engine, EngineConfig, EvalOptions, GraphChange};
use crate::eval::Request;
use crate::error::{Code, Error, Result};
use crate::token::Jwks;

/// Result codes of [`JsEngine::evaluate_ids`]: the answer was exactly
/// `{"decision":false}` / `{"decision":true}`, anything else (read it with `lastResult`),
/// or the ids could not be unpacked (call `evaluate`).
const IDS_FALSE: u32 = 0;
const IDS_TRUE: u32 = 1;
const IDS_OTHER: u32 = 2;
const IDS_UNPACKED: u32 = 3;

/// The policy decision point, exported to JS as `Engine`.
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    inner: Engine,
    /// The full answer of the last `evaluateIds` call (lazy context).
    last: String,
    /// Reused by the id-only calls: refilled in place, so a hot loop allocates nothing.
    scratch: Request,
    /// Tokens registered by the shim (`registerToken`), passed by slot afterwards.
    token_slots: Vec<String>,
}

/// Registered tokens kept per engine (a few hundred users' tokens in a hot loop).
const TOKEN_SLOTS: usize = 256;

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// `new Engine(configJson?)`; throws only for an invalid configuration (misuse).
    #[wasm_bindgen(constructor)]
    pub fn new(config: Option<String>) -> std::result::Result<JsEngine, JsError> {
        let inner = match config.as_deref() {
            None | Some("") => Engine::new(EngineConfig::default()),
            Some(json) => Engine::from_config_json(json).map_err(|e| JsError::new(&e.to_wire()))?,
        };
        Ok(JsEngine { inner, last: String::new(), scratch: Request::default(), token_slots: Vec::new() })
    }

    /// Upsert a Capture batch (`{nodes?, relationships?}`).
    #[wasm_bindgen(js_name = loadGraph)]
    pub fn load_graph(&mut self, json: &str) -> String {
        change_wire(self.inner.load_graph_json(json))
    }

    #[wasm_bindgen(js_name = upsertNodes)]
    pub fn upsert_nodes(&mut self, json: &str) -> String {
        change_wire(self.inner.upsert_nodes_json(json))
    }

    #[wasm_bindgen(js_name = upsertRelationships)]
    pub fn upsert_relationships(&mut self, json: &str) -> String {
        change_wire(self.inner.upsert_relationships_json(json))
    }

    #[wasm_bindgen(js_name = deleteNodes)]
    pub fn delete_nodes(&mut self, json: &str) -> String {
        change_wire(self.inner.delete_nodes_json(json))
    }

    #[wasm_bindgen(js_name = deleteRelationships)]
    pub fn delete_relationships(&mut self, json: &str) -> String {
        change_wire(self.inner.delete_relationships_json(json))
    }

    #[wasm_bindgen(js_name = deleteNodeProperties)]
    pub fn delete_node_properties(&mut self, json: &str) -> String {
        change_wire(self.inner.delete_node_properties_json(json))
    }

    /// Replace graph (and policies, when the snapshot holds them) from a binary snapshot
    /// (`KBACSNAP…`); nothing changes unless it is valid.
    #[wasm_bindgen(js_name = loadSnapshot)]
    pub fn load_snapshot(&mut self, bytes: &[u8]) -> String {
        change_wire(self.inner.load_snapshot(bytes))
    }

    /// The graph and policies as a binary snapshot.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot_bytes()
    }

    /// Replace all policies: `{"policies":n}` or `{"error":{…}}`.
    #[wasm_bindgen(js_name = setPolicies)]
    pub fn set_policies(&mut self, json: &str) -> String {
        match self.inner.set_policies_json(json) {
            Ok(n) => serde_json::json!({ "policies": n }).to_string(),
            Err(e) => e.to_wire(),
        }
    }

    /// Replace the token key set (a JWKS JSON document): `{"keys":n,"kids":[…],"skipped":[…]}`
    /// (`kids`: of the keys kept, in document order; `skipped`: the keys that could not be
    /// used, as `jwks.invalid` errors with their `keys[i]` path) or `{"error":{…}}`. On an
    /// error the current keys stay: a document that is not a JWKS, and also one whose keys
    /// are all unusable (a broken key server must not wipe the key set; an explicitly empty
    /// `{"keys":[]}` is accepted).
    #[wasm_bindgen(js_name = setJwks)]
    pub fn set_jwks(&mut self, json: &str) -> String {
        let (set, skipped) = match Jwks::from_json(json) {
            Ok(parsed) => parsed,
            Err(e) => return e.to_wire(),
        };
        if let (true, Some(first)) = (set.is_empty(), skipped.first()) {
            return Error::new(Code::JwksInvalid, format!("no key of the JWKS is usable: {}", first.message())).to_wire();
        }
        let answer = serde_json::json!({
            "keys": set.len(),
            "kids": set.kids(),
            "skipped": skipped.iter().map(Error::to_json).collect::<Vec<_>>(),
        });
        match self.inner.set_jwks(set) {
            Ok(()) => answer.to_string(),
            Err(e) => e.to_wire(),
        }
    }

    /// AuthZEN access evaluation; `claims` is a JSON object of already-verified claims.
    pub fn evaluate(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.evaluate_json(request, o))
    }

    pub fn evaluations(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.evaluations_json(request, o))
    }

    pub fn explain(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.explain_json(request, o))
    }

    #[wasm_bindgen(js_name = searchSubjects)]
    pub fn search_subjects(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.search_subjects_json(request, o))
    }

    #[wasm_bindgen(js_name = searchResources)]
    pub fn search_resources(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.search_resources_json(request, o))
    }

    #[wasm_bindgen(js_name = searchActions)]
    pub fn search_actions(&self, request: &str, now: Option<f64>, token: Option<String>, claims: Option<String>) -> String {
        with_options(now, token, claims, |o| self.inner.search_actions_json(request, o))
    }

    /// The fast path for the common request: ids only (no properties, no context), an
    /// optional token. `ids` is `subjectType\0subjectId\0action\0resourceType\0resourceId`
    /// (one string crosses faster than five). Answers 0 = exactly `{"decision":false}`,
    /// 1 = exactly `{"decision":true}`, 2 = anything else, whose JSON `lastResult()` returns
    /// (the same answer `evaluate` gives for the equivalent request), 3 = not five parts
    /// (an id contains NUL): use `evaluate`.
    #[wasm_bindgen(js_name = evaluateIds)]
    pub fn evaluate_ids(&mut self, ids: &str, now: Option<f64>, token: Option<String>) -> u32 {
        self.evaluate_ids_with(ids, &EvalOptions { now: now_secs(now), claims: None, token })
    }

    /// Keep `token` in the engine and answer its slot number, for `evaluateIdsSlot`. A JS
    /// string crosses into wasm by a per-character copy: sending a token of hundreds of bytes
    /// with every call cost more than the decision itself. At most `TOKEN_SLOTS` are kept;
    /// registering one more forgets all earlier slots (the shim then registers again).
    #[wasm_bindgen(js_name = registerToken)]
    pub fn register_token(&mut self, token: String) -> u32 {
        if self.token_slots.len() >= TOKEN_SLOTS {
            self.token_slots.clear();
        }
        self.token_slots.push(token);
        self.token_slots.len().saturating_sub(1) as u32
    }

    /// `evaluateIds` with the token registered in `slot` (3 when there is no such slot).
    #[wasm_bindgen(js_name = evaluateIdsSlot)]
    pub fn evaluate_ids_slot(&mut self, ids: &str, now: Option<f64>, slot: u32) -> u32 {
        // The token moves into the options for the call and back into its slot afterwards.
        let Some(token) = self.token_slots.get_mut(slot as usize).map(std::mem::take) else { return IDS_UNPACKED };
        let opts = EvalOptions { now: now_secs(now), claims: None, token: Some(token) };
        let code = self.evaluate_ids_with(ids, &opts);
        if let (Some(kept), Some(token)) = (self.token_slots.get_mut(slot as usize), opts.token) {
            *kept = token;
        }
        code
    }

    fn evaluate_ids_with(&mut self, ids: &str, opts: &EvalOptions) -> u32 {
        let mut parts = ids.split('\0');
        let (Some(st), Some(sid), Some(action), Some(rt), Some(rid), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return IDS_UNPACKED;
        };
        // Worst-case JSON escaping is 6 bytes per byte (`\u001f`) plus the fixed skeleton.
        let too_large = ids.len().saturating_mul(6).saturating_add(128) > self.inner.config().limits.max_request_bytes;
        if too_large || [st, sid, action, rt, rid].iter().any(|p| p.is_empty()) {
            // Let the JSON entry point produce the exact validation error.
            let request = serde_json::json!({
                "subject": { "type": st, "id": sid },
                "action": { "name": action },
                "resource": { "type": rt, "id": rid },
            });
            self.last = self.inner.evaluate_json(&request.to_string(), opts);
            return IDS_OTHER;
        }
        fill_ids_request(&mut self.scratch, [st, sid, action, rt, rid]);
        let d = self.inner.evaluate(&self.scratch, opts);
        match (d.decision, d.reason.is_none() && d.advice.is_empty()) {
            (false, true) => IDS_FALSE,
            (true, true) => IDS_TRUE,
            _ => {
                self.last = authzen::decision_text(&d);
                IDS_OTHER
            }
        }
    }

    /// The batch fast path (AuthZEN evaluations, `execute_all`, id-only items, optional
    /// token): `ids` holds 5 NUL-separated fields per item. Answers one code per item (as
    /// `evaluateIds`: 0 false, 1 true, 2 other, whose answers `lastResult()` returns as a
    /// JSON array in item order), or an empty array when the batch cannot take this path
    /// (not a multiple of 5 fields, an empty field, over a limit): use `evaluations`.
    #[wasm_bindgen(js_name = evaluateIdsBatch)]
    pub fn evaluate_ids_batch(&mut self, ids: &str, now: Option<f64>, token: Option<String>) -> Vec<u8> {
        let fields: Vec<&str> = ids.split('\0').collect();
        let limits = &self.inner.config().limits;
        let items = fields.len() / 5;
        if fields.len() % 5 != 0
            || items == 0
            || items > limits.max_evaluations
            || ids.len().saturating_mul(6).saturating_add(items.saturating_mul(128)) > limits.max_request_bytes
            || fields.iter().any(|f| f.is_empty())
        {
            return Vec::new();
        }
        let opts = EvalOptions { now: now_secs(now), claims: None, token };
        let mut codes = Vec::with_capacity(items);
        let mut others = Vec::new();
        for f in fields.chunks_exact(5) {
            let [st, sid, action, rt, rid] = f else { return Vec::new() };
            fill_ids_request(&mut self.scratch, [st, sid, action, rt, rid]);
            let d = self.inner.evaluate(&self.scratch, &opts);
            codes.push(match (d.decision, d.reason.is_none() && d.advice.is_empty()) {
                (false, true) => IDS_FALSE as u8,
                (true, true) => IDS_TRUE as u8,
                _ => {
                    others.push(authzen::decision_json(&d));
                    IDS_OTHER as u8
                }
            });
        }
        self.last = serde_json::Value::Array(others).to_string();
        codes
    }

    /// The full JSON answer of the last `evaluateIds` call.
    #[wasm_bindgen(js_name = lastResult)]
    pub fn last_result(&self) -> String {
        self.last.clone()
    }

    /// `{"nodes","relationships","policies","memoryBytes"}`.
    pub fn stats(&self) -> String {
        let s = self.inner.stats();
        let memory_bytes = core::arch::wasm32::memory_size::<0>().saturating_mul(65536);
        serde_json::json!({
            "nodes": s.nodes,
            "relationships": s.relationships,
            "policies": s.policies,
            "memoryBytes": memory_bytes,
        })
        .to_string()
    }

    /// The crate version this module was built from.
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
}

/// Make `req` the id-only request `[subject type, subject id, action, resource type,
/// resource id]`, reusing its string buffers.
fn fill_ids_request(req: &mut Request, [st, sid, action, rt, rid]: [&str; 5]) {
    for (field, value) in [
        (&mut req.subject.ty, st),
        (&mut req.subject.id, sid),
        (&mut req.action.name, action),
        (&mut req.resource.ty, rt),
        (&mut req.resource.id, rid),
    ] {
        field.clear();
        field.push_str(value);
    }
    req.subject.properties.clear();
    req.action.properties.clear();
    req.resource.properties.clear();
    req.context.clear();
}

fn change_wire(r: Result<GraphChange>) -> String {
    match r {
        Ok(c) => serde_json::json!({ "nodes": c.nodes, "relationships": c.relationships }).to_string(),
        Err(e) => e.to_wire(),
    }
}

fn now_secs(now: Option<f64>) -> Option<i64> {
    // `as` saturates and maps NaN to 0; non-finite clocks are treated as absent.
    now.filter(|n| n.is_finite()).map(|n| n.floor() as i64)
}

fn with_options(
    now: Option<f64>,
    token: Option<String>,
    claims: Option<String>,
    call: impl FnOnce(&EvalOptions) -> String,
) -> String {
    let claims = match claims.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => return Error::from_json(&e, "claims").to_wire(),
    };
    call(&EvalOptions { now: now_secs(now), claims, token })
}
