#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Step-up: advice -> `StepUp` and the exact `WWW-Authenticate` strings (RFC 9470 / RFC 6750).

use kbac::stepup::{challenge, step_up_from_advice, AssuranceLevels, StepUp};
use serde_json::{json, Value};

fn step_up_advice(extra: Value) -> Value {
    let mut advice = json!({"error": "insufficient_user_authentication"});
    for (k, v) in extra.as_object().unwrap() {
        advice[k] = v.clone();
    }
    advice
}

#[test]
fn acr_only() {
    let advice = [step_up_advice(json!({"acr_values": "mfa"}))];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", acr_values="mfa""#)
    );
}

#[test]
fn acr_and_max_age_with_description() {
    let advice = [step_up_advice(json!({
        "error_description": "stronger authentication needed",
        "acr_values": "urn:example:loa:3 urn:example:loa:4",
        "max_age": "300"
    }))];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(concat!(
            r#"Bearer error="insufficient_user_authentication", error_description="stronger authentication needed", "#,
            r#"acr_values="urn:example:loa:3 urn:example:loa:4", max_age=300"#
        ))
    );
}

#[test]
fn max_age_only() {
    let advice = [step_up_advice(json!({"error_description": "authentication too old", "max_age": 300}))];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(
            r#"Bearer error="insufficient_user_authentication", error_description="authentication too old", max_age=300"#
        )
    );
}

#[test]
fn quotes_backslashes_and_controls_in_values() {
    let advice = [step_up_advice(json!({
        "error_description": "say \"hi\" to C:\\mfa\r\nInjected: yes",
        "acr_values": "a\"b"
    }))];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(
            r#"Bearer error="insufficient_user_authentication", error_description="say \"hi\" to C:\\mfaInjected: yes", acr_values="a\"b""#
        )
    );
}

#[test]
fn realm_comes_first_and_is_escaped() {
    let advice = [step_up_advice(json!({"acr_values": "mfa"}))];
    assert_eq!(
        challenge(&advice, Some("api")).as_deref(),
        Some(r#"Bearer realm="api", error="insufficient_user_authentication", acr_values="mfa""#)
    );
    assert_eq!(
        challenge(&advice, Some("my \"api\"")).as_deref(),
        Some(r#"Bearer realm="my \"api\"", error="insufficient_user_authentication", acr_values="mfa""#)
    );
}

#[test]
fn insufficient_scope() {
    let advice = [
        json!({"error": "insufficient_scope", "error_description": "needs write", "scope": "cars.write"}),
        json!({"error": "insufficient_scope", "scope": "cars.read cars.write"}),
    ];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(r#"Bearer error="insufficient_scope", error_description="needs write", scope="cars.write cars.read""#)
    );
    assert_eq!(step_up_from_advice(&advice), None);
    assert_eq!(
        challenge(&[json!({"error": "insufficient_scope"})], Some("api")).as_deref(),
        Some(r#"Bearer realm="api", error="insufficient_scope""#)
    );
}

#[test]
fn step_up_wins_over_scope_and_carries_it() {
    let advice = [
        json!({"error": "insufficient_scope", "error_description": "scope", "scope": "cars.write"}),
        step_up_advice(json!({"acr_values": "mfa", "error_description": "mfa please"})),
    ];
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(
            r#"Bearer error="insufficient_user_authentication", error_description="mfa please", acr_values="mfa", scope="cars.write""#
        )
    );
}

#[test]
fn unrelated_advice_gives_nothing() {
    assert_eq!(challenge(&[], None), None);
    let advice = [
        json!({"error": "access_denied", "error_description": "no"}),
        json!({"sub": "$token.exp"}),
        json!("insufficient_user_authentication"),
        json!(null),
        json!({"error": 7}),
    ];
    assert_eq!(challenge(&advice, Some("api")), None);
    assert_eq!(step_up_from_advice(&advice), None);
}

#[test]
fn advice_merges_in_order() {
    let advice = [
        step_up_advice(json!({"acr_values": "mfa phr", "max_age": "600", "amr_values": "otp hwk"})),
        json!({"error": "access_denied"}),
        step_up_advice(
            json!({"error_description": "first", "acr_values": "phr  otp", "max_age": 120, "factors": "hwk face"}),
        ),
        step_up_advice(json!({"error_description": "second", "max_age": "not a number"})),
    ];
    let s = step_up_from_advice(&advice).unwrap();
    assert_eq!(
        s,
        StepUp {
            acr_values: vec!["mfa".into(), "phr".into(), "otp".into()],
            max_age: Some(120),
            factors: Some(vec!["otp".into(), "hwk".into(), "face".into()]),
            description: Some("first".into()),
        }
    );
    assert_eq!(
        challenge(&advice, None).as_deref(),
        Some(
            r#"Bearer error="insufficient_user_authentication", error_description="first", acr_values="mfa phr otp", max_age=120"#
        )
    );
}

#[test]
fn step_up_serialises_in_camel_case_without_absent_members() {
    let bare = step_up_from_advice(&[json!({"error": "insufficient_user_authentication"})]).unwrap();
    assert_eq!(serde_json::to_value(&bare).unwrap(), json!({"acrValues": []}));
    assert_eq!(
        challenge(&[json!({"error": "insufficient_user_authentication"})], None).as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication""#)
    );
    let full = StepUp {
        acr_values: vec!["mfa".into()],
        max_age: Some(60),
        factors: Some(vec!["otp".into()]),
        description: Some("d".into()),
    };
    assert_eq!(
        serde_json::to_value(&full).unwrap(),
        json!({"acrValues": ["mfa"], "maxAge": 60, "factors": ["otp"], "description": "d"})
    );
}

#[test]
fn assurance_levels() {
    let levels = AssuranceLevels::new(["pwd", "otp", "mfa", "phr"].map(String::from).to_vec());
    assert_eq!(levels.at_least("mfa"), ["mfa", "phr"]);
    assert_eq!(levels.at_least("pwd"), ["pwd", "otp", "mfa", "phr"]);
    assert_eq!(levels.at_least("phr"), ["phr"]);
    assert_eq!(levels.at_least("urn:other"), ["urn:other"]);
    assert_eq!(levels.level_of("pwd"), Some(0));
    assert_eq!(levels.level_of("mfa"), Some(2));
    assert_eq!(levels.level_of("phr"), Some(3));
    assert_eq!(levels.level_of("MFA"), None);
    assert!(levels.satisfies("phr", "mfa"));
    assert!(!levels.satisfies("otp", "mfa"));
    assert_eq!(AssuranceLevels::new(vec![]).at_least("mfa"), ["mfa"]);
    let dup = AssuranceLevels::new(["a", "b", "a"].map(String::from).to_vec());
    assert_eq!(dup.levels(), ["a", "b"]);
}
