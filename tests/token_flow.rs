#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Issue 4 acceptance, end to end through the engine with real signed tokens: the reference
//! step-up scenario, an `acr` hierarchy variant with its exact RFC 9470 header, the JWT attack
//! corpus as decisions, down-scoped (RPT) tokens, `$auth.age` / `$auth.scopes`, and the
//! verified-token cache.
//!
//! Tokens are signed here with jwt-compact and the fixed test keys of
//! `tests/fixtures/tokens/` (the same keys `tests/token.rs` uses).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPrivateKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature};
use kbac::stepup::{challenge, challenge_for_decision_json};
use kbac::token::{Jwks, TokenConfig, Verifier};
use kbac::{Engine, EngineConfig, EvalOptions};
use serde_json::{json, Value};

/// The scenario clock: before the policy's fixed instant 1775490149.
const NOW: i64 = 1_775_490_000;
const ISS: &str = "https://as.example";
const AUD: &str = "kbac";

// --- fixtures and minting ---------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/tokens/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn scenario(file: &str) -> String {
    let path = format!("{}/../shared/scenarios/step-up-laptop/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn scenario_json(file: &str) -> Value {
    serde_json::from_str(&scenario(file)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

struct Keys {
    rsa: RsaPrivateKey,
    ec: <Es256 as Algorithm>::SigningKey,
    ed: <Ed25519 as Algorithm>::SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let doc: Value = serde_json::from_slice(&fixture("private.jwks.json")).unwrap();
        let jwk = |i: usize| -> JsonWebKey<'static> { serde_json::from_value(doc["keys"][i].clone()).unwrap() };
        Keys {
            rsa: RsaPrivateKey::try_from(&jwk(0)).unwrap(),
            ec: <Es256 as Algorithm>::SigningKey::try_from(&jwk(1)).unwrap(),
            ed: <Ed25519 as Algorithm>::SigningKey::try_from(&jwk(2)).unwrap(),
        }
    })
}

enum Signer<'a> {
    Rsa(&'static str),
    Es256,
    EdDsa,
    Hmac(&'a [u8]),
    Raw(&'a str),
}

fn sign(signer: &Signer<'_>, input: &[u8]) -> String {
    let k = keys();
    match signer {
        Signer::Rsa(name) => b64(&name.parse::<Rsa>().unwrap().sign(&k.rsa, input).as_bytes()),
        Signer::Es256 => b64(&Es256.sign(&k.ec, input).as_bytes()),
        Signer::EdDsa => b64(&Ed25519.sign(&k.ed, input).as_bytes()),
        Signer::Hmac(secret) => b64(&Hs256.sign(&Hs256Key::new(secret), input).as_bytes()),
        Signer::Raw(sig) => (*sig).to_string(),
    }
}

fn mint_raw(header: &str, payload: &str, signer: &Signer<'_>) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = sign(signer, input.as_bytes());
    format!("{input}.{sig}")
}

fn mint(header: &Value, payload: &Value, signer: &Signer<'_>) -> String {
    mint_raw(&header.to_string(), &payload.to_string(), signer)
}

/// Standard claims for `sub`, valid at `NOW` and later than the policy's fixed instant.
fn claims(sub: &str) -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": sub, "iat": NOW - 60, "exp": NOW + 3600})
}

/// `claims(sub)` with `extra` merged in (a `null` member removes the claim).
fn claims_with(sub: &str, extra: Value) -> Value {
    let mut c = claims(sub);
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn es256(payload: &Value) -> String {
    mint(&json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}), payload, &Signer::Es256)
}

fn jwks_value() -> Value {
    serde_json::from_slice(&fixture("jwks.json")).unwrap()
}

// --- engines ----------------------------------------------------------------------------

/// Engine configuration: issuer/audience checks and the fixture JWKS, plus `extra` keys.
fn config(extra: Value) -> String {
    let mut c = json!({"token": {"issuer": ISS, "audience": AUD}, "jwks": jwks_value()});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

fn scenario_engine_with(config_json: &str, policy: &str) -> Engine {
    let mut e = Engine::from_config_json(config_json).unwrap();
    e.load_graph_json(&scenario("nodes.json")).unwrap();
    e.load_graph_json(&scenario("relationships.json")).unwrap();
    e.set_policies_json(policy).unwrap();
    e
}

fn scenario_engine() -> Engine {
    scenario_engine_with(&config(json!({})), &scenario("policy.json"))
}

fn with_token(token: &str) -> EvalOptions {
    EvalOptions { now: Some(NOW), claims: None, token: Some(token.to_string()) }
}

fn at(now: i64, token: &str) -> EvalOptions {
    EvalOptions { now: Some(now), claims: None, token: Some(token.to_string()) }
}

fn request(subject_type: &str, subject: &str, action: &str, resource_type: &str, resource: &str) -> String {
    json!({
        "subject": {"type": subject_type, "id": subject},
        "action": {"name": action},
        "resource": {"type": resource_type, "id": resource}
    })
    .to_string()
}

fn laptop_request(subject: &str) -> String {
    request("Token", subject, "CAN_SERVICE", "Laptop", "airbook-xyz")
}

fn decide(e: &Engine, req: &str, opts: &EvalOptions) -> Value {
    serde_json::from_str(&e.evaluate_json(req, opts)).unwrap()
}

/// A decision must be `false` with exactly this reason code and, unless `advice` is set, no
/// advice; the `context` holds only `reason`, `reason_admin` (and `advice`).
#[track_caller]
fn assert_denied(out: &Value, code: &str, advice: Option<&Value>) {
    assert_eq!(out["decision"], json!(false), "{out}");
    assert_eq!(out["context"]["reason"], json!(code), "{out}");
    assert!(out["context"]["reason_admin"]["en"].as_str().is_some_and(|m| !m.is_empty()), "{out}");
    assert_eq!(out["context"].get("advice"), advice, "{out}");
    let keys: Vec<&String> = out["context"].as_object().unwrap().keys().collect();
    let expected: &[&str] = if advice.is_some() { &["advice", "reason", "reason_admin"] } else { &["reason", "reason_admin"] };
    assert_eq!(keys, expected, "{out}");
}

// --- the reference scenario -------------------------------------------------------------

#[test]
fn scenario_without_token_is_the_expected_advice_exactly() {
    let e = scenario_engine();
    let expected = scenario_json("response-without-token.json");
    for opts in [EvalOptions::default(), EvalOptions { now: Some(NOW), ..EvalOptions::default() }] {
        let out = e.evaluate_json(&scenario("request.json"), &opts);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), expected);
        // Compact, keys sorted: the same text as the file re-serialised.
        assert_eq!(out, expected.to_string());
    }
}

#[test]
fn scenario_with_an_expired_token_gives_the_same_advice_and_says_expired() {
    let e = scenario_engine();
    let expected = scenario_json("response-without-token.json");
    // Expired an hour ago, and just beyond the default 60 s leeway.
    for exp in [NOW - 3600, NOW - 60] {
        let token = es256(&claims_with("alice", json!({"exp": exp})));
        let out = decide(&e, &scenario("request.json"), &with_token(&token));
        assert_denied(&out, "token.expired", Some(&expected["context"]["advice"]));
    }
    // Within the leeway the token is still valid, but its exp is before the policy's instant.
    let token = es256(&claims_with("alice", json!({"exp": NOW - 30})));
    assert_eq!(e.evaluate_json(&scenario("request.json"), &with_token(&token)), expected.to_string());
}

#[test]
fn scenario_with_a_valid_token_for_alice_is_allowed_exactly() {
    let e = scenario_engine();
    let expected = scenario_json("response-with-mfa-token.json");
    assert_eq!(expected, json!({"decision": true}));
    let c = claims_with("alice", json!({"exp": 1_775_490_150, "acr": "mfa"}));
    let tokens = [
        es256(&c),
        mint(&json!({"alg": "EdDSA", "kid": "ed-1"}), &c, &Signer::EdDsa),
        mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &c, &Signer::Rsa("RS256")),
        mint(&json!({"alg": "PS256", "kid": "rsa-1"}), &c, &Signer::Rsa("PS256")),
        mint(&json!({"alg": "ES256"}), &c, &Signer::Es256), // kid-less: the key is found by type
    ];
    for token in &tokens {
        let out = e.evaluate_json(&scenario("request.json"), &with_token(token));
        assert_eq!(out, r#"{"decision":true}"#, "{token}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), expected);
    }
    // A valid token whose exp is not later than the policy's instant gets the advice.
    let early = es256(&claims_with("alice", json!({"exp": 1_775_490_149})));
    let out = decide(&e, &scenario("request.json"), &with_token(&early));
    assert_eq!(out, scenario_json("response-without-token.json"));
}

#[test]
fn scenario_token_for_knightrider_asking_as_alice_is_a_subject_mismatch() {
    let e = scenario_engine();
    let token = es256(&claims("knightrider"));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&token)), "token_subject_mismatch", None);
    // Asking as himself he is a stranger to the laptop: a plain deny, no advice.
    assert_eq!(e.evaluate_json(&laptop_request("knightrider"), &with_token(&token)), r#"{"decision":false}"#);
    // Karel, who also owns the laptop, is allowed with his own token only.
    let karel = es256(&claims("karel"));
    assert_eq!(e.evaluate_json(&laptop_request("karel"), &with_token(&karel)), r#"{"decision":true}"#);
    assert_denied(&decide(&e, &laptop_request("karel"), &with_token(&token)), "token_subject_mismatch", None);
}

#[test]
fn scenario_with_a_configured_subject_claim() {
    let cfg = config(json!({"subjectClaim": "preferred_username"}));
    let e = scenario_engine_with(&cfg, &scenario("policy.json"));
    let token = es256(&claims_with("opaque-id-1", json!({"preferred_username": "alice"})));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&token)), r#"{"decision":true}"#);
    let out = decide(&e, &laptop_request("opaque-id-1"), &with_token(&token));
    assert_denied(&out, "token_subject_mismatch", None);
}

#[test]
fn scenario_in_a_batch_and_explain() {
    let e = scenario_engine();
    let alice = es256(&claims("alice"));
    let batch = json!({
        "subject": {"type": "Token", "id": "alice"},
        "action": {"name": "CAN_SERVICE"},
        "evaluations": [
            {"resource": {"type": "Laptop", "id": "airbook-xyz"}},
            {"subject": {"type": "Token", "id": "karel"}, "resource": {"type": "Laptop", "id": "airbook-xyz"}}
        ]
    })
    .to_string();
    let out: Value = serde_json::from_str(&e.evaluations_json(&batch, &with_token(&alice))).unwrap();
    assert_eq!(out["evaluations"][0], json!({"decision": true}));
    assert_eq!(out["evaluations"][1]["context"]["reason"], "token_subject_mismatch");
    // A bad token fails the whole batch item by item with its code.
    let bad = format!("{}{}", &alice[..alice.len() - 2], if alice.ends_with("AA") { "BA" } else { "AA" });
    let out: Value = serde_json::from_str(&e.evaluations_json(&batch, &with_token(&bad))).unwrap();
    for item in out["evaluations"].as_array().unwrap() {
        assert_eq!(item["context"]["reason"], "token.signature");
    }
    let explained: Value = serde_json::from_str(&e.explain_json(&laptop_request("alice"), &with_token(&alice))).unwrap();
    assert_eq!(explained["decision"], true);
}

// --- step-up variant: acr >= mfa in pwd < otp < mfa < phr ---------------------------------

const STEP_UP_ADVICE: &str =
    r#"{"error":"insufficient_user_authentication","error_description":"A stronger authentication is required","acr_values":"mfa phr"}"#;
const STEP_UP_CHALLENGE: &str = r#"Bearer error="insufficient_user_authentication", error_description="A stronger authentication is required", acr_values="mfa phr""#;

fn step_up_policy() -> String {
    let advice: Value = serde_json::from_str(STEP_UP_ADVICE).unwrap();
    json!({
        "meta": {"policy_version": "2.0-kbac"},
        "subject": {"type": "Token"},
        "actions": ["CAN_SERVICE"],
        "resource": {"type": "Laptop"},
        "condition": {
            "cypher": "MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:OWNS]->(resource)",
            "filter": {"attribute": "$auth.level", "operator": ">=", "value": 2, "advice": advice}
        }
    })
    .to_string()
}

fn step_up_engine() -> Engine {
    scenario_engine_with(&config(json!({"assuranceLevels": ["pwd", "otp", "mfa", "phr"]})), &step_up_policy())
}

#[test]
fn step_up_variant_pwd_gets_advice_and_the_exact_rfc9470_header() {
    let e = step_up_engine();
    let advice: Value = serde_json::from_str(STEP_UP_ADVICE).unwrap();
    let expected = json!({"decision": false, "context": {"advice": [advice]}});
    for acr in [Some("pwd"), Some("otp"), Some("urn:unknown:loa"), None] {
        let c = match acr {
            Some(acr) => claims_with("alice", json!({ "acr": acr })),
            None => claims("alice"),
        };
        let out = e.evaluate_json(&laptop_request("alice"), &with_token(&es256(&c)));
        assert_eq!(out, expected.to_string(), "acr {acr:?}");
        let parsed: Value = serde_json::from_str(&out).unwrap();
        let list = parsed["context"]["advice"].as_array().unwrap();
        assert_eq!(challenge(list, None).as_deref(), Some(STEP_UP_CHALLENGE));
        assert_eq!(challenge_for_decision_json(&out, None).as_deref(), Some(STEP_UP_CHALLENGE));
    }
    // With a realm, the realm comes first.
    let out = e.evaluate_json(&laptop_request("alice"), &with_token(&es256(&claims_with("alice", json!({"acr": "pwd"})))));
    assert_eq!(
        challenge_for_decision_json(&out, Some("kbac")).as_deref(),
        Some(r#"Bearer realm="kbac", error="insufficient_user_authentication", error_description="A stronger authentication is required", acr_values="mfa phr""#)
    );
    // No token at all: the same advice.
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &EvalOptions { now: Some(NOW), ..EvalOptions::default() }), expected.to_string());
}

#[test]
fn step_up_variant_mfa_and_phr_are_allowed() {
    let e = step_up_engine();
    for acr in ["mfa", "phr"] {
        let token = es256(&claims_with("alice", json!({ "acr": acr })));
        let out = e.evaluate_json(&laptop_request("alice"), &with_token(&token));
        assert_eq!(out, r#"{"decision":true}"#, "{acr}");
        assert_eq!(challenge_for_decision_json(&out, None), None);
    }
    // The assurance hierarchy as `assurance: {levels}` (the JS option shape) works the same.
    let cfg = config(json!({"assurance": {"levels": ["pwd", "otp", "mfa", "phr"]}}));
    let e = scenario_engine_with(&cfg, &step_up_policy());
    let token = es256(&claims_with("alice", json!({"acr": "phr"})));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&token)), r#"{"decision":true}"#);
}

#[test]
fn challenge_for_decision_json_edge_cases() {
    assert_eq!(challenge_for_decision_json(r#"{"decision":true}"#, None), None);
    assert_eq!(challenge_for_decision_json(r#"{"decision":false}"#, None), None);
    assert_eq!(challenge_for_decision_json("not json", None), None);
    assert_eq!(challenge_for_decision_json(r#"{"error":{"code":"json.syntax"}}"#, None), None);
    assert_eq!(challenge_for_decision_json(r#"{"decision":false,"context":{"advice":{"error":"x"}}}"#, None), None);
    // A permit never carries a challenge, even if advice were present.
    let permit = json!({"decision": true, "context": {"advice": [serde_json::from_str::<Value>(STEP_UP_ADVICE).unwrap()]}});
    assert_eq!(challenge_for_decision_json(&permit.to_string(), None), None);
    let scope = json!({"decision": false, "context": {"advice": [{"error": "insufficient_scope", "scope": "cars.read"}]}});
    assert_eq!(
        challenge_for_decision_json(&scope.to_string(), None).as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="cars.read""#)
    );
}

// --- $auth.age and max_age ---------------------------------------------------------------

fn age_policy() -> String {
    json!({
        "meta": {"policy_version": "2.0-kbac"},
        "subject": {"type": "Token"},
        "actions": ["CAN_SERVICE"],
        "resource": {"type": "Laptop"},
        "condition": {
            "cypher": "MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:OWNS]->(resource)",
            "filter": [
                {"attribute": "$auth.level", "operator": ">=", "value": 2, "advice": serde_json::from_str::<Value>(STEP_UP_ADVICE).unwrap()},
                {"attribute": "$auth.age", "operator": "<=", "value": 300,
                 "advice": {"error": "insufficient_user_authentication", "error_description": "authentication too old", "max_age": "300"}}
            ]
        }
    })
    .to_string()
}

#[test]
fn auth_age_from_auth_time_and_max_age_advice() {
    let e = scenario_engine_with(&config(json!({"assuranceLevels": ["pwd", "otp", "mfa", "phr"]})), &age_policy());
    let fresh = es256(&claims_with("alice", json!({"acr": "mfa", "auth_time": NOW - 100})));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&fresh)), r#"{"decision":true}"#);
    // Fractional NumericDate (RFC 7519 allows it).
    let fractional = es256(&claims_with("alice", json!({"acr": "mfa", "auth_time": (NOW - 100) as f64 + 0.25})));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&fractional)), r#"{"decision":true}"#);
    // Exactly at the limit.
    let edge = es256(&claims_with("alice", json!({"acr": "mfa", "auth_time": NOW - 300})));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&edge)), r#"{"decision":true}"#);

    let old = es256(&claims_with("alice", json!({"acr": "mfa", "auth_time": NOW - 1000})));
    let out = e.evaluate_json(&laptop_request("alice"), &with_token(&old));
    assert_eq!(
        out,
        r#"{"context":{"advice":[{"error":"insufficient_user_authentication","error_description":"authentication too old","max_age":"300"}]},"decision":false}"#
    );
    assert_eq!(
        challenge_for_decision_json(&out, None).as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", error_description="authentication too old", max_age=300"#)
    );
    // No auth_time: the age is unknown, so the requirement is not met.
    let unknown = es256(&claims_with("alice", json!({"acr": "mfa"})));
    let out = decide(&e, &laptop_request("alice"), &with_token(&unknown));
    assert_eq!(out["context"]["advice"][0]["max_age"], "300");
    // Both too weak and too old: both advices, merged into one challenge.
    let both = es256(&claims_with("alice", json!({"acr": "pwd", "auth_time": NOW - 1000})));
    let out = e.evaluate_json(&laptop_request("alice"), &with_token(&both));
    assert_eq!(
        challenge_for_decision_json(&out, None).as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", error_description="A stronger authentication is required", acr_values="mfa phr", max_age=300"#)
    );
    // The same fresh token, evaluated later: the clock passed in moves `$auth.age` (and the
    // cached verification does not freeze it).
    let out = decide(&e, &laptop_request("alice"), &at(NOW + 500, &fresh));
    assert_eq!(out["context"]["advice"][0]["error_description"], "authentication too old");
}

// --- scopes (semantics 8) ----------------------------------------------------------------

fn scope_engine() -> Engine {
    let policy = |action: &str, attribute: &str, advice: Value| {
        json!({
            "meta": {"policy_version": "2.0-kbac"},
            "subject": {"type": "Token"},
            "actions": [action],
            "resource": {"type": "Car"},
            "condition": {
                "cypher": "MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:DRIVES]->(resource)",
                "filter": {"attribute": attribute, "operator": "CONTAINS", "value": "cars.read", "advice": advice}
            }
        })
    };
    let policies = json!([
        policy("read_exact", "$auth.scopes", json!({"error": "insufficient_scope", "scope": "cars.read"})),
        policy("read_substring", "$token.scope", json!({"error": "insufficient_scope", "scope": "cars.read"})),
    ]);
    scenario_engine_with(&config(json!({})), &policies.to_string())
}

#[test]
fn auth_scopes_is_membership_and_token_scope_is_a_substring() {
    let e = scope_engine();
    let ask = |action: &str, scope: Value| {
        let token = es256(&claims_with("alice", scope));
        decide(&e, &request("Token", "alice", action, "Car", "cadillacv16"), &with_token(&token))["decision"].clone()
    };
    let cases = [
        // (claims, $auth.scopes CONTAINS, $token.scope CONTAINS)
        (json!({"scope": "profile cars.read"}), true, true),
        (json!({"scope": "cars.read"}), true, true),
        (json!({"scope": "cars.read.all profile"}), false, true),
        (json!({"scope": "xcars.read"}), false, true),
        (json!({"scope": "profile"}), false, false),
        (json!({"scp": ["cars.read", "profile"]}), true, false),
        (json!({"scp": ["cars.read.all"]}), false, false),
        (json!({"scp": "profile cars.read"}), true, false),
        (json!({}), false, false),
    ];
    for (scope, exact, substring) in cases {
        assert_eq!(ask("read_exact", scope.clone()), json!(exact), "$auth.scopes with {scope}");
        assert_eq!(ask("read_substring", scope.clone()), json!(substring), "$token.scope with {scope}");
    }
    // `kbac check` (engine warnings) flags CONTAINS on `$token.scope` only.
    let warnings = e.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].1.contains("$token.scope"), "{warnings:?}");
    // The scope advice renders as an RFC 6750 challenge.
    let token = es256(&claims_with("alice", json!({"scope": "cars.read.all"})));
    let out = e.evaluate_json(&request("Token", "alice", "read_exact", "Car", "cadillacv16"), &with_token(&token));
    assert_eq!(
        challenge_for_decision_json(&out, Some("cars")).as_deref(),
        Some(r#"Bearer realm="cars", error="insufficient_scope", scope="cars.read""#)
    );
}

// --- down-scoped tokens (Keycloak RPT, semantics 7) --------------------------------------

const DOCS_GRAPH: &str = r#"{
  "nodes": [
    {"external_id": "alice", "type": "Person", "is_identity": true},
    {"external_id": "doc-1", "type": "Document", "is_identity": false},
    {"external_id": "doc-2", "type": "Document", "is_identity": false},
    {"external_id": "doc-3", "type": "Document", "is_identity": false}
  ],
  "relationships": [
    {"source": {"external_id": "alice", "type": "Person"}, "target": {"external_id": "doc-1", "type": "Document"}, "type": "OWNS"},
    {"source": {"external_id": "alice", "type": "Person"}, "target": {"external_id": "doc-2", "type": "Document"}, "type": "OWNS"},
    {"source": {"external_id": "alice", "type": "Person"}, "target": {"external_id": "doc-3", "type": "Document"}, "type": "OWNS"}
  ]
}"#;

const DOCS_POLICY: &str = r#"[{
  "meta": {"policy_version": "2.0-kbac"},
  "subject": {"type": "Token"},
  "actions": ["read", "write", "list", "delete", "docs.read"],
  "resource": {"type": "Document"},
  "condition": {"cypher": "MATCH (subject:Token)-[:_SAME_AS]->(:Person)-[:OWNS]->(resource)"}
}, {
  "meta": {"policy_version": "2.0-kbac"},
  "subject": {"type": "Person"},
  "actions": ["read", "write"],
  "resource": {"type": "Document"},
  "condition": {"cypher": "MATCH (subject:Person)-[:OWNS]->(resource)"}
}]"#;

fn docs_engine(extra: Value) -> Engine {
    let mut e = Engine::from_config_json(&config(extra)).unwrap();
    e.load_graph_json(DOCS_GRAPH).unwrap();
    e.set_policies_json(DOCS_POLICY).unwrap();
    e
}

fn rpt(permissions: Value) -> String {
    es256(&claims_with("alice", json!({"authorization": {"permissions": permissions}})))
}

fn doc(action: &str, id: &str) -> String {
    request("Token", "alice", action, "Document", id)
}

/// `true`, or the reason code of a deny.
fn outcome(e: &Engine, req: &str, token: &str) -> String {
    let out = decide(e, req, &with_token(token));
    if out["decision"] == json!(true) {
        "true".into()
    } else {
        out["context"]["reason"].as_str().unwrap_or("false").to_string()
    }
}

#[test]
fn rpt_restricted_to_one_document_and_its_scopes() {
    let e = docs_engine(json!({}));
    // An unrestricted token reaches every owned document.
    let full = es256(&claims("alice"));
    for d in ["doc-1", "doc-2", "doc-3"] {
        assert_eq!(outcome(&e, &doc("write", d), &full), "true");
    }
    let token = rpt(json!([{"rsid": "doc-1", "rsname": "Document One", "scopes": ["read"]}]));
    assert_eq!(outcome(&e, &doc("read", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &doc("write", "doc-1"), &token), "token_not_permitted");
    assert_eq!(outcome(&e, &doc("read", "doc-2"), &token), "token_not_permitted");
    assert_eq!(outcome(&e, &doc("read", "doc-404"), &token), "token_not_permitted");
    let out = decide(&e, &doc("write", "doc-1"), &with_token(&token));
    assert_denied(&out, "token_not_permitted", None);
}

#[test]
fn rpt_permission_without_scopes_grants_every_action_on_it() {
    let e = docs_engine(json!({}));
    let token = rpt(json!([{"rsname": "doc-2"}, {"rsid": "doc-3", "scopes": []}, {"rsid": "doc-1", "scopes": ["list"]}]));
    for action in ["read", "write", "delete"] {
        assert_eq!(outcome(&e, &doc(action, "doc-2"), &token), "true", "{action}");
        assert_eq!(outcome(&e, &doc(action, "doc-3"), &token), "true", "{action}");
        assert_eq!(outcome(&e, &doc(action, "doc-1"), &token), "token_not_permitted", "{action}");
    }
    assert_eq!(outcome(&e, &doc("list", "doc-1"), &token), "true");
    // No permissions at all: nothing is permitted.
    let none = rpt(json!([]));
    assert_eq!(outcome(&e, &doc("read", "doc-1"), &none), "token_not_permitted");
}

#[test]
fn rpt_with_malformed_permissions_fails_closed() {
    let e = docs_engine(json!({}));
    for permissions in [json!("doc-1"), json!({"rsid": "doc-1"}), json!(null), json!(7)] {
        let token = rpt(permissions.clone());
        assert_eq!(outcome(&e, &doc("read", "doc-1"), &token), "token_not_permitted", "{permissions}");
    }
    // An entry that names no resource grants nothing; a non-string scope grants nothing.
    let token = rpt(json!([{"scopes": ["read"]}, {"rsid": "doc-2", "scopes": [7]}, "doc-1", {"rsid": "doc-3", "scopes": "read"}]));
    assert_eq!(outcome(&e, &doc("read", "doc-1"), &token), "token_not_permitted");
    assert_eq!(outcome(&e, &doc("read", "doc-2"), &token), "token_not_permitted");
    // `scopes` that is not a list limits to nothing rather than to everything.
    assert_eq!(outcome(&e, &doc("write", "doc-3"), &token), "token_not_permitted");
    assert_eq!(outcome(&e, &doc("read", "doc-3"), &token), "token_not_permitted");
}

#[test]
fn rpt_scope_actions_mapping_from_json_config() {
    let e = docs_engine(json!({"scopeActions": {"docs.read": ["read", "list"], "docs.admin": ["delete"]}}));
    assert_eq!(
        e.config().scope_actions.get("docs.read"),
        Some(&vec!["read".to_string(), "list".to_string()])
    );
    let token = rpt(json!([{"rsid": "doc-1", "scopes": ["docs.read"]}, {"rsid": "doc-2", "scopes": ["docs.admin", "write"]}]));
    assert_eq!(outcome(&e, &doc("read", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &doc("list", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &doc("write", "doc-1"), &token), "token_not_permitted");
    // A mapped scope grants its actions, not an action of its own name.
    assert_eq!(outcome(&e, &doc("docs.read", "doc-1"), &token), "token_not_permitted");
    assert_eq!(outcome(&e, &doc("delete", "doc-2"), &token), "true");
    // Unmapped scopes keep the default (action name = scope).
    assert_eq!(outcome(&e, &doc("write", "doc-2"), &token), "true");
    assert_eq!(outcome(&e, &doc("read", "doc-2"), &token), "token_not_permitted");
}

#[test]
fn rpt_scope_actions_mapping_from_engine_config() {
    let mut scope_actions = BTreeMap::new();
    scope_actions.insert("docs.read".to_string(), vec!["read".to_string(), "list".to_string()]);
    let mut e = Engine::new(EngineConfig { scope_actions, ..EngineConfig::default() });
    let (jwks, _) = Jwks::from_json(&jwks_value().to_string()).unwrap();
    e.set_token_verifier(Verifier::new(TokenConfig::default(), Some(jwks)).unwrap());
    e.load_graph_json(DOCS_GRAPH).unwrap();
    e.set_policies_json(DOCS_POLICY).unwrap();
    let token = rpt(json!([{"rsid": "doc-1", "scopes": ["docs.read"]}]));
    assert_eq!(outcome(&e, &doc("read", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &doc("list", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &doc("write", "doc-1"), &token), "token_not_permitted");
}

#[test]
fn scope_actions_config_errors() {
    for bad in [
        json!({"scopeActions": ["read"]}),
        json!({"scopeActions": {"docs.read": "read"}}),
        json!({"scopeActions": {"docs.read": [1]}}),
    ] {
        let err = Engine::from_config_json(&bad.to_string()).err().unwrap_or_else(|| panic!("accepted {bad}"));
        assert_eq!(err.code().as_str(), "config.invalid", "{bad}");
    }
}

#[test]
fn rpt_restricts_searches_too() {
    let e = docs_engine(json!({}));
    let token = rpt(json!([{"rsid": "doc-1", "scopes": ["read"]}]));
    // Search resolves stored subjects, so ask as the Person the token pins to.
    assert_eq!(outcome(&e, &request("Person", "alice", "read", "Document", "doc-1"), &token), "true");
    assert_eq!(outcome(&e, &request("Person", "alice", "read", "Document", "doc-2"), &token), "token_not_permitted");
    let search = json!({"subject": {"type": "Person", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document"}});
    let unrestricted = es256(&claims("alice"));
    let out: Value = serde_json::from_str(&e.search_resources_json(&search.to_string(), &with_token(&unrestricted))).unwrap();
    assert_eq!(out["results"].as_array().map(Vec::len), Some(3), "{out}");
    let out: Value = serde_json::from_str(&e.search_resources_json(&search.to_string(), &with_token(&token))).unwrap();
    assert_eq!(out["results"], json!([{"type": "Document", "id": "doc-1"}]), "{out}");
    let subjects = json!({"subject": {"type": "Person"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "doc-2"}});
    let out: Value = serde_json::from_str(&e.search_subjects_json(&subjects.to_string(), &with_token(&token))).unwrap();
    assert_eq!(out["results"], json!([]), "{out}");
    let subjects = json!({"subject": {"type": "Person"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "doc-1"}});
    let out: Value = serde_json::from_str(&e.search_subjects_json(&subjects.to_string(), &with_token(&token))).unwrap();
    assert_eq!(out["results"], json!([{"type": "Person", "id": "alice"}]), "{out}");
    let actions = json!({"subject": {"type": "Token", "id": "alice"}, "resource": {"type": "Document", "id": "doc-1"}});
    let out: Value = serde_json::from_str(&e.search_actions_json(&actions.to_string(), &with_token(&token))).unwrap();
    assert_eq!(out["results"], json!([{"name": "read"}]), "{out}");
}

// --- attack corpus through the engine ----------------------------------------------------

/// `(name, token, expected reason)` for the scenario engine and `alice`'s request.
fn attacks() -> Vec<(&'static str, String, &'static str)> {
    let good = es256(&claims("alice"));
    let p: Vec<String> = good.split('.').map(str::to_string).collect();
    let rsa_pub = fixture("rsa.pub.pem");
    let mut evil = claims("alice");
    evil["sub"] = json!("mallory");
    let mut flipped: Vec<char> = p[2].chars().collect();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == 'A' { 'B' } else { 'A' };
    let mut padded = claims("alice");
    padded["pad"] = json!("p".repeat(20_000));
    vec![
        ("alg none, no signature", mint(&json!({"alg": "none"}), &claims("alice"), &Signer::Raw("")), "token.alg_not_allowed"),
        ("alg None with a signature", mint(&json!({"alg": "None", "kid": "ec-1"}), &claims("alice"), &Signer::Es256), "token.alg_not_allowed"),
        ("HS256 with the RSA public key as secret", mint(&json!({"alg": "HS256", "kid": "rsa-1"}), &claims("alice"), &Signer::Hmac(&rsa_pub)), "token.alg_not_allowed"),
        ("HS256 with the RSA public key, no kid", mint(&json!({"alg": "HS256"}), &claims("alice"), &Signer::Hmac(&rsa_pub)), "token.alg_not_allowed"),
        ("ES256 header on the RSA key", mint(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims("alice"), &Signer::Es256), "token.key_mismatch"),
        ("RS256 header on the EC key", mint(&json!({"alg": "RS256", "kid": "ec-1"}), &claims("alice"), &Signer::Rsa("RS256")), "token.key_mismatch"),
        ("EdDSA header on the EC key", mint(&json!({"alg": "EdDSA", "kid": "ec-1"}), &claims("alice"), &Signer::EdDsa), "token.key_mismatch"),
        ("unknown kid", mint(&json!({"alg": "ES256", "kid": "rotated-away"}), &claims("alice"), &Signer::Es256), "token.unknown_kid"),
        ("tampered payload", format!("{}.{}.{}", p[0], b64(evil.to_string().as_bytes()), p[2]), "token.signature"),
        ("tampered signature", format!("{}.{}.{}", p[0], p[1], flipped.iter().collect::<String>()), "token.signature"),
        ("signed by another key of the same size", mint(&json!({"alg": "ES256", "kid": "ec-1"}), &claims("alice"), &Signer::EdDsa), "token.signature"),
        ("empty signature", format!("{}.{}.", p[0], p[1]), "token.signature"),
        ("wrong iss", es256(&claims_with("alice", json!({"iss": "https://evil.example"}))), "token.issuer"),
        ("no iss", es256(&claims_with("alice", json!({"iss": null}))), "token.issuer"),
        ("wrong aud", es256(&claims_with("alice", json!({"aud": "another-api"}))), "token.audience"),
        ("wrong aud list", es256(&claims_with("alice", json!({"aud": ["a", "b"]}))), "token.audience"),
        ("nbf in the future", es256(&claims_with("alice", json!({"nbf": NOW + 3600}))), "token.not_yet_valid"),
        ("malformed base64 in the payload", format!("{}.{}*.{}", p[0], p[1], p[2]), "token.malformed"),
        ("standard base64 alphabet", format!("{}.{}+/.{}", p[0], p[1], p[2]), "token.malformed"),
        ("padding", format!("{}=.{}.{}", p[0], p[1], p[2]), "token.malformed"),
        ("three dots", format!("{}.{}.{}.{}", p[0], p[1], p[2], p[2]), "token.malformed"),
        ("one dot", format!("{}.{}", p[0], p[1]), "token.malformed"),
        ("no dot", p[0].clone(), "token.malformed"),
        ("empty", String::new(), "token.malformed"),
        ("non-JSON header", format!("{}.{}.{}", b64(b"not json"), p[1], p[2]), "token.malformed"),
        ("header without alg", format!("{}.{}.{}", b64(br#"{"typ":"JWT"}"#), p[1], p[2]), "token.malformed"),
        ("non-JSON payload", mint_raw(r#"{"alg":"ES256","kid":"ec-1"}"#, "not json", &Signer::Es256), "token.malformed"),
        ("crit header", mint(&json!({"alg": "ES256", "kid": "ec-1", "crit": ["x"], "x": 1}), &claims("alice"), &Signer::Es256), "token.malformed"),
        ("oversized", es256(&padded), "token.too_large"),
        ("oversized garbage", "x".repeat(100_000), "token.too_large"),
        ("no exp", es256(&claims_with("alice", json!({"exp": null}))), "token.missing_claim"),
    ]
}

#[test]
fn attack_corpus_is_rejected_with_each_code() {
    let e = scenario_engine();
    // The good token passes, so every failure below is due to the attack.
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&es256(&claims("alice")))), r#"{"decision":true}"#);
    for (name, token, code) in attacks() {
        let out = decide(&e, &laptop_request("alice"), &with_token(&token));
        assert_eq!(out["context"]["reason"], json!(code), "{name}: {out}");
        assert_denied(&out, code, None);
        // A second time gives the same answer (failures are never cached).
        let again = decide(&e, &laptop_request("alice"), &with_token(&token));
        assert_eq!(again, out, "{name}");
    }
}

#[test]
fn attack_expired_beyond_leeway_is_expired_with_advice() {
    let e = scenario_engine();
    let advice = scenario_json("response-without-token.json")["context"]["advice"].clone();
    let token = es256(&claims_with("alice", json!({"exp": NOW - 61})));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&token)), "token.expired", Some(&advice));
    // Expired and for another subject: the token is ignored like an absent one (the pin
    // needs verified claims), so this is the no-token answer plus the expiry reason.
    let other = es256(&claims_with("knightrider", json!({"exp": NOW - 61})));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&other)), "token.expired", Some(&advice));
    // Expired *and* forged is a signature error, never merely expired.
    let forged = mint(&json!({"alg": "ES256", "kid": "ec-1"}), &claims_with("alice", json!({"exp": NOW - 61})), &Signer::EdDsa);
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&forged)), "token.signature", None);
    // Expired but with a wrong issuer: the issuer error wins.
    let wrong_iss = es256(&claims_with("alice", json!({"exp": NOW - 61, "iss": "https://evil.example"})));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&wrong_iss)), "token.issuer", None);
}

#[test]
fn attack_hs256_with_a_configured_secret_still_fails_on_the_signature() {
    let secret = "0123456789abcdef0123456789abcdef";
    let cfg = json!({"token": {"issuer": ISS, "audience": AUD, "hs256Secret": secret}, "jwks": jwks_value()}).to_string();
    let e = scenario_engine_with(&cfg, &scenario("policy.json"));
    let forged = mint(&json!({"alg": "HS256", "kid": "rsa-1"}), &claims("alice"), &Signer::Hmac(&fixture("rsa.pub.pem")));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&forged)), "token.signature", None);
    let genuine = mint(&json!({"alg": "HS256"}), &claims("alice"), &Signer::Hmac(secret.as_bytes()));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&genuine)), r#"{"decision":true}"#);
    // RS/ES tokens keep working next to the secret.
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&es256(&claims("alice")))), r#"{"decision":true}"#);
}

#[test]
fn jwks_with_a_malformed_key_keeps_the_others_usable() {
    let mut keys = jwks_value()["keys"].as_array().unwrap().clone();
    keys.insert(0, json!({"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}));
    keys.push(json!({"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])}));
    keys.push(json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}));
    let bad_set = json!({"keys": keys});

    // Through the JSON configuration.
    let cfg = json!({"token": {"issuer": ISS, "audience": AUD}, "jwks": bad_set}).to_string();
    let e = scenario_engine_with(&cfg, &scenario("policy.json"));
    check_partial_jwks(&e);

    // Through a JWKS refresh, which reports what it skipped.
    let mut e = scenario_engine();
    let skipped = e.set_jwks_json(&bad_set.to_string()).unwrap();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped.iter().all(|s| s.code().as_str() == "jwks.invalid"));
    check_partial_jwks(&e);
    // A document that is not a JWKS at all is refused and leaves the keys as they were.
    assert!(e.set_jwks_json("{\"keys\":7}").is_err());
    check_partial_jwks(&e);
}

fn check_partial_jwks(e: &Engine) {
    for (alg, kid, signer) in [("ES256", "ec-1", Signer::Es256), ("EdDSA", "ed-1", Signer::EdDsa), ("RS256", "rsa-1", Signer::Rsa("RS256"))] {
        let token = mint(&json!({"alg": alg, "kid": kid}), &claims("alice"), &signer);
        assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&token)), r#"{"decision":true}"#, "{alg}");
    }
    let broken = mint(&json!({"alg": "RS256", "kid": "broken"}), &claims("alice"), &Signer::Rsa("RS256"));
    assert_denied(&decide(e, &laptop_request("alice"), &with_token(&broken)), "token.unknown_kid", None);
    let off_curve = mint(&json!({"alg": "ES256", "kid": "off-curve"}), &claims("alice"), &Signer::Es256);
    assert_denied(&decide(e, &laptop_request("alice"), &with_token(&off_curve)), "token.unknown_kid", None);
}

#[test]
fn token_configuration_mistakes_are_config_errors() {
    for bad in [
        json!({"token": {"issuer": 7}}),
        json!({"token": {"issuer": ""}}),
        json!({"token": {"audience": 7}}),
        json!({"token": {"audience": ["kbac", 7]}}),
        json!({"token": {"leeway": -1}}),
        json!({"token": {"leeway": "60"}}),
        json!({"token": {"leeway": 1.5}}),
        json!({"token": {"requiredClaims": [1]}}),
        json!({"token": {"allowedAlgorithms": ["none"]}}),
        json!({"token": {"allowedAlgorithms": "RS256 ES256"}}),
        json!({"token": {"maxTokenLength": 0}}),
        json!({"token": {"maxTokenLength": "big"}}),
        json!({"token": {"hs256Secret": "short"}}),
        json!({"token": {"hs256Secret": 12345}}),
        json!({"token": {"issuers": ISS}}),
        json!({"token": "yes"}),
        json!({"jwks": {"keys": 7}}),
        json!({"assuranceLevels": "pwd mfa"}),
    ] {
        let err = Engine::from_config_json(&bad.to_string()).err().unwrap_or_else(|| panic!("accepted {bad}"));
        assert_eq!(err.code().as_str(), if bad.get("jwks").is_some() { "jwks.invalid" } else { "config.invalid" }, "{bad}");
    }
    // Well-formed configurations are accepted.
    let ok = json!({
        "token": {"issuer": ISS, "audience": [AUD, "other"], "leeway": 0, "requiredClaims": ["exp", "sub"],
                  "allowedAlgorithms": ["ES256"], "maxTokenLength": 4096},
        "jwks": jwks_value()
    });
    let e = scenario_engine_with(&ok.to_string(), &scenario("policy.json"));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&es256(&claims("alice")))), r#"{"decision":true}"#);
    let rs = mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &claims("alice"), &Signer::Rsa("RS256"));
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&rs)), "token.alg_not_allowed", None);
    // `leeway: 0` is honoured: expired one second ago is expired.
    let just = es256(&claims_with("alice", json!({"exp": NOW - 1})));
    assert_eq!(decide(&e, &laptop_request("alice"), &with_token(&just))["context"]["reason"], "token.expired");
}

#[test]
fn a_token_without_a_clock_or_a_verifier_is_an_error_reason() {
    let e = scenario_engine();
    let token = es256(&claims("alice"));
    let no_clock = EvalOptions { now: None, claims: None, token: Some(token.clone()) };
    assert_denied(&decide(&e, &laptop_request("alice"), &no_clock), "config.invalid", None);
    let mut bare = Engine::new(EngineConfig::default());
    bare.load_graph_json(&scenario("nodes.json")).unwrap();
    bare.load_graph_json(&scenario("relationships.json")).unwrap();
    bare.set_policies_json(&scenario("policy.json")).unwrap();
    assert_denied(&decide(&bare, &laptop_request("alice"), &with_token(&token)), "token.no_verifier", None);
}

// --- the verified-token cache ------------------------------------------------------------

#[test]
fn the_same_token_is_verified_once_and_exp_is_honoured_later() {
    let e = scenario_engine();
    let verifier = e.token_verifier().unwrap();
    assert_eq!(verifier.cache_len(), 0);
    let token = es256(&claims_with("alice", json!({"exp": NOW + 300})));
    for _ in 0..3 {
        assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&token)), r#"{"decision":true}"#);
    }
    assert_eq!(e.token_verifier().unwrap().cache_len(), 1);
    // Later, still within exp: a hit.
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &at(NOW + 200, &token)), r#"{"decision":true}"#);
    // Past exp + leeway: the cached entry answers expired, and step-up advice applies.
    let out = decide(&e, &laptop_request("alice"), &at(NOW + 360, &token));
    assert_denied(&out, "token.expired", Some(&scenario_json("response-without-token.json")["context"]["advice"]));
    // The pin is checked on cached claims too.
    assert_denied(&decide(&e, &laptop_request("karel"), &with_token(&token)), "token_subject_mismatch", None);
    // Failures are never cached; another good token is a second entry.
    let _ = e.evaluate_json(&laptop_request("alice"), &with_token(&format!("{token}x")));
    assert_eq!(e.token_verifier().unwrap().cache_len(), 1);
    let other = es256(&claims("karel"));
    assert_eq!(e.evaluate_json(&laptop_request("karel"), &with_token(&other)), r#"{"decision":true}"#);
    assert_eq!(e.token_verifier().unwrap().cache_len(), 2);
}

#[test]
fn a_jwks_refresh_clears_the_cache_and_drops_removed_keys() {
    let mut e = scenario_engine();
    let token = es256(&claims("alice"));
    assert_eq!(e.evaluate_json(&laptop_request("alice"), &with_token(&token)), r#"{"decision":true}"#);
    assert_eq!(e.token_verifier().unwrap().cache_len(), 1);
    let only_rsa = json!({"keys": [jwks_value()["keys"][0]]});
    assert!(e.set_jwks_json(&only_rsa.to_string()).unwrap().is_empty());
    assert_eq!(e.token_verifier().unwrap().cache_len(), 0);
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&token)), "token.unknown_kid", None);
    // The issuer/audience configuration survives the refresh.
    let wrong_iss = mint(
        &json!({"alg": "RS256", "kid": "rsa-1"}),
        &claims_with("alice", json!({"iss": "https://evil.example"})),
        &Signer::Rsa("RS256"),
    );
    assert_denied(&decide(&e, &laptop_request("alice"), &with_token(&wrong_iss)), "token.issuer", None);
}

/// Resource search starts from the virtual token node like evaluate does: with a valid token
/// for alice her laptop is found; without one (advice only) or with another person's token,
/// nothing is.
#[test]
fn resource_search_from_a_token_subject() {
    let e = scenario_engine();
    let search = r#"{"subject":{"type":"Token","id":"alice"},"action":{"name":"CAN_SERVICE"},"resource":{"type":"Laptop"}}"#;
    let results = |opts: &EvalOptions| -> Value {
        let out: Value = serde_json::from_str(&e.search_resources_json(search, opts)).unwrap();
        out["results"].clone()
    };
    let alice = es256(&claims_with("alice", json!({"exp": 1_775_490_150, "acr": "mfa"})));
    assert_eq!(results(&with_token(&alice)), json!([{"type": "Laptop", "id": "airbook-xyz"}]));
    assert_eq!(results(&EvalOptions { now: Some(NOW), ..EvalOptions::default() }), json!([]));
    let knight = es256(&claims_with("knightrider", json!({"exp": 1_775_490_150})));
    assert_eq!(results(&with_token(&knight)), json!([]));
}
