//! The checks behind the fuzz targets, shared with `tests/fuzz_replay.rs` so the committed
//! seed corpus (`fuzz/seeds/<target>/`) replays through exactly the same code in CI.
//!
//! Each `check_*` takes raw bytes and panics (assertion) when the engine misbehaves: a panic
//! inside the engine, a non-JSON answer, an unknown error code, a broken round trip, or a
//! failed call that changed earlier answers. Included with `#[path]` by the fuzz crate and
//! by the replay test, so it only uses `kbac` and `serde_json`.
#![allow(dead_code)]

use kbac::cypher::{parse, to_cypher, ParseLimits};
use kbac::token::{Jwks, TokenConfig, Verifier};
use kbac::{Code, Engine, EngineConfig, EvalOptions};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The targets, by name (also the seed directory names).
pub const TARGETS: &[&str] = &["cypher_roundtrip", "policy_json", "capture_batch", "authzen_request", "jwt_verify", "snapshot_load"];

/// Run the named check on one input (used by the replay test).
pub fn check(target: &str, data: &[u8]) {
    match target {
        "cypher_roundtrip" => check_cypher_roundtrip(data),
        "policy_json" => check_policy_json(data),
        "capture_batch" => check_capture_batch(data),
        "authzen_request" => check_authzen_request(data),
        "jwt_verify" => check_jwt_verify(data),
        "snapshot_load" => check_snapshot_load(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Clock used everywhere (a date when the fixture tokens' claims are valid).
pub const NOW: i64 = 1_700_000_000;

// ----- fixtures -----------------------------------------------------------------------------

const NODE_TYPES: &[&str] = &["Person", "Car", "Document", "Laptop", "Venue", "User", "Organization", "_Application"];
const IDS: &[&str] = &["a", "b", "c"];
const REL_TYPES: &[&str] = &["OWNS", "WORKS_IN", "CREATED", "HAS", "MEMBER_OF", "BELONGS_TO", "CAN_ACCESS", "_SAME_AS"];

/// A small deterministic graph: every type in `NODE_TYPES` has nodes `a`, `b`, `c` (so any
/// request for those types finds its node), properties of every kind, a few fixed edges and
/// 72 relationships of the common corpus types wired by a fixed LCG (cycles, self-loops).
pub fn graph_json() -> &'static str {
    static G: OnceLock<String> = OnceLock::new();
    G.get_or_init(|| {
        let mut nodes = Vec::new();
        for (ti, ty) in NODE_TYPES.iter().enumerate() {
            for (ii, id) in IDS.iter().enumerate() {
                let n = (ti * 3 + ii) as i64;
                let mut props = vec![
                    json!({"type": "name", "value": format!("{ty}-{id}")}),
                    json!({"type": "level", "value": n}),
                    json!({"type": "score", "value": n as f64 / 4.0}),
                    json!({"type": "tags", "value": ["x", id]}),
                ];
                if ii != 2 {
                    props.push(json!({"type": "active", "value": ii == 0}));
                }
                nodes.push(json!({"external_id": id, "type": ty, "is_identity": *ty == "Person" || *ty == "User",
                    "labels": ["Tagged"], "properties": props}));
            }
        }
        let mut rels = Vec::new();
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: usize| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((s >> 33) as usize) % m
        };
        let rel = |s: (&str, &str), t: (&str, &str), ty: &str| {
            json!({"source": {"external_id": s.1, "type": s.0}, "target": {"external_id": t.1, "type": t.0}, "type": ty})
        };
        // Fixed edges so the probe requests see both answers.
        for id in ["a", "b"] {
            rels.push(rel(("Person", id), ("Car", id), "OWNS"));
            rels.push(rel(("Person", id), ("Laptop", id), "OWNS"));
            rels.push(rel(("Document", id), ("Organization", "a"), "BELONGS_TO"));
        }
        rels.push(rel(("Person", "a"), ("Organization", "a"), "WORKS_IN"));
        rels.push(rel(("Person", "c"), ("Organization", "a"), "WORKS_IN"));
        rels.push(rel(("Car", "c"), ("Car", "c"), "HAS"));
        for i in 0..72 {
            let (st, si, tt, ti) = (next(NODE_TYPES.len()), next(IDS.len()), next(NODE_TYPES.len()), next(IDS.len()));
            let rt = REL_TYPES[i % REL_TYPES.len()];
            rels.push(json!({"source": {"external_id": IDS[si], "type": NODE_TYPES[st]},
                "target": {"external_id": IDS[ti], "type": NODE_TYPES[tt]}, "type": rt,
                "properties": [{"type": "since", "value": i}]}));
        }
        json!({"nodes": nodes, "relationships": rels}).to_string()
    })
}

/// A few policies over the fixture graph: filters, WHERE, var-length, token type, params.
pub const POLICIES: &str = r#"[
 {"id":"own","policy":{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"Person"},"actions":["DRIVE","READ"],"resource":{"type":"Car"},
  "condition":{"cypher":"MATCH (subject:Person)-[:OWNS|HAS*1..3]-(resource:Car) WHERE resource.property.level >= 0",
   "filter":{"operator":"OR","operands":[{"attribute":"$token.acr","operator":"=","value":"mfa","advice":{"error":"insufficient_user_authentication","acr_values":"mfa"}},
     {"attribute":"$subject.properties.vip","operator":"=","value":true}]}}}},
 {"id":"doc","tags":["docs"],"policy":{"meta":{"policy_version":"3.0-kbac"},"subject":{"type":"Person"},"actions":["READ"],"resource":{"type":"Document"},
  "condition":{"cypher":"MATCH (subject:Person)-[:WORKS_IN]->(o:Organization)<-[:BELONGS_TO]-(resource:Document), (subject)-[*0..2]->(resource) WHERE o.property.name STARTS WITH 'Org' OR resource.property.tags IN [['x','a']]"}}},
 {"id":"tok","policy":{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"Token"},"actions":["SERVICE"],"resource":{"type":"Laptop"},
  "condition":{"cypher":"MATCH (subject:Token)-[:_SAME_AS]->(p:Person)-[:OWNS]->(resource:Laptop)",
   "filter":{"attribute":"$token.exp","operator":">","value":1700000000,"advice":{"error":"insufficient_user_authentication"}}}}},
 {"id":"param","policy":{"meta":{"policy_version":"1.0-indykite"},"subject":{"type":"User"},"actions":["USE"],"resource":{"type":"Venue"},
  "condition":{"cypher":"MATCH (subject:User)-[r]-(resource:Venue) WHERE resource.property.level < $max AND resource.property.name =~ 'Ven.*'"}}}
]"#;

/// The fixture engine: graph + policies, token verification with the fixture JWKS.
pub fn fixture_engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    if let Err(err) = e.load_graph_json(graph_json()) {
        panic!("fixture graph: {err}");
    }
    if let Err(err) = e.set_policies_json(POLICIES) {
        panic!("fixture policies: {err}");
    }
    if let Err(err) = e.set_jwks_json(jwks_json()) {
        panic!("fixture JWKS: {err}");
    }
    e
}

pub fn jwks_json() -> &'static str {
    include_str!("../fixtures/tokens/jwks.json")
}

fn options() -> [EvalOptions; 2] {
    [
        EvalOptions { now: Some(NOW), claims: None, token: None },
        EvalOptions {
            now: Some(NOW),
            claims: Some(json!({"sub": "a", "acr": "mfa", "exp": NOW + 60, "scope": "read", "vip": true})),
            token: None,
        },
    ]
}

/// A fixed set of requests (evaluate, batch, explain, search) over the fixture engine; the
/// answers are the engine's observable state for the atomicity checks.
pub fn probe(e: &Engine) -> Vec<String> {
    probe_with(e, false)
}

/// `probe` with `light`: one option set, the batches and resource searches only (the
/// capture target probes up to twelve times per input, so it uses this).
pub fn probe_with(e: &Engine, light: bool) -> Vec<String> {
    static REQUESTS: OnceLock<Vec<(u8, String)>> = OnceLock::new();
    let requests = REQUESTS.get_or_init(|| {
        let mut out = Vec::new();
        let pairs = [("Person", "DRIVE", "Car"), ("Person", "READ", "Document"), ("Token", "SERVICE", "Laptop"), ("User", "USE", "Venue")];
        for (st, act, rt) in pairs {
            let mut batch = Vec::new();
            for s in IDS {
                for r in IDS {
                    batch.push(json!({"subject": {"type": st, "id": s}, "action": {"name": act}, "resource": {"type": rt, "id": r},
                        "context": {"input_params": {"max": 40}}}));
                }
            }
            out.push((0, json!({"evaluations": batch}).to_string()));
            out.push((1, batch[0].to_string()));
            out.push((2, json!({"subject": {"type": st, "id": "a"}, "action": {"name": act}, "resource": {"type": rt}, "context": {"input_params": {"max": 40}}}).to_string()));
            out.push((3, json!({"subject": {"type": st}, "action": {"name": act}, "resource": {"type": rt, "id": "b"}, "context": {"input_params": {"max": 40}}}).to_string()));
            out.push((4, json!({"subject": {"type": st, "id": "a"}, "resource": {"type": rt, "id": "a"}}).to_string()));
        }
        out
    });
    let mut answers = Vec::new();
    let all = options();
    let opts_used = if light { all.get(1..).unwrap_or_default() } else { &all[..] };
    for opts in opts_used {
        for (kind, r) in requests {
            if light && !matches!(kind, 0 | 2) {
                continue;
            }
            answers.push(match kind {
                0 => e.evaluations_json(r, opts),
                1 => e.explain_json(r, opts),
                2 => e.search_resources_json(r, opts),
                3 => e.search_subjects_json(r, opts),
                _ => e.search_actions_json(r, opts),
            });
        }
    }
    let st = e.stats();
    answers.push(json!({"nodes": st.nodes, "relationships": st.relationships, "policies": st.policies}).to_string());
    answers
}

/// An entry point's answer must be JSON; an error must carry a registered code.
pub fn assert_wire(out: &str, what: &str) {
    let v: Value = match serde_json::from_str(out) {
        Ok(v) => v,
        Err(err) => panic!("{what}: answer is not JSON ({err}): {out:.300}"),
    };
    if let Some(err) = v.get("error") {
        let code = err.get("code").and_then(Value::as_str).unwrap_or("");
        assert!(Code::ALL.iter().any(|c| c.as_str() == code), "{what}: unknown error code in {out:.300}");
    }
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

// ----- the checks -----------------------------------------------------------------------------

/// Parse; when it parses, printing and re-parsing gives the same tree (and the printer is
/// idempotent).
pub fn check_cypher_roundtrip(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let limits = ParseLimits::default();
    let Ok(q) = parse(src, &limits) else { return };
    let printed = to_cypher(&q);
    // The printed text may be longer than the input (canonical spacing): only depth applies.
    let relaxed = ParseLimits { max_len: usize::MAX, ..limits };
    match parse(&printed, &relaxed) {
        Ok(back) => {
            assert_eq!(back, q, "round trip changed the tree\n input:   {src:?}\n printed: {printed:?}");
            assert_eq!(to_cypher(&back), printed, "printer is not idempotent for {src:?}");
        }
        Err(err) => panic!("printed text does not parse: {err}\n input:   {src:?}\n printed: {printed:?}"),
    }
}

/// `set_policies_json` on arbitrary bytes; a set that compiles is then evaluated over the
/// fixture graph (each policy's own types and first actions, its input parameters supplied).
pub fn check_policy_json(data: &[u8]) {
    let src = text(data);
    let mut e = Engine::new(EngineConfig::default());
    if let Err(err) = e.load_graph_json(graph_json()) {
        panic!("fixture graph: {err}");
    }
    match e.set_policies_json(&src) {
        Err(err) => {
            assert!(Code::ALL.contains(&err.code()));
            assert_eq!(e.stats().policies, 0, "a refused policy set installed policies");
        }
        Ok(n) => {
            assert_eq!(n, e.stats().policies);
            let mut reqs = Vec::new();
            for p in e.policies().iter().take(4) {
                let params: serde_json::Map<String, Value> = p.input_params.iter().map(|k| (k.clone(), json!(1))).collect();
                for act in p.actions.iter().take(2) {
                    for (s, r) in [("a", "a"), ("a", "c"), ("b", "b"), ("c", "zz-missing")] {
                        reqs.push(json!({"subject": {"type": p.subject_type, "id": s}, "action": {"name": act},
                            "resource": {"type": p.resource_type, "id": r}, "context": {"input_params": params}}));
                    }
                }
            }
            for opts in &options() {
                for r in &reqs {
                    let r = r.to_string();
                    assert_wire(&e.evaluate_json(&r, opts), "evaluate");
                    assert_wire(&e.explain_json(&r, opts), "explain");
                }
                if let Some(r) = reqs.first() {
                    let mut s = r.clone();
                    if let Some(o) = s.get_mut("resource").and_then(Value::as_object_mut) {
                        o.remove("id");
                    }
                    assert_wire(&e.search_resources_json(&s.to_string(), opts), "search_resources");
                }
            }
            let _ = e.warnings();
        }
    }
}

/// Every Capture entry point on arbitrary bytes, one after another on one engine; a call
/// that fails leaves every probe answer as it was.
pub fn check_capture_batch(data: &[u8]) {
    let src = text(data);
    let mut e = fixture_engine();
    let mut before = probe_with(&e, true);
    type Op = fn(&mut Engine, &str) -> kbac::Result<kbac::GraphChange>;
    let ops: [(&str, Op); 6] = [
        ("load_graph", Engine::load_graph_json),
        ("upsert_nodes", Engine::upsert_nodes_json),
        ("upsert_relationships", Engine::upsert_relationships_json),
        ("delete_node_properties", Engine::delete_node_properties_json),
        ("delete_relationships", Engine::delete_relationships_json),
        ("delete_nodes", Engine::delete_nodes_json),
    ];
    for (name, op) in ops {
        let version = e.version();
        match op(&mut e, &src) {
            Err(err) => {
                assert!(Code::ALL.contains(&err.code()));
                assert_eq!(e.version(), version, "{name}: failed call bumped the version");
                let after = probe_with(&e, true);
                for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                    assert_eq!(b, a, "{name} failed ({err}) but probe {i} changed");
                }
            }
            Ok(_) => {
                before = probe_with(&e, true);
                for a in &before {
                    assert_wire(a, name);
                }
            }
        }
    }
}

/// Every request entry point on arbitrary bytes: the answer is JSON with a known code.
pub fn check_authzen_request(data: &[u8]) {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let e = ENGINE.get_or_init(fixture_engine);
    let src = text(data);
    for opts in &options() {
        assert_wire(&e.evaluate_json(&src, opts), "evaluate");
        assert_wire(&e.evaluations_json(&src, opts), "evaluations");
        assert_wire(&e.explain_json(&src, opts), "explain");
        assert_wire(&e.search_subjects_json(&src, opts), "search_subjects");
        assert_wire(&e.search_resources_json(&src, opts), "search_resources");
        assert_wire(&e.search_actions_json(&src, opts), "search_actions");
    }
}

/// A verifier with the fixture JWKS and an HMAC secret (every algorithm family reachable).
pub fn fixture_verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let jwks = match Jwks::from_json(jwks_json()) {
            Ok((j, _)) => j,
            Err(err) => panic!("fixture JWKS: {err}"),
        };
        let config = TokenConfig { hs256_secret: Some(b"0123456789abcdef0123456789abcdef".to_vec()), ..TokenConfig::default() };
        match Verifier::new(config, Some(jwks)) {
            Ok(v) => v,
            Err(err) => panic!("fixture verifier: {err}"),
        }
    })
}

/// Arbitrary bytes as a token: verified, cached-verified and header-peeked without panic;
/// the two verification paths agree.
pub fn check_jwt_verify(data: &[u8]) {
    let token = text(data);
    let v = fixture_verifier();
    let direct = v.verify(&token, NOW);
    let cached = v.verify_cached(&token, NOW);
    match (&direct, &cached) {
        (Ok(a), Ok(b)) => assert_eq!(a, &**b),
        (Err(a), Err(b)) => {
            assert_eq!(a.code(), b.code());
            assert!(Code::ALL.contains(&a.code()));
        }
        _ => panic!("verify and verify_cached disagree: {direct:?} vs {cached:?}"),
    }
    let _ = kbac::token::peek_header(&token);
}

// ----- binary snapshots ----------------------------------------------------------------------

const SNAP_HEADER: usize = 32;

/// The snapshot body checksum (a copy of `graph::snapshot`'s private function; the replay
/// test checks that `seal` reproduces real snapshots byte for byte, so a drift shows).
fn snapshot_checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x243F_6A88_85A3_08D3 ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    for (i, b) in chunks.remainder().iter().enumerate() {
        h = (h ^ (u64::from(*b) << (i * 8))).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 31)
}

/// Make fuzzed bytes get past the checksum: an input that starts like a snapshot gets its
/// body length and checksum fields recomputed (unless its first flag byte's top bit asks
/// for the bytes as they are); anything else becomes the body of a format-1 snapshot.
pub fn seal(data: &[u8]) -> Vec<u8> {
    let magic = kbac::graph::snapshot::MAGIC;
    let body: &[u8] = match data.get(..SNAP_HEADER) {
        Some(head) if head.starts_with(magic) => {
            if head.get(12).is_some_and(|f| f & 0x80 != 0) {
                return data.to_vec();
            }
            data.get(SNAP_HEADER..).unwrap_or_default()
        }
        _ => data,
    };
    let mut out = Vec::with_capacity(SNAP_HEADER + body.len());
    out.extend_from_slice(magic);
    match data.get(..SNAP_HEADER) {
        Some(head) if head.starts_with(magic) => out.extend_from_slice(head.get(8..16).unwrap_or_default()),
        _ => {
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
    }
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&snapshot_checksum(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Arbitrary bytes (sealed with a valid checksum) → `load_snapshot` on the fixture engine:
/// a refused snapshot changes nothing; an accepted one answers JSON, survives graph updates,
/// and writes a snapshot that loads again into a fresh engine with the same answers.
pub fn check_snapshot_load(data: &[u8]) {
    let bytes = seal(data);
    let mut e = fixture_engine();
    let before = probe_with(&e, true);
    let version = e.version();
    match e.load_snapshot(&bytes) {
        Err(err) => {
            assert!(Code::ALL.contains(&err.code()));
            assert_eq!(e.version(), version, "failed snapshot load bumped the version");
            let after = probe_with(&e, true);
            for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                assert_eq!(b, a, "snapshot load failed ({err}) but probe {i} changed");
            }
        }
        Ok(_) => {
            let answers = probe(&e);
            for a in &answers {
                assert_wire(a, "after snapshot load");
            }
            let again = e.snapshot_bytes();
            let mut fresh = Engine::new(EngineConfig::default());
            if let Err(err) = fresh.load_snapshot(&again) {
                panic!("a snapshot written by an engine that accepted one does not load: {err}");
            }
            if let Err(err) = fresh.set_jwks_json(jwks_json()) {
                panic!("fixture JWKS: {err}");
            }
            assert_eq!(probe(&fresh), answers, "answers changed across snapshot write + load");
            // Mutations on whatever graph the snapshot described.
            let _ = e.load_graph_json(r#"{"nodes":[{"external_id":"a","type":"Person","is_identity":true},{"external_id":"z","type":"Car"}],
                "relationships":[{"source":{"external_id":"a","type":"Person"},"target":{"external_id":"z","type":"Car"},"type":"OWNS"}]}"#);
            let _ = e.delete_relationships_json(r#"{"relationships":[{"source":{"external_id":"a","type":"Person"},"target":{"external_id":"a","type":"Car"},"type":"OWNS"}]}"#);
            let _ = e.delete_node_properties_json(r#"{"nodes":[{"external_id":"b","type":"Person","property_types":["level"]}]}"#);
            let _ = e.delete_nodes_json(r#"{"nodes":[{"external_id":"a","type":"Car"},{"external_id":"b","type":"Person"}]}"#);
            for a in probe_with(&e, true) {
                assert_wire(&a, "after updating a loaded snapshot");
            }
        }
    }
}
