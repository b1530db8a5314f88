//! AuthZEN API details beyond the interop files: batch semantics, pagination, metadata,
//! IndyKite extensions and deprecated shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Engine, EngineConfig, EvalOptions};
use serde_json::{json, Value};

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    let mut nodes = vec![json!({"external_id":"alice","type":"user","is_identity":true}), json!({"external_id":"bob","type":"user","is_identity":true})];
    let mut rels = Vec::new();
    for i in 1..=5 {
        nodes.push(json!({"external_id": format!("doc{i}"), "type":"document"}));
        rels.push(json!({"source":{"external_id":"alice","type":"user"},"target":{"external_id":format!("doc{i}"),"type":"document"},"type":"OWNS"}));
    }
    rels.push(json!({"source":{"external_id":"bob","type":"user"},"target":{"external_id":"doc1","type":"document"},"type":"OWNS"}));
    e.load_graph_json(&json!({"nodes":nodes,"relationships":rels}).to_string()).unwrap();
    e.set_policies_json(&json!([
        {"id":"read","status":"ACTIVE","tags":["docs"],"policy":{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"user"},"actions":["read","edit"],"resource":{"type":"document"},"condition":{"cypher":"MATCH (subject:user)-[:OWNS]->(resource:document)"}}},
        {"id":"priced","status":"ACTIVE","tags":["shop"],"policy":{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"user"},"actions":["buy"],"resource":{"type":"document"},"condition":{"cypher":"MATCH (subject:user), (resource:document) WHERE $max_price >= 10"}}}
    ]).to_string()).unwrap();
    e
}

fn call(out: String) -> Value {
    serde_json::from_str(&out).unwrap()
}

#[test]
fn batch_defaults_and_semantics() {
    let e = engine();
    let o = EvalOptions::default();
    let base = json!({"subject":{"type":"user","id":"bob"},"action":{"name":"read"},
        "evaluations":[{"resource":{"type":"document","id":"doc1"}},{"resource":{"type":"document","id":"doc2"}},{"resource":{"type":"document","id":"doc1"},"action":{"name":"edit"}},{}]});
    let all = call(e.evaluations_json(&base.to_string(), &o));
    assert_eq!(all["evaluations"].as_array().unwrap().len(), 4);
    assert_eq!(all["evaluations"][0], json!({"decision":true}));
    assert_eq!(all["evaluations"][1], json!({"decision":false}));
    assert_eq!(all["evaluations"][2], json!({"decision":true}));
    // an item missing its resource (no default) is false with a reason; the rest go on
    assert_eq!(all["evaluations"][3]["decision"], false);
    assert_eq!(all["evaluations"][3]["context"]["reason"], "request.invalid");
    let mut deny_first = base.clone();
    deny_first["options"] = json!({"evaluations_semantic":"deny_on_first_deny"});
    assert_eq!(call(e.evaluations_json(&deny_first.to_string(), &o))["evaluations"].as_array().unwrap().len(), 2);
    let mut permit_first = base.clone();
    permit_first["options"] = json!({"evaluations_semantic":"permit_on_first_permit"});
    assert_eq!(call(e.evaluations_json(&permit_first.to_string(), &o))["evaluations"], json!([{"decision":true}]));
    let mut bad = base.clone();
    bad["options"] = json!({"evaluations_semantic":"sometimes"});
    assert_eq!(call(e.evaluations_json(&bad.to_string(), &o))["error"]["code"], "request.evaluations_semantic");
    bad["evaluations"] = json!({});
    assert_eq!(call(e.evaluations_json(&bad.to_string(), &o))["error"]["code"], "request.evaluations_semantic");
    let mut not_array = base.clone();
    not_array["evaluations"] = json!({"a":1});
    assert_eq!(call(e.evaluations_json(&not_array.to_string(), &o))["error"]["code"], "request.invalid");
    // missing or empty evaluations behaves as a single evaluation
    let single = json!({"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"document","id":"doc1"},"evaluations":[]});
    assert_eq!(call(e.evaluations_json(&single.to_string(), &o)), json!({"decision":true}));
}

#[test]
fn search_pagination_is_stable_and_tied_to_the_snapshot() {
    let mut e = engine();
    let o = EvalOptions::default();
    let req = |page: Value| json!({"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"document"},"page":page}).to_string();
    let p1 = call(e.search_resources_json(&req(json!({"limit":2})), &o));
    assert_eq!(p1["page"]["count"], 2);
    assert_eq!(p1["page"]["total"], 5);
    let tok = p1["page"]["next_token"].as_str().unwrap().to_string();
    assert!(!tok.is_empty());
    let p2 = call(e.search_resources_json(&req(json!({"limit":2,"token":tok})), &o));
    // draft-03 spelling of the request token is accepted too
    let p2b = call(e.search_resources_json(&req(json!({"limit":2,"next_token":tok})), &o));
    assert_eq!(p2, p2b);
    let tok2 = p2["page"]["next_token"].as_str().unwrap().to_string();
    let p3 = call(e.search_resources_json(&req(json!({"limit":2,"token":tok2})), &o));
    assert_eq!(p3["page"]["next_token"], "");
    let mut ids: Vec<String> = [&p1, &p2, &p3].iter().flat_map(|p| p["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string())).collect();
    ids.sort();
    assert_eq!(ids, ["doc1", "doc2", "doc3", "doc4", "doc5"]);
    // a token for another query, a garbage token, a negative limit
    let other = json!({"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"document"},"page":{"limit":2,"token":tok}}).to_string();
    assert_eq!(call(e.search_resources_json(&other, &o))["error"]["code"], "search.page_token");
    assert_eq!(call(e.search_resources_json(&req(json!({"token":"zzz"})), &o))["error"]["code"], "search.page_token");
    assert_eq!(call(e.search_resources_json(&req(json!({"limit":-1})), &o))["error"]["code"], "search.limit");
    // a stale token after the graph changed
    e.load_graph_json(r#"{"nodes":[{"external_id":"doc9","type":"document"}]}"#).unwrap();
    assert_eq!(call(e.search_resources_json(&req(json!({"limit":2,"token":tok})), &o))["error"]["code"], "search.page_token");
}

#[test]
fn search_inputs_and_unknowns() {
    let e = engine();
    let o = EvalOptions::default();
    // the searched entity's id is ignored; the input entity needs one
    let r = call(e.search_subjects_json(r#"{"subject":{"type":"user","id":"ignored"},"action":{"name":"read"},"resource":{"type":"document","id":"doc1"}}"#, &o));
    let mut ids: Vec<&str> = r["results"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["alice", "bob"]);
    assert_eq!(call(e.search_subjects_json(r#"{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"document"}}"#, &o))["error"]["code"], "search.invalid");
    assert_eq!(call(e.search_resources_json(r#"{"subject":{"type":"user","id":"nobody"},"action":{"name":"read"},"resource":{"type":"document"}}"#, &o)), json!({"results":[]}));
    assert_eq!(call(e.search_resources_json(r#"{"subject":{"type":"ghost","id":"x"},"action":{"name":"read"},"resource":{"type":"nothing"}}"#, &o)), json!({"results":[]}));
    let acts = call(e.search_actions_json(r#"{"subject":{"type":"user","id":"bob"},"resource":{"type":"document","id":"doc1"},"context":{"input_params":{"max_price":20}}}"#, &o));
    assert_eq!(acts, json!({"results":[{"name":"read"},{"name":"edit"},{"name":"buy"}]}));
}

#[test]
fn indykite_extensions() {
    let e = engine();
    let o = EvalOptions::default();
    let buy = |ctx: Value| json!({"subject":{"type":"user","id":"bob"},"action":{"name":"buy"},"resource":{"type":"document","id":"doc3"},"context":ctx}).to_string();
    assert_eq!(call(e.evaluate_json(&buy(json!({"input_params":{"max_price":12}})), &o)), json!({"decision":true}));
    let missing = call(e.evaluate_json(&buy(json!({})), &o));
    assert_eq!(missing["decision"], false);
    assert_eq!(missing["context"]["reason"], "missing_input_param");
    // policy_tags restrict the policies considered
    assert_eq!(call(e.evaluate_json(&buy(json!({"input_params":{"max_price":12},"policy_tags":["docs"]})), &o))["context"]["reason"], "no_applicable_policy");
    assert_eq!(call(e.evaluate_json(&buy(json!({"input_params":{"max_price":12},"policy_tags":["shop"]})), &o)), json!({"decision":true}));
    // deprecated shapes
    let what = call(e.what_authorized_json(r#"{"subject":{"type":"user","id":"bob"},"evaluations":[{"action":{"name":"read"},"resource":{"type":"document"}}]}"#, &o));
    assert_eq!(what, json!({"evaluations":[{"action":{"name":"read"},"resource":{"type":"document","id":"doc1"}}]}));
    let who = call(e.who_authorized_json(r#"{"evaluations":[{"action":{"name":"edit"},"resource":{"type":"document","id":"doc1"}}]}"#, &o));
    let subjects = who["evaluations"][0]["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 2);
}

#[test]
fn metadata_document() {
    let m = kbac::authzen::metadata("https://pdp.example.com/");
    assert_eq!(m["policy_decision_point"], "https://pdp.example.com");
    assert_eq!(m["access_evaluation_endpoint"], "https://pdp.example.com/access/v1/evaluation");
    assert_eq!(m["search_action_endpoint"], "https://pdp.example.com/access/v1/search/action");
}
