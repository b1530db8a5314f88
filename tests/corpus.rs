//! Every KBAC policy of the public corpus (`../shared/corpus/kbac-policies.json`) compiles or is
//! refused with a specific, documented code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Code, Engine, EngineConfig};
use serde_json::Value;
use std::collections::BTreeMap;

#[test]
fn corpus_policies_compile_or_are_refused_for_a_documented_reason() {
    let path = format!("{}/../shared/corpus/kbac-policies.json", env!("CARGO_MANIFEST_DIR"));
    let corpus: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut compiled = 0;
    let mut refused: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut ciq = 0;
    let mut kbac_total = 0;
    for entry in &corpus {
        let policy = match &entry["policy"] {
            Value::String(s) => serde_json::from_str::<Value>(s).unwrap(),
            v => v.clone(),
        };
        let version = policy["meta"]["policy_version"].as_str().or(policy["meta"]["policyVersion"].as_str());
        let mut engine = Engine::new(EngineConfig::default());
        let result = engine.set_policies_json(&policy.to_string());
        match version {
            Some("1.0-ciq") => {
                assert_eq!(result.unwrap_err().code(), Code::PolicyNotAuthorization);
                ciq += 1;
            }
            Some("2.0-kbac" | "1.0-indykite" | "3.0-kbac") => {
                kbac_total += 1;
                match result {
                    Ok(_) => compiled += 1,
                    Err(e) => refused.entry(e.code().as_str()).or_default().push(format!("{e}")),
                }
            }
            _ => assert!(result.is_err(), "a policy without a known version must be refused"),
        }
    }
    println!("corpus: {kbac_total} KBAC policies: {compiled} compiled; {ciq} 1.0-ciq refused as not authorization");
    for (code, list) in &refused {
        println!("  refused {code}: {}", list.len());
        for m in list {
            println!("    {m}");
        }
    }
    let use_or_call: usize = ["cypher.use_not_allowed", "cypher.call_not_allowed"].iter().map(|c| refused.get(c).map_or(0, Vec::len)).sum();
    let other: usize = refused.values().map(Vec::len).sum::<usize>() - use_or_call;
    assert!(other <= 3, "at most 3 refusals other than USE/CALL, found {other}");
    // The documented reasons: no condition at all, and an undefined variable in an inline map.
    for code in refused.keys() {
        assert!(
            ["cypher.use_not_allowed", "cypher.call_not_allowed", "policy.missing_condition", "cypher.undefined_variable"].contains(code),
            "unexpected refusal code {code}"
        );
    }
    assert_eq!(ciq, 87);
    assert_eq!(kbac_total, 46);
}
