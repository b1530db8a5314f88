//! Every documented limit: one test each with a small configured value, checking the value
//! itself passes and one more fails with the limit's own code; the README's defaults; and the
//! pathological policies of issue 8 (`-[*]-` on a dense 10k-node graph, deep `OR` trees, a
//! 100k-element `IN` list), which must answer within their budget with a clear reason and
//! bounded memory (wall times are printed: `cargo test --test limits -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Code, Engine, EngineConfig, EvalOptions, Limits};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

// ----- helpers -------------------------------------------------------------------------------

fn engine_with(f: impl FnOnce(&mut EngineConfig)) -> Engine {
    let mut c = EngineConfig::default();
    f(&mut c);
    Engine::new(c)
}

fn policy(cypher: &str, filter: Option<Value>) -> Value {
    let mut condition = json!({ "cypher": cypher });
    if let Some(f) = filter {
        condition["filter"] = f;
    }
    json!({"meta": {"policy_version": "3.0-kbac"}, "subject": {"type": "Person"}, "actions": ["READ"],
           "resource": {"type": "Doc"}, "condition": condition})
}

const MATCH: &str = "MATCH (subject:Person)-[:OWNS]->(resource:Doc)";

fn set(e: &mut Engine, doc: &Value) -> Result<usize, Code> {
    e.set_policies_json(&doc.to_string()).map_err(|err| err.code())
}

/// A READ request; the resource carries `properties.code = 7` for `$resource.properties.code`.
fn request(s: &str, r: &str) -> String {
    json!({"subject": {"type": "Person", "id": s}, "action": {"name": "READ"},
           "resource": {"type": "Doc", "id": r, "properties": {"code": 7}}}).to_string()
}

fn wire(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out:.300}"))
}

fn error_code(out: &str) -> String {
    let v = wire(out);
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("expected an error answer, got {out:.300}")).to_string()
}

fn reason(out: &str) -> String {
    wire(out)["context"]["reason"].as_str().unwrap_or("").to_string()
}

fn nodes(items: impl IntoIterator<Item = (String, &'static str)>) -> Value {
    json!({"nodes": items.into_iter().map(|(id, ty)| json!({"external_id": id, "type": ty})).collect::<Vec<_>>()})
}

fn small_graph(e: &mut Engine) {
    e.load_graph_json(
        r#"{"nodes":[{"external_id":"alice","type":"Person","is_identity":true,"properties":[{"type":"n","value":3}]},
        {"external_id":"d1","type":"Doc","properties":[{"type":"code","value":7}]}],
        "relationships":[{"source":{"external_id":"alice","type":"Person"},"target":{"external_id":"d1","type":"Doc"},"type":"OWNS"}]}"#,
    )
    .unwrap();
}

/// `{"a":{"a":…{"a":1}…}}` with `depth` objects.
fn nested_object(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// A filter of `depth` levels: `OR(leaf, OR(leaf, … leaf))`; the innermost leaf is true.
fn or_chain(depth: usize) -> Value {
    let mut f = json!({"attribute": "$resource.properties.code", "operator": "=", "value": 7});
    for i in 1..depth {
        f = json!({"operator": "OR", "operands": [{"attribute": "$resource.properties.code", "operator": "=", "value": -(i as i64)}, f]});
    }
    f
}

/// Depth of a filter tree as the compiler counts it (`OR`/`AND`/`NOT` nodes + the leaf).
fn filter_depth(f: &Value) -> usize {
    1 + f.get("operands").and_then(Value::as_array).map_or(0, |ops| ops.iter().map(filter_depth).max().unwrap_or(0))
}

// ----- one test per limit --------------------------------------------------------------------

#[test]
fn policy_text_size_is_policy_too_large() {
    let mut e = engine_with(|c| c.limits.max_policy_bytes = 400);
    let p = policy(MATCH, None).to_string();
    assert!(p.len() < 400);
    let record = |text: String| json!([{"id": "p", "policy": text}]);
    assert_eq!(set(&mut e, &record(p.clone())), Ok(1));
    let padded = p.replacen('{', &format!("{{\"pad\":\"{}\",", "x".repeat(400 - p.len())), 1);
    assert!(padded.len() > 400);
    assert_eq!(set(&mut e, &record(padded)), Err(Code::PolicyTooLarge));
}

/// The same limit for a policy given as a JSON object (not a Config-API string): a policy
/// document of any size is accepted today, so `max_policy_bytes` does not bound it.
#[test]
fn policy_object_size_is_policy_too_large() {
    let mut e = engine_with(|c| c.limits.max_policy_bytes = 400);
    let mut p = policy(MATCH, None);
    p["pad"] = json!("x".repeat(1000));
    assert_eq!(set(&mut e, &p), Err(Code::PolicyTooLarge));
}

#[test]
fn policy_count_is_policy_too_many() {
    let mut e = engine_with(|c| c.limits.max_policies = 3);
    let records = |n: usize| Value::Array((0..n).map(|i| json!({"id": format!("p{i}"), "policy": policy(MATCH, None)})).collect());
    assert_eq!(set(&mut e, &records(3)), Ok(3));
    assert_eq!(set(&mut e, &records(4)), Err(Code::PolicyTooMany));
    assert_eq!(e.stats().policies, 3, "the refused set changed nothing");
}

#[test]
fn cypher_length_is_cypher_too_long() {
    let mut e = engine_with(|c| c.limits.max_cypher_len = 64);
    let exact = format!("{MATCH}{}", " ".repeat(64 - MATCH.len()));
    assert_eq!(set(&mut e, &policy(&exact, None)), Ok(1));
    assert_eq!(set(&mut e, &policy(&format!("{exact} "), None)), Err(Code::CypherTooLong));
}

#[test]
fn cypher_nesting_is_cypher_too_deep() {
    let mut e = engine_with(|c| c.limits.max_expr_depth = 8);
    let nested = |n: usize| format!("{MATCH} WHERE {}resource.property.code = 7{}", "(".repeat(n), ")".repeat(n));
    let mut ok = 0;
    for n in 0..20 {
        match set(&mut e, &policy(&nested(n), None)) {
            Ok(_) => ok = n,
            Err(code) => {
                assert_eq!(code, Code::CypherTooDeep, "{n} parentheses");
                break;
            }
        }
    }
    assert!((4..8).contains(&ok), "accepted up to {ok} parentheses with max_expr_depth 8");
    assert_eq!(set(&mut e, &policy(&nested(9), None)), Err(Code::CypherTooDeep));
    // A flat chain counts one level per operator.
    let chain = |n: usize| format!("{MATCH} WHERE {}", vec!["resource.property.code = 7"; n].join(" OR "));
    assert_eq!(set(&mut e, &policy(&chain(3), None)), Ok(1));
    assert_eq!(set(&mut e, &policy(&chain(20), None)), Err(Code::CypherTooDeep));
}

#[test]
fn filter_nesting_is_policy_filter_too_deep() {
    let mut e = engine_with(|c| c.limits.max_filter_depth = 6);
    small_graph(&mut e);
    let mut deepest_ok = 0;
    for depth in 1..12 {
        let f = or_chain(depth);
        match set(&mut e, &policy(MATCH, Some(f.clone()))) {
            Ok(_) => {
                deepest_ok = filter_depth(&f);
                assert_eq!(wire(&e.evaluate_json(&request("alice", "d1"), &EvalOptions::default()))["decision"], true);
            }
            Err(code) => {
                assert_eq!(code, Code::PolicyFilterTooDeep, "depth {depth}");
                break;
            }
        }
    }
    assert!((6..=7).contains(&deepest_ok), "deepest accepted filter has depth {deepest_ok} with max_filter_depth 6");
}

#[test]
fn variable_length_is_limits_path_length() {
    let mut e = engine_with(|c| c.max_path_length = 3);
    let p = |r: &str| policy(&format!("MATCH (subject:Person)-[:OWNS{r}]->(resource:Doc)"), None);
    assert_eq!(set(&mut e, &p("*1..3")), Ok(1));
    assert_eq!(set(&mut e, &p("*3")), Ok(1));
    assert_eq!(set(&mut e, &p("*")), Ok(1), "unbounded is capped, not refused");
    assert!(e.warnings().iter().any(|(_, w)| w.contains("maxPathLength 3")));
    assert_eq!(set(&mut e, &p("*1..4")), Err(Code::LimitPathLength));
    assert_eq!(set(&mut e, &p("*4..")), Err(Code::LimitPathLength));
    // Configurable from JSON; 0 and more than 64 are refused.
    assert_eq!(Engine::from_config_json(r#"{"maxPathLength":64}"#).unwrap().config().max_path_length, 64);
    assert_eq!(Engine::from_config_json(r#"{"maxPathLength":65}"#).unwrap_err().code(), Code::ConfigInvalid);
    assert_eq!(Engine::from_config_json(r#"{"maxPathLength":0}"#).unwrap_err().code(), Code::ConfigInvalid);
}

#[test]
fn in_list_length_is_limits_in_list() {
    let mut e = engine_with(|c| c.limits.max_in_list = 5);
    let list = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let cy = |n: usize| policy(&format!("{MATCH} WHERE resource.property.code IN [{}]", list(n)), None);
    assert_eq!(set(&mut e, &cy(5)), Ok(1));
    assert_eq!(set(&mut e, &cy(6)), Err(Code::LimitInList));
    let filter = |n: usize| policy(MATCH, Some(json!({"attribute": "$resource.properties.code", "operator": "IN", "value": (0..n).collect::<Vec<_>>()})));
    assert_eq!(set(&mut e, &filter(5)), Ok(1));
    assert_eq!(set(&mut e, &filter(6)), Err(Code::LimitInList));
}

#[test]
fn visits_per_evaluation_is_reason_budget_exhausted() {
    // A ladder of 60 documents, each linked to the next twice (LINK and LINK2, so 2^n
    // trails); the resource is at its far end.
    let chain = |e: &mut Engine| {
        let mut rels = vec![json!({"source": {"external_id": "alice", "type": "Person"}, "target": {"external_id": "d0", "type": "Doc"}, "type": "LINK"})];
        for i in 0..60 {
            for ty in ["LINK", "LINK2"] {
                rels.push(json!({"source": {"external_id": format!("d{i}"), "type": "Doc"}, "target": {"external_id": format!("d{}", i + 1), "type": "Doc"}, "type": ty}));
            }
        }
        let mut g = nodes((0..=60).map(|i| (format!("d{i}"), "Doc")));
        g["nodes"].as_array_mut().unwrap().push(json!({"external_id": "alice", "type": "Person", "is_identity": true}));
        g["relationships"] = Value::Array(rels);
        e.load_graph_json(&g.to_string()).unwrap();
        set(e, &policy("MATCH (subject:Person)-[:LINK|LINK2*1..64]->(resource:Doc)", None)).unwrap();
    };
    let opts = EvalOptions::default();
    let mut roomy = engine_with(|c| c.max_path_length = 64);
    chain(&mut roomy);
    assert_eq!(roomy.evaluate_json(&request("alice", "d60"), &opts), r#"{"decision":true}"#);
    let mut tight = engine_with(|c| {
        c.max_path_length = 64;
        c.visit_budget = 30;
    });
    chain(&mut tight);
    assert_eq!(tight.evaluate_json(&request("alice", "d5"), &opts), r#"{"decision":true}"#, "near targets fit the budget");
    let out = tight.evaluate_json(&request("alice", "d60"), &opts);
    assert_eq!(wire(&out)["decision"], false);
    assert_eq!(reason(&out), "budget_exhausted", "{out}");
    // Search gets a larger budget (8×) but is still bounded, and says so as an error.
    let search = json!({"subject": {"type": "Person", "id": "alice"}, "action": {"name": "READ"}, "resource": {"type": "Doc"}}).to_string();
    assert_eq!(error_code(&tight.search_resources_json(&search, &opts)), "budget_exhausted");
    // Configurable from JSON.
    assert_eq!(Engine::from_config_json(r#"{"visitBudget":30}"#).unwrap().config().visit_budget, 30);
}

#[test]
fn batch_items_is_graph_batch_too_large() {
    let mut e = engine_with(|c| c.limits.max_batch_items = 3);
    let batch = |n: usize| nodes((0..n).map(|i| (format!("n{i}"), "Doc"))).to_string();
    assert!(e.load_graph_json(&batch(3)).is_ok());
    assert_eq!(e.load_graph_json(&batch(4)).unwrap_err().code(), Code::GraphBatchTooLarge);
    assert_eq!(e.upsert_nodes_json(&batch(4)).unwrap_err().code(), Code::GraphBatchTooLarge);
    assert_eq!(e.delete_nodes_json(&batch(4)).unwrap_err().code(), Code::GraphBatchTooLarge);
    // Nodes and relationships count together.
    let mixed = json!({"nodes": [{"external_id": "x", "type": "Doc"}, {"external_id": "y", "type": "Doc"}],
        "relationships": [{"source": {"external_id": "x", "type": "Doc"}, "target": {"external_id": "y", "type": "Doc"}, "type": "R"},
                          {"source": {"external_id": "y", "type": "Doc"}, "target": {"external_id": "x", "type": "Doc"}, "type": "R"}]});
    assert_eq!(e.load_graph_json(&mixed.to_string()).unwrap_err().code(), Code::GraphBatchTooLarge);
    assert_eq!(e.stats().nodes, 3);
}

#[test]
fn batch_bytes_is_input_too_large() {
    let mut e = engine_with(|c| c.limits.max_batch_bytes = 100);
    let b = nodes([("n".to_string(), "Doc")]).to_string();
    let exact = format!("{b}{}", " ".repeat(100 - b.len()));
    assert!(e.load_graph_json(&exact).is_ok());
    let over = format!("{exact} ");
    for r in [e.load_graph_json(&over), e.upsert_nodes_json(&over), e.delete_nodes_json(&over), e.delete_node_properties_json(&over)] {
        assert_eq!(r.unwrap_err().code(), Code::InputTooLarge);
    }
}

#[test]
fn request_bytes_is_input_too_large() {
    let mut e = engine_with(|c| c.limits.max_request_bytes = 200);
    small_graph(&mut e);
    set(&mut e, &policy(MATCH, None)).unwrap();
    let opts = EvalOptions::default();
    let r = request("alice", "d1");
    let exact = format!("{r}{}", " ".repeat(200 - r.len()));
    assert_eq!(e.evaluate_json(&exact, &opts), r#"{"decision":true}"#);
    let over = format!("{exact} ");
    for out in [
        e.evaluate_json(&over, &opts),
        e.evaluations_json(&over, &opts),
        e.explain_json(&over, &opts),
        e.search_subjects_json(&over, &opts),
        e.search_resources_json(&over, &opts),
        e.search_actions_json(&over, &opts),
    ] {
        assert_eq!(error_code(&out), "input.too_large");
    }
}

#[test]
fn json_nesting_is_json_too_deep() {
    let mut e = engine_with(|_| {});
    small_graph(&mut e);
    set(&mut e, &policy(MATCH, None)).unwrap();
    let opts = EvalOptions::default();
    // serde_json's fixed recursion limit: 128 levels parse, 129 do not.
    let ok = format!(r#"{{"subject":{{"type":"Person","id":"alice","properties":{}}},"action":{{"name":"READ"}},"resource":{{"type":"Doc","id":"d1"}}}}"#, nested_object(125));
    assert_eq!(e.evaluate_json(&ok, &opts), r#"{"decision":true}"#);
    let deep = nested_object(129);
    for out in [e.evaluate_json(&deep, &opts), e.evaluations_json(&deep, &opts), e.search_resources_json(&deep, &opts)] {
        assert_eq!(error_code(&out), "json.too_deep");
    }
    assert_eq!(e.load_graph_json(&deep).unwrap_err().code(), Code::JsonTooDeep);
    assert_eq!(e.set_policies_json(&deep).unwrap_err().code(), Code::JsonTooDeep);
    let deep_record = json!([{"id": "p", "policy": nested_object(200)}]).to_string();
    assert_eq!(e.set_policies_json(&deep_record).unwrap_err().code(), Code::JsonTooDeep);
}

#[test]
fn batch_evaluations_is_input_too_large() {
    let mut e = engine_with(|c| c.limits.max_evaluations = 3);
    small_graph(&mut e);
    set(&mut e, &policy(MATCH, None)).unwrap();
    let batch = |n: usize| {
        json!({"subject": {"type": "Person", "id": "alice"}, "action": {"name": "READ"},
               "evaluations": (0..n).map(|_| json!({"resource": {"type": "Doc", "id": "d1"}})).collect::<Vec<_>>()})
        .to_string()
    };
    let out = e.evaluations_json(&batch(3), &EvalOptions::default());
    assert_eq!(wire(&out)["evaluations"].as_array().unwrap().len(), 3);
    assert_eq!(error_code(&e.evaluations_json(&batch(4), &EvalOptions::default())), "input.too_large");
}

// ----- documented defaults -------------------------------------------------------------------

#[test]
fn defaults_match_the_readme_limits_table() {
    let c = EngineConfig::default();
    let l = Limits::default();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table: Vec<&str> = readme.lines().skip_while(|l| !l.starts_with("## Limits")).take_while(|l| !l.starts_with("## Repository")).collect();
    // A row per limit: its `config key` cell and the default (prefix of the default cell).
    let row = |key: &str| -> String {
        table.iter().find(|l| l.contains(&format!("`{key}`"))).unwrap_or_else(|| panic!("README limits table has no `{key}` row")).to_string()
    };
    let mib = |n: usize| format!("{} MiB", n >> 20);
    let thousands = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        out
    };
    let checks: Vec<(&str, String)> = vec![
        ("maxRequestBytes", mib(l.max_request_bytes)),
        ("maxBatchBytes", format!("{} / {}", mib(l.max_batch_bytes), thousands(l.max_batch_items as u64))),
        ("maxPolicyBytes", format!("{} bytes", thousands(l.max_policy_bytes as u64))),
        ("maxPolicies", thousands(l.max_policies as u64)),
        ("maxCypherLength", format!("{} KiB", l.max_cypher_len >> 10)),
        ("maxExpressionDepth", format!("{} (at most 128)", l.max_expr_depth)),
        ("maxFilterDepth", format!("{} (at most 128)", l.max_filter_depth)),
        ("maxInList", format!("{} items", thousands(l.max_in_list as u64))),
        ("maxEvaluations", thousands(l.max_evaluations as u64)),
        ("maxPathLength", format!("{} (at most 64)", c.max_path_length)),
        ("visitBudget", format!("{} (search: 8x)", thousands(c.visit_budget))),
    ];
    for (key, value) in checks {
        let r = row(key);
        assert!(r.contains(&format!("| {value} |")), "README row `{r}` does not show the default `{value}`");
        if key.starts_with("max") && key != "maxPathLength" {
            // every documented limit key is one the configuration accepts
            let config = format!(r#"{{"limits": {{"{key}": 7}}}}"#);
            assert!(Engine::from_config_json(&config).is_ok(), "the configuration does not accept `limits.{key}`");
        }
    }
    assert!(row("maxBatchItems").contains("graph batch"));
    assert!(table.iter().any(|l| l.starts_with("| JSON nesting | fixed | 128 |")), "README documents the fixed JSON nesting limit");
    assert_eq!(l.max_cypher_len, kbac::cypher::ParseLimits::default().max_len);
    assert_eq!(l.max_expr_depth, kbac::cypher::ParseLimits::default().max_depth);
}

// ----- pathological policies -----------------------------------------------------------------

/// Peak resident set of this process so far (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb / 1024)
}

/// Runs `f`, prints its wall time and the growth of the peak RSS, and checks both bounds.
fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let rss0 = peak_rss_mib();
    let t0 = Instant::now();
    let out = f();
    let dt = t0.elapsed();
    let grew = match (rss0, peak_rss_mib()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    println!("{what}: {dt:.2?}, peak RSS +{grew} MiB");
    assert!(dt < limit, "{what} took {dt:?} (limit {limit:?})");
    assert!(grew < 256, "{what} grew the peak RSS by {grew} MiB");
    out
}

/// A dense graph: 10,000 nodes and 100,000 random `LINK` relationships (one type), with
/// `alice` (Person) linked into it and a `target` Doc that nothing reaches.
fn dense_graph() -> String {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % m
    };
    let mut g = nodes((0..10_000).map(|i| (format!("n{i}"), "Doc")));
    let list = g["nodes"].as_array_mut().unwrap();
    list.push(json!({"external_id": "alice", "type": "Person", "is_identity": true}));
    list.push(json!({"external_id": "target", "type": "Doc"}));
    let r = |a: String, at: &str, b: String| json!({"source": {"external_id": a, "type": at}, "target": {"external_id": b, "type": "Doc"}, "type": "LINK"});
    let mut rels: Vec<Value> = (0..100_000).map(|_| r(format!("n{}", next(10_000)), "Doc", format!("n{}", next(10_000)))).collect();
    for i in 0..10 {
        rels.push(r("alice".into(), "Person", format!("n{i}")));
    }
    g["relationships"] = Value::Array(rels);
    g.to_string()
}

fn dense_engine(cypher: &str) -> Engine {
    let mut e = engine_with(|_| {});
    let g = dense_graph();
    timed("load 10k nodes + 100k relationships", Duration::from_secs(60), || e.load_graph_json(&g).unwrap());
    set(&mut e, &policy(cypher, None)).unwrap();
    e
}

fn search_docs_of_alice() -> String {
    json!({"subject": {"type": "Person", "id": "alice"}, "action": {"name": "READ"}, "resource": {"type": "Doc"}}).to_string()
}

// Debug builds are ~10-20x slower than release; the time bounds are generous for debug and
// a shared CI machine, and the printed times are the ones to watch.

/// `-[*]-` on a dense 10k-node graph with the target unreachable: the search must stop at
/// the visit budget, not enumerate the astronomical number of trails up to length 8.
#[test]
fn unbounded_pattern_on_a_dense_graph_stops_at_the_visit_budget() {
    let opts = EvalOptions::default();
    let mut e = dense_engine("MATCH (subject:Person)-[*]-(resource:Doc)");
    let out = timed("`-[*]-` evaluate, unreachable resource", Duration::from_secs(20), || e.evaluate_json(&request("alice", "target"), &opts));
    assert_eq!(wire(&out)["decision"], false);
    assert_eq!(reason(&out), "budget_exhausted", "{out}");
    let out = timed("`-[*]-` evaluate, reachable resource", Duration::from_secs(20), || e.evaluate_json(&request("alice", "n5000"), &opts));
    assert!(wire(&out)["decision"] == true || reason(&out) == "budget_exhausted", "{out}");
    let out = timed("`-[*]-` explain, unreachable resource", Duration::from_secs(20), || e.explain_json(&request("alice", "target"), &opts));
    assert_eq!(wire(&out)["context"]["reason"], "budget_exhausted", "{out}");
    set(&mut e, &policy("MATCH (subject:Person)-[*]-(x:Doc)-[*]-(y:Doc)-[*]-(resource:Doc)", None)).unwrap();
    let out = timed("three `-[*]-` hops evaluate, unreachable", Duration::from_secs(20), || e.evaluate_json(&request("alice", "target"), &opts));
    assert_eq!(reason(&out), "budget_exhausted", "{out}");
    set(&mut e, &policy("MATCH (subject:Person)-[*]-(x), (x)-[*]-(resource:Doc) WHERE x.property.nope = 1", None)).unwrap();
    let out = timed("comma pattern `-[*]-` with a WHERE that never holds", Duration::from_secs(20), || e.evaluate_json(&request("alice", "target"), &opts));
    assert_eq!(reason(&out), "budget_exhausted", "{out}");
}

/// Resource search over the same pattern: bounded by its budget (8x the evaluation budget)
/// and answered `budget_exhausted`. Today each candidate the enumeration found is then
/// confirmed by a full decision with a fresh budget of its own, so the total work is
/// (8 + candidates) x budget: 3.7 s release / 28 s debug here before it says
/// `budget_exhausted`.
#[test]
fn resource_search_on_a_dense_graph_stops_at_its_budget() {
    let e = dense_engine("MATCH (subject:Person)-[*]-(resource:Doc)");
    let out = timed("`-[*]-` resource search", Duration::from_secs(2), || e.search_resources_json(&search_docs_of_alice(), &EvalOptions::default()));
    let v = wire(&out);
    println!("  search answer: {}", v["results"].as_array().map_or_else(|| v["error"]["code"].to_string(), |r| format!("{} results", r.len())));
    assert_eq!(v["error"]["code"], "budget_exhausted", "{out:.300}");
}

/// Deep `OR` trees: a filter at the default depth limit, and WHERE with as many ORs as the
/// expression depth allows; past the limits, clear codes.
#[test]
fn deep_or_trees_answer_within_budget() {
    let opts = EvalOptions::default();
    let mut e = engine_with(|_| {});
    small_graph(&mut e);
    let depth = EngineConfig::default().limits.max_filter_depth;
    let f = or_chain(depth);
    assert_eq!(set(&mut e, &policy(MATCH, Some(or_chain(depth + 2)))), Err(Code::PolicyFilterTooDeep));
    timed("compile OR filter at the depth limit", Duration::from_secs(5), || set(&mut e, &policy(MATCH, Some(f))).unwrap());
    let out = timed("evaluate OR filter at the depth limit", Duration::from_secs(5), || e.evaluate_json(&request("alice", "d1"), &opts));
    assert_eq!(out, r#"{"decision":true}"#);
    let ors = |n: usize| format!("{MATCH} WHERE {}", (0..n).map(|i| format!("resource.property.code = {}", 1000 - i)).collect::<Vec<_>>().join(" OR "));
    let max_ors = EngineConfig::default().limits.max_expr_depth / 2;
    timed("compile WHERE with many ORs", Duration::from_secs(5), || set(&mut e, &policy(&format!("{} OR resource.property.code = 7", ors(max_ors)), None)).unwrap());
    let out = timed("evaluate WHERE with many ORs", Duration::from_secs(5), || e.evaluate_json(&request("alice", "d1"), &opts));
    assert_eq!(out, r#"{"decision":true}"#);
    let too_many = timed("refuse WHERE with 500 ORs", Duration::from_secs(5), || set(&mut e, &policy(&ors(500), None)));
    assert_eq!(too_many, Err(Code::CypherTooDeep));
    let parens = format!("{MATCH} WHERE {}resource.property.code = 7{}", "(".repeat(5_000), ")".repeat(5_000));
    assert_eq!(set(&mut e, &policy(&parens, None)), Err(Code::CypherTooDeep));
}

/// A wide `OR` (or `AND`, or a top-level filter array) is folded into a left-deep binary
/// tree as high as it has operands, and evaluating it recurses once per level
/// (`Env::truth`): ~3,000 operands overflow a 2 MiB stack in debug, ~10,000 in release, and
/// the process aborts. Expected: a balanced or n-ary tree (or a limit with its own code).
#[test]
fn wide_and_or_filters_do_not_overflow_the_stack() {
    let opts = EvalOptions::default();
    let mut e = engine_with(|c| c.limits.max_policy_bytes = 16 << 20);
    small_graph(&mut e);
    for op in ["OR", "AND"] {
        let leaves = (0..50_000).map(|i| json!({"attribute": "$resource.properties.code", "operator": "=", "value": -i - 1})).collect::<Vec<_>>();
        let wide = json!({"operator": op, "operands": leaves});
        timed(&format!("compile 50,000-operand {op} filter"), Duration::from_secs(20), || set(&mut e, &policy(MATCH, Some(wide))).unwrap());
        let out = timed(&format!("evaluate 50,000-operand {op} filter"), Duration::from_secs(10), || e.evaluate_json(&request("alice", "d1"), &opts));
        assert_eq!(wire(&out)["decision"], false);
        let array = Value::Array(leaves);
        set(&mut e, &policy(MATCH, Some(array))).unwrap();
        assert_eq!(wire(&e.evaluate_json(&request("alice", "d1"), &opts))["decision"], false);
    }
}

/// A 100,000-element `IN` list (the default limit), in a filter and in Cypher.
#[test]
fn in_list_of_100k_elements_answers_within_budget() {
    let opts = EvalOptions::default();
    let mut e = engine_with(|c| {
        c.limits.max_cypher_len = 1 << 20;
        c.limits.max_policy_bytes = 16 << 20;
    });
    small_graph(&mut e);
    let n = EngineConfig::default().limits.max_in_list;
    let values: Vec<i64> = (0..n as i64).map(|i| i * 2 + 1001).collect();
    let mut hit = values.clone();
    *hit.last_mut().unwrap() = 7;
    let fpol = |v: &[i64]| policy(MATCH, Some(json!({"attribute": "$resource.properties.code", "operator": "IN", "value": v})));
    timed("compile 100k-element IN filter", Duration::from_secs(20), || set(&mut e, &fpol(&hit)).unwrap());
    let out = timed("evaluate 100k-element IN filter (last element matches)", Duration::from_secs(5), || e.evaluate_json(&request("alice", "d1"), &opts));
    assert_eq!(out, r#"{"decision":true}"#);
    set(&mut e, &fpol(&values)).unwrap();
    let out = timed("evaluate 100k-element IN filter (no match)", Duration::from_secs(5), || e.evaluate_json(&request("alice", "d1"), &opts));
    assert_eq!(wire(&out)["decision"], false);
    let mut over = values.clone();
    over.push(1);
    assert_eq!(set(&mut e, &fpol(&over)), Err(Code::LimitInList));
    let cy = |v: &[i64]| policy(&format!("{MATCH} WHERE resource.property.code IN [{}]", v.iter().map(i64::to_string).collect::<Vec<_>>().join(",")), None);
    timed("compile 100k-element Cypher IN list", Duration::from_secs(20), || set(&mut e, &cy(&hit)).unwrap());
    let out = timed("evaluate 100k-element Cypher IN list", Duration::from_secs(5), || e.evaluate_json(&request("alice", "d1"), &opts));
    assert_eq!(out, r#"{"decision":true}"#);
    assert_eq!(set(&mut e, &cy(&over)), Err(Code::LimitInList));
    let batch = json!({"subject": {"type": "Person", "id": "alice"}, "action": {"name": "READ"},
        "evaluations": (0..1000).map(|_| json!({"resource": {"type": "Doc", "id": "d1", "properties": {"code": 7}}})).collect::<Vec<_>>()}).to_string();
    let out = timed("1,000 evaluations against the 100k IN list", Duration::from_secs(30), || e.evaluations_json(&batch, &opts));
    assert_eq!(wire(&out)["evaluations"].as_array().unwrap().len(), 1000);
}

/// Limits come from the JSON configuration (`"limits"`, camelCase names); unknown names,
/// non-positive values and depths over their ceiling are `config.invalid`.
#[test]
fn limits_are_read_from_the_json_configuration() {
    let e = Engine::from_config_json(r#"{"limits": {"maxPolicyBytes": 400, "maxInList": 3, "maxEvaluations": 2}}"#).unwrap();
    let l = &e.config().limits;
    assert_eq!((l.max_policy_bytes, l.max_in_list, l.max_evaluations), (400, 3, 2));
    assert_eq!(l.max_policies, EngineConfig::default().limits.max_policies, "unnamed limits keep their defaults");
    for bad in [r#"{"limits": {"maxPolicyByte": 1}}"#, r#"{"limits": {"maxInList": 0}}"#, r#"{"limits": {"maxInList": "3"}}"#, r#"{"limits": {"maxFilterDepth": 129}}"#, r#"{"limits": []}"#] {
        let err = Engine::from_config_json(bad).unwrap_err();
        assert_eq!(err.code(), Code::ConfigInvalid, "{bad}");
    }
    let mut e = e;
    let p = policy(MATCH, Some(json!({"attribute": "$resource.properties.code", "operator": "IN", "value": [1, 2, 3, 4]})));
    assert_eq!(set(&mut e, &p), Err(Code::LimitInList));
}
