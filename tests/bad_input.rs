//! Bad input never panics: every entry point answers a typed error (or a valid answer) for
//! truncated and garbage JSON, deep nesting, huge strings, unknown fields and wrong types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Code, Engine, EngineConfig, EvalOptions};
use serde_json::Value;

const GOOD_GRAPH: &str = r#"{"nodes":[{"external_id":"a","type":"Person","is_identity":true},{"external_id":"c","type":"Car"}],
  "relationships":[{"source":{"external_id":"a","type":"Person"},"target":{"external_id":"c","type":"Car"},"type":"OWNS"}]}"#;
const GOOD_POLICY: &str = r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"Person"},"actions":["DRIVE"],"resource":{"type":"Car"},"condition":{"cypher":"MATCH (subject:Person)-[:OWNS]->(resource:Car)"}}"#;
const GOOD_REQUEST: &str = r#"{"subject":{"type":"Person","id":"a"},"action":{"name":"DRIVE"},"resource":{"type":"Car","id":"c"}}"#;

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.load_graph_json(GOOD_GRAPH).unwrap();
    e.set_policies_json(GOOD_POLICY).unwrap();
    e
}

/// Inputs every entry point must survive.
fn nasty() -> Vec<String> {
    let mut v: Vec<String> = vec![
        "".into(),
        "{".into(),
        "}".into(),
        "null".into(),
        "[]".into(),
        "42".into(),
        "\"text\"".into(),
        "{\"subject\":".into(),
        "\u{0}\u{1}garbage\u{fffd}".into(),
        r#"{"nodes":"x"}"#.into(),
        r#"{"nodes":[1,2,3]}"#.into(),
        r#"{"relationships":[{}]}"#.into(),
        r#"{"subject":{"type":1,"id":[]},"action":{"name":{}},"resource":null}"#.into(),
        r#"{"subject":{"type":"Person","id":"a","properties":7},"action":{"name":"DRIVE"},"resource":{"type":"Car","id":"c"}}"#.into(),
        r#"{"evaluations":{},"options":{"evaluations_semantic":"sometimes"}}"#.into(),
        r#"{"meta":{"policy_version":"2.0-kbac"},"condition":{"cypher":"MATCH (((("}}"#.into(),
        r#"{"unknown":true,"also":[{"deep":{"er":1}}]}"#.into(),
        "\"\\ud800\"".into(),
    ];
    v.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    v.push(format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)));
    let big = "x".repeat(1 << 20);
    v.push(format!(r#"{{"subject":{{"type":"Person","id":"{big}"}},"action":{{"name":"DRIVE"}},"resource":{{"type":"Car","id":"c"}}}}"#));
    v.push(format!(r#"{{"nodes":[{{"external_id":"{big}","type":"Person"}}]}}"#));
    v.push(format!(r#"{{"meta":{{"policy_version":"2.0-kbac"}},"subject":{{"type":"P"}},"actions":["A"],"resource":{{"type":"R"}},"condition":{{"cypher":"MATCH (subject) WHERE subject.property.x = '{big}'"}}}}"#));
    // Every prefix of valid documents: truncation at every byte.
    for doc in [GOOD_GRAPH, GOOD_POLICY, GOOD_REQUEST] {
        for i in 0..doc.len() {
            if doc.is_char_boundary(i) {
                v.push(doc[..i].to_string());
            }
        }
    }
    v
}

fn assert_error_or_answer(out: &str, what: &str, input: &str) {
    let v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{what}: not JSON ({e}) for input {:.80}", input));
    if let Some(err) = v.get("error") {
        let code = err["code"].as_str().unwrap_or_else(|| panic!("{what}: error without code"));
        assert!(Code::ALL.iter().any(|c| c.as_str() == code), "{what}: unknown code {code}");
        assert!(err["message"].is_string());
    } else {
        assert!(v.get("decision").is_some() || v.get("evaluations").is_some() || v.get("results").is_some(), "{what}: {out:.200}");
    }
}

#[test]
fn json_entry_points_answer_typed_errors() {
    let e = engine();
    let opts = EvalOptions { now: Some(0), claims: None, token: None };
    for input in nasty() {
        for (what, out) in [
            ("evaluate", e.evaluate_json(&input, &opts)),
            ("evaluations", e.evaluations_json(&input, &opts)),
            ("explain", e.explain_json(&input, &opts)),
            ("search_subjects", e.search_subjects_json(&input, &opts)),
            ("search_resources", e.search_resources_json(&input, &opts)),
            ("search_actions", e.search_actions_json(&input, &opts)),
        ] {
            assert_error_or_answer(&out, what, &input);
        }
    }
}

#[test]
fn mutators_reject_bad_input_and_change_nothing() {
    let mut e = engine();
    let before = e.evaluate_json(GOOD_REQUEST, &EvalOptions::default());
    assert_eq!(before, r#"{"decision":true}"#);
    for input in nasty() {
        let results = [
            e.load_graph_json(&input).err(),
            e.upsert_nodes_json(&input).err(),
            e.upsert_relationships_json(&input).err(),
            e.delete_nodes_json(&input).err(),
            e.delete_relationships_json(&input).err(),
            e.delete_node_properties_json(&input).err(),
            e.set_policies_json(&input).err(),
        ];
        for r in results.into_iter().flatten() {
            assert!(Code::ALL.contains(&r.code()));
        }
        // A valid-but-empty document may legitimately succeed (e.g. `[]` policies); put the
        // good state back and check the engine still answers.
        if e.stats().policies == 0 {
            e.set_policies_json(GOOD_POLICY).unwrap();
        }
        e.load_graph_json(GOOD_GRAPH).unwrap();
        assert_eq!(e.evaluate_json(GOOD_REQUEST, &EvalOptions::default()), before, "after {:.80}", input);
    }
}

#[test]
fn deep_nesting_is_its_own_code() {
    let e = engine();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let v: Value = serde_json::from_str(&e.evaluate_json(&deep, &EvalOptions::default())).unwrap();
    assert_eq!(v["error"]["code"], "json.too_deep");
}

#[test]
fn errors_name_the_item() {
    let mut e = engine();
    let err = e.load_graph_json(r#"{"nodes":[{"external_id":"x","type":"P"},{"external_id":"y","type":"P"},{"external_id":"z","type":"P"},{"external_id":"","type":"P"}]}"#).unwrap_err();
    assert_eq!(err.code(), Code::GraphEmptyId);
    assert_eq!(err.location().path.as_deref(), Some("nodes[3].external_id"));
    let err = e.load_graph_json(r#"{"nodes":[{"external_id":"x","type":"P","properties":[{"type":"p","value":{"o":1}}]}]}"#).unwrap_err();
    assert_eq!(err.code(), Code::GraphInvalidValue);
    assert_eq!(err.location().path.as_deref(), Some("nodes[0].properties[0].value"));
    let err = e
        .set_policies_json(r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"P"},"actions":["A"],"resource":{"type":"R"},"condition":{"cypher":"MATCH (subject), (resource)","filter":{"operator":"AND","operands":[{"operator":"=","attribute":"$a","value":1},{"operator":"IN","attribute":"$b","value":3}]}}}"#)
        .unwrap_err();
    assert_eq!(err.code(), Code::PolicyFilterInvalid);
    assert_eq!(err.location().path.as_deref(), Some("condition.filter.operands[1].value"));
    let err = e
        .set_policies_json(r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"P"},"actions":["A"],"resource":{"type":"R"},"condition":{"cypher":"MATCH (subject)\n  -[:X]->(resource) WHERE subject.x = = 1"}}"#)
        .unwrap_err();
    assert_eq!(err.code(), Code::CypherSyntax);
    assert_eq!(err.location().line, Some(2));
}
