//! Atomicity, property-style: random valid and invalid graph batches, policy sets and
//! snapshot loads are applied to an engine (a small deterministic PRNG, fixed seeds).
//!
//! - after every **failing** call, a fixed set of ~50 requests (evaluate, explain, claims,
//!   the three searches, stats) answers exactly as before the call;
//! - after every **successful** call, the answers equal those of a fresh engine given the
//!   same sequence of successful calls (so a failed call left nothing behind that a later
//!   call could expose either).
//!
//! `KBAC_ATOMICITY_SEEDS=N` / `KBAC_ATOMICITY_STEPS=M` run more (defaults 16 × 80).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Code, Engine, EngineConfig, EvalOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// ----- PRNG ----------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ----- the engine under test -----------------------------------------------------------------

fn config() -> EngineConfig {
    let mut c = EngineConfig { max_path_length: 4, ..EngineConfig::default() };
    c.limits.max_batch_items = 40;
    c.limits.max_batch_bytes = 64 * 1024;
    c.limits.max_policies = 6;
    c.limits.max_in_list = 10;
    c.assurance_levels = vec!["pwd".into(), "mfa".into()];
    c
}

#[derive(Clone, Debug)]
enum Op {
    Graph(Kind, String),
    Policies(String),
    Snapshot(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Load,
    UpsertNodes,
    UpsertRels,
    DeleteNodes,
    DeleteRels,
    DeleteProps,
}

const KINDS: [Kind; 6] = [Kind::Load, Kind::UpsertNodes, Kind::UpsertRels, Kind::DeleteNodes, Kind::DeleteRels, Kind::DeleteProps];

fn apply(e: &mut Engine, op: &Op) -> Result<(), kbac::Error> {
    match op {
        Op::Graph(kind, json) => match kind {
            Kind::Load => e.load_graph_json(json),
            Kind::UpsertNodes => e.upsert_nodes_json(json),
            Kind::UpsertRels => e.upsert_relationships_json(json),
            Kind::DeleteNodes => e.delete_nodes_json(json),
            Kind::DeleteRels => e.delete_relationships_json(json),
            Kind::DeleteProps => e.delete_node_properties_json(json),
        }
        .map(|_| ()),
        Op::Policies(json) => e.set_policies_json(json).map(|_| ()),
        Op::Snapshot(bytes) => e.load_snapshot(bytes).map(|_| ()),
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::Graph(kind, json) => format!("{kind:?} {json:.300}"),
        Op::Policies(json) => format!("policies {json:.300}"),
        Op::Snapshot(bytes) => format!("snapshot of {} bytes", bytes.len()),
    }
}

// ----- the fixed probe -----------------------------------------------------------------------

const PEOPLE: [&str; 6] = ["p0", "p1", "p2", "p3", "p4", "p5"];
const DOCS: [&str; 6] = ["d0", "d1", "d2", "d3", "d4", "d5"];
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];

fn req(s: &str, a: &str, r: &str) -> String {
    json!({"subject": {"type": "P", "id": s}, "action": {"name": a}, "resource": {"type": "D", "id": r, "properties": {"level": 2}},
           "context": {"input_params": {"min": 1}}})
    .to_string()
}

/// ~50 answers that together show the engine's observable state.
fn probe(e: &Engine) -> Vec<String> {
    let plain = EvalOptions::default();
    let strong = EvalOptions { now: Some(1_700_000_000), claims: Some(json!({"sub": "p0", "acr": "mfa"})), token: None };
    let mut out = Vec::new();
    for s in &PEOPLE[..4] {
        for r in &DOCS[..4] {
            out.push(e.evaluate_json(&req(s, "A", r), &plain));
        }
    }
    for s in &PEOPLE[..2] {
        for r in &DOCS[..4] {
            out.push(e.evaluate_json(&req(s, "B", r), &plain));
        }
    }
    for r in &DOCS[..4] {
        out.push(e.explain_json(&req("p1", "A", r), &plain));
        out.push(e.evaluate_json(&req("p0", "A", r), &strong));
        out.push(e.evaluate_json(&req("p0", "B", r), &strong));
    }
    for s in &PEOPLE[..4] {
        let q = json!({"subject": {"type": "P", "id": s}, "action": {"name": "A"}, "resource": {"type": "D"}, "context": {"input_params": {"min": 1}}});
        out.push(e.search_resources_json(&q.to_string(), &plain));
    }
    for r in &DOCS[..3] {
        let q = json!({"subject": {"type": "P"}, "action": {"name": "A"}, "resource": {"type": "D", "id": r}, "context": {"input_params": {"min": 1}}});
        out.push(e.search_subjects_json(&q.to_string(), &plain));
    }
    for (s, r) in [("p0", "d0"), ("p1", "d2")] {
        let q = json!({"subject": {"type": "P", "id": s}, "resource": {"type": "D", "id": r}, "context": {"input_params": {"min": 1}}});
        out.push(e.search_actions_json(&q.to_string(), &plain));
    }
    let st = e.stats();
    out.push(format!("nodes {} relationships {} policies {}", st.nodes, st.relationships, st.policies));
    out
}

// ----- generators ----------------------------------------------------------------------------

fn node_ref(rng: &mut Rng) -> (String, &'static str) {
    match rng.below(5) {
        0 | 1 => (rng.pick(&PEOPLE).to_string(), "P"),
        2 | 3 => (rng.pick(&DOCS).to_string(), "D"),
        _ => (rng.pick(&GROUPS).to_string(), "G"),
    }
}

fn ref_json((id, ty): &(String, &str)) -> Value {
    json!({"external_id": id, "type": ty})
}

fn node(rng: &mut Rng) -> Value {
    let r = node_ref(rng);
    let mut props = Vec::new();
    if rng.chance(70) {
        props.push(json!({"type": "level", "value": rng.below(5)}));
    }
    if rng.chance(30) {
        props.push(json!({"type": "name", "value": format!("n{}", rng.below(3))}));
    }
    if rng.chance(20) {
        props.push(json!({"type": "tags", "value": ["a", rng.below(3)]}));
    }
    json!({"external_id": r.0, "type": r.1, "is_identity": r.1 == "P", "properties": props})
}

/// A relationship and the two node items that make it valid in any state.
fn rel(rng: &mut Rng) -> (Value, [Value; 2]) {
    let (a, b) = (node_ref(rng), node_ref(rng));
    let ty = *rng.pick(&["R", "R", "S"]);
    let nodes = [json!({"external_id": a.0, "type": a.1, "is_identity": a.1 == "P"}), json!({"external_id": b.0, "type": b.1, "is_identity": b.1 == "P"})];
    (json!({"source": ref_json(&a), "target": ref_json(&b), "type": ty}), nodes)
}

/// A batch of the given kind, valid; then, if `broken`, made invalid in one of many ways at
/// a random position (so a partial application would show).
fn graph_op(rng: &mut Rng, broken: bool) -> Op {
    let kind = *rng.pick(&KINDS);
    let n = 1 + rng.below(6);
    let mut nodes: Vec<Value> = Vec::new();
    let mut rels: Vec<Value> = Vec::new();
    match kind {
        Kind::Load => {
            for _ in 0..n {
                if rng.chance(50) {
                    nodes.push(node(rng));
                } else {
                    let (r, ends) = rel(rng);
                    rels.push(r);
                    nodes.extend(ends);
                }
            }
        }
        Kind::UpsertNodes => nodes = (0..n).map(|_| node(rng)).collect(),
        Kind::UpsertRels | Kind::DeleteRels => rels = (0..n).map(|_| rel(rng).0).collect(),
        Kind::DeleteNodes => {
            // Never the base nodes, so a "valid" relationship upsert always finds its ends.
            while nodes.len() < n {
                let r = node_ref(rng);
                if !matches!(r.0.as_str(), "p0" | "d0" | "d1") {
                    nodes.push(ref_json(&r));
                }
            }
        }
        Kind::DeleteProps => {
            nodes = (0..n)
                .map(|_| {
                    let mut v = ref_json(&node_ref(rng));
                    v["property_types"] = json!([*rng.pick(&["level", "name", "tags", "none"])]);
                    v
                })
                .collect()
        }
    }
    // Upserting relationships between nodes that may not exist is a legitimate failure, so
    // a "valid" relationship upsert only names nodes that every state has (see `base`).
    if kind == Kind::UpsertRels && !broken {
        for r in &mut rels {
            r["source"] = json!({"external_id": "p0", "type": "P"});
        }
        for r in &mut rels {
            r["target"] = json!({"external_id": *rng.pick(&["d0", "d1"]), "type": "D"});
        }
    }
    let mut doc = json!({});
    if !nodes.is_empty() {
        doc["nodes"] = Value::Array(nodes);
    }
    if !rels.is_empty() {
        doc["relationships"] = Value::Array(rels);
    }
    if !broken {
        return Op::Graph(kind, doc.to_string());
    }
    let key = if doc.get("nodes").is_some() { "nodes" } else { "relationships" };
    let len = doc[key].as_array().unwrap().len();
    let at = rng.below(len);
    let text = match rng.below(11) {
        0 => {
            doc[key][at]["type"] = json!("");
            doc.to_string()
        }
        1 if key == "nodes" && matches!(kind, Kind::Load | Kind::UpsertNodes) => {
            doc[key][at]["properties"] = json!([{"type": "level", "value": null}]);
            doc.to_string()
        }
        2 if key == "nodes" && matches!(kind, Kind::Load | Kind::UpsertNodes) => {
            doc[key][at]["properties"] = json!([{"type": "level", "value": {"nested": 1}}]);
            doc.to_string()
        }
        3 if matches!(kind, Kind::Load | Kind::UpsertRels) => {
            let ghost = json!({"source": {"external_id": "ghost", "type": "Ghost"}, "target": {"external_id": "d0", "type": "D"}, "type": "R"});
            let rels = doc.as_object_mut().unwrap().entry("relationships").or_insert_with(|| json!([]));
            let list = rels.as_array_mut().unwrap();
            let pos = rng.below(list.len() + 1);
            list.insert(pos, ghost);
            doc.to_string()
        }
        4 => {
            let item = doc[key][at].clone();
            doc[key] = Value::Array(vec![item; 41]);
            doc.to_string()
        }
        5 => {
            let t = doc.to_string();
            t[..t.len() - 1 - rng.below(t.len() / 2)].to_string()
        }
        6 => {
            doc[key][at] = json!(42);
            doc.to_string()
        }
        7 => {
            let item = if key == "nodes" { &mut doc[key][at] } else { &mut doc[key][at]["source"] };
            item["external_id"] = json!("x".repeat(300));
            doc.to_string()
        }
        8 => {
            let t = doc.to_string();
            format!("{},\"pad\":\"{}\"}}", &t[..t.len() - 1], " ".repeat(64 * 1024))
        }
        9 => {
            let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
            let t = doc.to_string();
            format!("{},\"deep\":{deep}}}", &t[..t.len() - 1])
        }
        _ => {
            // The wrong key for the call (or none at all).
            match kind {
                Kind::UpsertRels | Kind::DeleteRels => json!({"nodes": [ref_json(&node_ref(rng))]}).to_string(),
                Kind::UpsertNodes | Kind::DeleteNodes | Kind::DeleteProps => json!({"relationships": []}).to_string(),
                Kind::Load => json!({"edges": []}).to_string(),
            }
        }
    };
    Op::Graph(kind, text)
}

const CYPHERS: &[&str] = &[
    "MATCH (subject:P)-[:R]->(resource:D)",
    "MATCH (subject:P)-[:R|S*1..3]-(resource:D)",
    "MATCH (subject:P)-[:S]->(g:G)<-[:R]-(resource:D) WHERE g.property.level >= $min",
    "MATCH (subject:P)-[*0..2]-(resource:D) WHERE resource.property.level IN [1, 3, 4]",
    "MATCH (subject:P)-[:R]->(x)-[:R]->(resource:D), (subject)-[:S]-(resource) WHERE x.property.name STARTS WITH 'n'",
    "MATCH (subject:P), (resource:D) WHERE subject.property.level > resource.property.level",
];

fn policy(rng: &mut Rng, id: &str) -> Value {
    let actions: Vec<&str> = match rng.below(3) {
        0 => vec!["A"],
        1 => vec!["B"],
        _ => vec!["A", "B"],
    };
    let mut condition = json!({"cypher": *rng.pick(CYPHERS)});
    if rng.chance(30) {
        condition["filter"] = json!({"attribute": "$token.acr", "operator": "=", "value": "mfa",
            "advice": {"error": "insufficient_user_authentication", "acr_values": "mfa"}});
    }
    let version = *rng.pick(&["2.0-kbac", "3.0-kbac", "1.0-indykite"]);
    let p = json!({"meta": {"policy_version": version}, "subject": {"type": "P"}, "actions": actions, "resource": {"type": "D"}, "condition": condition});
    let status = *rng.pick(&["ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE"]);
    if rng.chance(30) {
        json!({"id": id, "status": status, "policy": p.to_string()})
    } else {
        json!({"id": id, "status": status, "tags": ["t"], "policy": p})
    }
}

fn policies_op(rng: &mut Rng, broken: bool) -> Op {
    let n = 1 + rng.below(4);
    let mut list: Vec<Value> = (0..n).map(|i| policy(rng, &format!("pol{i}"))).collect();
    if !broken {
        return Op::Policies(Value::Array(list).to_string());
    }
    let at = rng.below(n);
    let inner = |v: &Value| -> Value {
        match &v["policy"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            p => p.clone(),
        }
    };
    let mut p = inner(&list[at]);
    let text = match rng.below(10) {
        0 => {
            p["condition"]["cypher"] = json!("MATCH (subject:P)-[:R->(resource:D)");
            None
        }
        1 => {
            p["meta"]["policy_version"] = json!("9.9-kbac");
            None
        }
        2 => {
            p["condition"]["cypher"] = json!("MATCH (subject:P)-[:R*1..9]->(resource:D)");
            None
        }
        3 => {
            let dup = list[0]["id"].clone();
            list[at]["id"] = dup.clone();
            if at == 0 {
                list.push(json!({"id": dup, "policy": p.clone()}));
            }
            None
        }
        4 => {
            p["condition"]["filter"] = json!({"operator": "AND", "operands": [{"attribute": "$token.acr", "operator": "~~", "value": 1}, {}]});
            None
        }
        5 => {
            while list.len() <= 6 {
                let id = format!("extra{}", list.len());
                list.push(policy(rng, &id));
            }
            return Op::Policies(Value::Array(list).to_string());
        }
        6 => {
            p["condition"]["cypher"] = json!("MATCH (subject:P)-[:R]->(resource:D) CREATE (x:Evil)");
            None
        }
        7 => {
            p["condition"]["cypher"] = json!(format!("MATCH (subject:P)-[:R]->(resource:D) WHERE resource.property.level IN [{}]", (0..11).map(|i| i.to_string()).collect::<Vec<_>>().join(",")));
            None
        }
        8 => {
            p["condition"]["cypher"] = json!("MATCH (subject:P)-[:R]->(resource:D) WHERE nobody.property.x = 1");
            None
        }
        _ => {
            let t = Value::Array(list.clone()).to_string();
            Some(t[..t.len() / 2].to_string())
        }
    };
    if let Some(t) = text {
        return Op::Policies(t);
    }
    list[at]["policy"] = p;
    Op::Policies(Value::Array(list).to_string())
}

/// A snapshot load: one taken earlier in this run (valid), or a damaged one.
fn snapshot_op(rng: &mut Rng, pool: &[Vec<u8>], current: &Engine, broken: bool) -> Option<Op> {
    let base = if pool.is_empty() { current.snapshot_bytes() } else { rng.pick(pool).clone() };
    if !broken {
        return if pool.is_empty() { None } else { Some(Op::Snapshot(base)) };
    }
    let mut b = base;
    match rng.below(6) {
        0 => {
            let i = 32 + rng.below(b.len() - 32);
            b[i] ^= 1 << rng.below(8);
        }
        1 => b.truncate(rng.below(b.len())),
        2 => b[0] = b'X',
        3 => b[8] = b[8].wrapping_add(1),
        4 => {
            // A well-formed snapshot whose policy document does not compile here.
            b = kbac::graph::snapshot::write(current.graph(), Some(r#"[{"id":"x","policy":{"meta":{"policy_version":"2.0-kbac"}}}]"#));
        }
        _ => {
            let many: Vec<Value> = (0..7).map(|i| policy(rng, &format!("s{i}"))).collect();
            b = kbac::graph::snapshot::write(current.graph(), Some(&Value::Array(many).to_string()));
        }
    }
    Some(Op::Snapshot(b))
}

/// Every run starts from the same base: the nodes every "valid" relationship upsert names.
fn base() -> Vec<Op> {
    let nodes = json!({"nodes": [
        {"external_id": "p0", "type": "P", "is_identity": true, "properties": [{"type": "level", "value": 3}]},
        {"external_id": "d0", "type": "D", "properties": [{"type": "level", "value": 1}]},
        {"external_id": "d1", "type": "D", "properties": [{"type": "level", "value": 4}]}],
        "relationships": [{"source": {"external_id": "p0", "type": "P"}, "target": {"external_id": "d0", "type": "D"}, "type": "R"}]});
    let policies = json!([{"id": "base", "policy": {"meta": {"policy_version": "3.0-kbac"}, "subject": {"type": "P"}, "actions": ["A"],
        "resource": {"type": "D"}, "condition": {"cypher": CYPHERS[1]}}}]);
    vec![Op::Graph(Kind::Load, nodes.to_string()), Op::Policies(policies.to_string())]
}

fn replay(ops: &[Op]) -> Engine {
    let mut e = Engine::new(config());
    for (i, op) in ops.iter().enumerate() {
        if let Err(err) = apply(&mut e, op) {
            panic!("replaying successful call {i} failed: {err}\n  {}", describe(op));
        }
    }
    e
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn failed_calls_change_nothing_and_successful_calls_match_a_fresh_engine() {
    let seeds = env_usize("KBAC_ATOMICITY_SEEDS", 16) as u64;
    let steps = env_usize("KBAC_ATOMICITY_STEPS", 80);
    let mut failures: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut ok, mut refused, mut unexpected_ok) = (0usize, 0usize, 0usize);
    for seed in 0..seeds {
        let mut rng = Rng::new(seed);
        let mut log = base();
        let mut e = replay(&log);
        let mut pool: Vec<Vec<u8>> = Vec::new();
        let mut before = probe(&e);
        assert!(before.iter().any(|a| a.contains("\"decision\":true")), "the base state permits something");
        for step in 0..steps {
            let broken = rng.chance(50);
            let op = match rng.below(10) {
                0..=5 => graph_op(&mut rng, broken),
                6..=8 => policies_op(&mut rng, broken),
                _ => match snapshot_op(&mut rng, &pool, &e, broken) {
                    Some(op) => op,
                    None => graph_op(&mut rng, broken),
                },
            };
            let version = e.version();
            let ctx = || format!("seed {seed} step {step}: {}", describe(&op));
            match apply(&mut e, &op) {
                Err(err) => {
                    assert!(broken, "a valid call failed ({err}); {}", ctx());
                    refused += 1;
                    *failures.entry(err.code().as_str()).or_default() += 1;
                    assert_eq!(e.version(), version, "failed call bumped the version; {}", ctx());
                    let after = probe(&e);
                    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                        assert_eq!(b, a, "failed call ({err}) changed probe answer {i}; {}", ctx());
                    }
                }
                Ok(()) => {
                    // Every way of breaking a call above is meant to be refused; report any
                    // that is not (asserted below) with the call.
                    if broken {
                        unexpected_ok += 1;
                        println!("accepted although meant to be broken: {}", ctx());
                    }
                    ok += 1;
                    log.push(op.clone());
                    before = probe(&e);
                    let fresh = probe(&replay(&log));
                    for (i, (a, b)) in before.iter().zip(&fresh).enumerate() {
                        assert_eq!(a, b, "after {} successful calls, probe {i} differs from a fresh engine; {}", log.len(), ctx());
                    }
                    if rng.chance(30) {
                        pool.push(e.snapshot_bytes());
                    }
                }
            }
        }
    }
    println!("atomicity: {seeds} seeds x {steps} steps: {ok} successful calls, {refused} refused ({unexpected_ok} intended-broken calls were accepted)");
    println!("refusals by code: {failures:?}");
    assert_eq!(unexpected_ok, 0, "calls meant to be invalid were accepted (printed above)");
    assert!(refused > seeds as usize * steps / 4, "too few failing calls exercised");
    for code in ["graph.empty_id", "graph.invalid_type", "graph.batch_invalid", "graph.invalid_value", "graph.unknown_node", "graph.batch_too_large", "json.syntax", "input.too_large", "json.too_deep",
                 "cypher.syntax", "cypher.mutating_clause", "cypher.undefined_variable", "policy.filter_invalid", "policy.invalid", "policy.version_unsupported", "limits.path_length", "policy.duplicate_id", "policy.too_many", "limits.in_list",
                 "snapshot.checksum", "snapshot.corrupt", "snapshot.version"] {
        assert!(failures.contains_key(code), "no failing call produced {code}: {failures:?}");
    }
    assert!(failures.keys().all(|c| Code::ALL.iter().any(|k| k.as_str() == *c)));
}
