//! The reference step-up scenario (`../shared/scenarios/step-up-laptop/`), read from `../shared`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Engine, EngineConfig, EvalOptions};
use serde_json::{json, Value};

fn scenario(file: &str) -> String {
    let path = format!("{}/../shared/scenarios/step-up-laptop/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn engine(policy_file: &str) -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.load_graph_json(&scenario("nodes.json")).unwrap();
    e.load_graph_json(&scenario("relationships.json")).unwrap();
    e.set_policies_json(&scenario(policy_file)).unwrap();
    e
}

fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text).unwrap().to_string()
}

fn request_for(subject: &str) -> String {
    let mut r: Value = serde_json::from_str(&scenario("request.json")).unwrap();
    r["subject"]["id"] = json!(subject);
    r.to_string()
}

fn claims(sub: &str, exp: i64) -> EvalOptions {
    EvalOptions { now: Some(1_775_490_000), claims: Some(json!({"sub": sub, "exp": exp})), token: None }
}

#[test]
fn without_token_the_answer_is_the_expected_advice_byte_for_byte() {
    for policy in ["policy.json", "policy-record.json"] {
        let e = engine(policy);
        let out = e.evaluate_json(&scenario("request.json"), &EvalOptions::default());
        // Compact output equals the expected file re-serialised compactly (keys sorted).
        assert_eq!(out, compact(&scenario("response-without-token.json")), "{policy}");
    }
}

#[test]
fn with_valid_claims_alice_is_allowed_exactly_as_expected() {
    let e = engine("policy.json");
    let out = e.evaluate_json(&scenario("request.json"), &claims("alice", 1_775_490_150));
    assert_eq!(out, compact(&scenario("response-with-mfa-token.json")));
}

#[test]
fn karel_also_owns_the_laptop() {
    let e = engine("policy.json");
    assert_eq!(e.evaluate_json(&request_for("karel"), &claims("karel", 1_775_490_150)), r#"{"decision":true}"#);
    // without claims Karel gets the same step-up advice as Alice
    let out: Value = serde_json::from_str(&e.evaluate_json(&request_for("karel"), &EvalOptions::default())).unwrap();
    assert_eq!(out["context"]["advice"][0]["error"], "insufficient_user_authentication");
}

#[test]
fn strangers_are_denied_without_advice() {
    let e = engine("policy.json");
    for who in ["knightrider", "satchmo"] {
        assert_eq!(e.evaluate_json(&request_for(who), &EvalOptions::default()), r#"{"decision":false}"#, "{who}");
        assert_eq!(e.evaluate_json(&request_for(who), &claims(who, 1_775_490_150)), r#"{"decision":false}"#, "{who}");
    }
}

#[test]
fn an_old_token_is_denied_with_the_advice() {
    let e = engine("policy.json");
    let out = e.evaluate_json(&scenario("request.json"), &claims("alice", 1_775_490_149));
    assert_eq!(out, compact(&scenario("response-without-token.json")));
}

#[test]
fn a_token_for_someone_else_is_refused() {
    let e = engine("policy.json");
    let out: Value = serde_json::from_str(&e.evaluate_json(&scenario("request.json"), &claims("knightrider", 1_775_490_150))).unwrap();
    assert_eq!(out["decision"], false);
    assert_eq!(out["context"]["reason"], "token_subject_mismatch");
}

#[test]
fn explain_names_the_policy_and_the_granting_path() {
    let e = engine("policy-record.json");
    let out: Value = serde_json::from_str(&e.explain_json(&scenario("request.json"), &claims("alice", 1_775_490_150))).unwrap();
    assert_eq!(out["decision"], true);
    assert_eq!(out["explain"]["policy"], "policy-name");
    let ids: Vec<&str> = out["explain"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["alice", "alice", "airbook-xyz"]);
    assert_eq!(out["explain"]["relationships"][1]["type"], "OWNS");
}
