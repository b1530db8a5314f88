#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! Token verification: every supported algorithm, the JWT attack corpus (each with its exact
//! code), JWKS handling and the verified-token cache.
//!
//! Tokens are minted here from raw header/payload JSON so attacks can put anything anywhere;
//! signatures come from jwt-compact's signing side with the fixed keys in
//! `tests/fixtures/tokens/` (generated once with openssl, see the README there).

use std::sync::{Arc, OnceLock};

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPrivateKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature};
use kbac::token::{peek_header, Jwks, TokenConfig, Verifier};
use kbac::Code;
use serde_json::{json, Value};

const NOW: i64 = 1_700_000_000;
const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/tokens/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
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

/// Who signs: an algorithm with a key, or nothing (the signature part is given verbatim).
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

fn mint(header: &Value, payload: &Value, signer: &Signer<'_>) -> String {
    mint_raw(&header.to_string(), &payload.to_string(), signer)
}

fn mint_raw(header: &str, payload: &str, signer: &Signer<'_>) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = sign(signer, input.as_bytes());
    format!("{input}.{sig}")
}

fn claims() -> Value {
    json!({"iss": "https://as.example", "sub": "alice", "aud": "kbac", "exp": NOW + 300, "iat": NOW - 10, "acr": "mfa"})
}

fn rs256() -> String {
    mint(&json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}), &claims(), &Signer::Rsa("RS256"))
}

fn jwks() -> Jwks {
    let (set, skipped) = Jwks::from_json(std::str::from_utf8(&fixture("jwks.json")).unwrap()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    set
}

fn verifier_with(config: TokenConfig) -> Verifier {
    Verifier::new(config, Some(jwks())).unwrap()
}

fn verifier() -> Verifier {
    verifier_with(TokenConfig {
        issuer: Some("https://as.example".into()),
        audience: vec!["kbac".into()],
        ..TokenConfig::default()
    })
}

fn code_of(v: &Verifier, token: &str) -> Option<Code> {
    v.verify(token, NOW).err().map(|e| e.code())
}

#[track_caller]
fn rejects(v: &Verifier, token: &str, code: Code) {
    match v.verify(token, NOW) {
        Ok(c) => panic!("accepted, expected {code}: {c:?}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{}", e.message());
            let m = e.message();
            assert!(!m.is_empty() && !m.ends_with('.') && !m.contains('\n'), "message style: {m}");
        }
    }
}

// --- valid tokens -----------------------------------------------------------------------

#[test]
fn every_supported_algorithm_verifies() {
    let v = verifier_with(TokenConfig {
        allowed_algs: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA"]
            .map(String::from)
            .to_vec(),
        hs256_secret: Some(SECRET.to_vec()),
        ..TokenConfig::default()
    });
    let cases = [
        ("RS256", "rsa-1", Signer::Rsa("RS256")),
        ("RS384", "rsa-1", Signer::Rsa("RS384")),
        ("RS512", "rsa-1", Signer::Rsa("RS512")),
        ("PS256", "rsa-1", Signer::Rsa("PS256")),
        ("PS384", "rsa-1", Signer::Rsa("PS384")),
        ("PS512", "rsa-1", Signer::Rsa("PS512")),
        ("ES256", "ec-1", Signer::Es256),
        ("EdDSA", "ed-1", Signer::EdDsa),
        ("HS256", "ignored-for-hmac", Signer::Hmac(SECRET)),
    ];
    for (alg, kid, signer) in &cases {
        let token = mint(&json!({"alg": alg, "kid": kid}), &claims(), signer);
        let got = v.verify(&token, NOW).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(Value::Object(got), claims(), "{alg}");
    }
}

#[test]
fn default_config_allows_the_documented_algorithms() {
    let v = verifier();
    assert!(v.verify(&rs256(), NOW).is_ok());
    let ps384 = mint(&json!({"alg": "PS384", "kid": "rsa-1"}), &claims(), &Signer::Rsa("PS384"));
    rejects(&v, &ps384, Code::TokenAlgNotAllowed);
    let hs = mint(&json!({"alg": "HS256"}), &claims(), &Signer::Hmac(SECRET));
    rejects(&v, &hs, Code::TokenAlgNotAllowed);
    assert!(v.has_keys());
    assert!(!Verifier::new(TokenConfig::default(), None).unwrap().has_keys());
}

#[test]
fn hs256_with_a_secret_and_no_jwks() {
    let v = Verifier::new(TokenConfig { hs256_secret: Some(SECRET.to_vec()), ..TokenConfig::default() }, None).unwrap();
    assert!(v.has_keys());
    let token = mint(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), &Signer::Hmac(SECRET));
    assert_eq!(v.verify(&token, NOW).unwrap()["sub"], "alice");
    let wrong = mint(&json!({"alg": "HS256"}), &claims(), &Signer::Hmac(b"another-secret-another-secret-xx"));
    rejects(&v, &wrong, Code::TokenSignature);
    // Asymmetric tokens need a key set, which this verifier lacks.
    rejects(&v, &rs256(), Code::TokenNoVerifier);
}

#[test]
fn kid_less_tokens_find_their_key() {
    let v = verifier();
    for (alg, signer) in [("RS256", Signer::Rsa("RS256")), ("ES256", Signer::Es256), ("EdDSA", Signer::EdDsa)] {
        let token = mint(&json!({"alg": alg}), &claims(), &signer);
        assert!(v.verify(&token, NOW).is_ok(), "{alg}");
    }
    // A single-key set is used for a kid-less token, and still has to fit the alg.
    let doc: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let only_ec = json!({"keys": [doc["keys"][1]]}).to_string();
    let v = Verifier::new(TokenConfig::default(), Some(Jwks::from_json(&only_ec).unwrap().0)).unwrap();
    let es = mint(&json!({"alg": "ES256"}), &claims(), &Signer::Es256);
    assert!(v.verify(&es, NOW).is_ok());
    rejects(&v, &mint(&json!({"alg": "RS256"}), &claims(), &Signer::Rsa("RS256")), Code::TokenKeyMismatch);
}

#[test]
fn float_times_and_list_audiences_are_accepted() {
    let v = verifier();
    let mut c = claims();
    c["exp"] = json!(NOW as f64 + 10.5);
    c["nbf"] = json!(NOW as f64 - 0.5);
    c["aud"] = json!(["other", "kbac"]);
    let token = mint(&json!({"alg": "ES256", "kid": "ec-1"}), &c, &Signer::Es256);
    assert!(v.verify(&token, NOW).is_ok());
}

// --- attack corpus ----------------------------------------------------------------------

#[test]
fn alg_none_is_refused_with_or_without_a_signature() {
    let v = verifier();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let empty_sig = mint(&json!({"alg": alg}), &claims(), &Signer::Raw(""));
        rejects(&v, &empty_sig, Code::TokenAlgNotAllowed);
        let with_sig = mint(&json!({"alg": alg, "kid": "rsa-1"}), &claims(), &Signer::Rsa("RS256"));
        rejects(&v, &with_sig, Code::TokenAlgNotAllowed);
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let v = verifier();
    for secret in [fixture("rsa.pub.pem"), fixture("rsa.pub.der"), fixture("jwks.json")] {
        for header in [json!({"alg": "HS256", "kid": "rsa-1"}), json!({"alg": "HS256"})] {
            let token = mint(&header, &claims(), &Signer::Hmac(&secret));
            rejects(&v, &token, Code::TokenAlgNotAllowed);
        }
    }
    // With a (different) secret configured, the same forgery fails on its signature.
    let v = verifier_with(TokenConfig { hs256_secret: Some(SECRET.to_vec()), ..TokenConfig::default() });
    let token = mint(&json!({"alg": "HS256", "kid": "rsa-1"}), &claims(), &Signer::Hmac(&fixture("rsa.pub.pem")));
    rejects(&v, &token, Code::TokenSignature);
}

#[test]
fn header_alg_must_fit_the_key() {
    let v = verifier();
    // ES256 header naming the RSA key (signature made with the EC key, so only the fit check can catch it).
    rejects(&v, &mint(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims(), &Signer::Es256), Code::TokenKeyMismatch);
    rejects(
        &v,
        &mint(&json!({"alg": "RS256", "kid": "ec-1"}), &claims(), &Signer::Rsa("RS256")),
        Code::TokenKeyMismatch,
    );
    rejects(&v, &mint(&json!({"alg": "EdDSA", "kid": "ec-1"}), &claims(), &Signer::EdDsa), Code::TokenKeyMismatch);
    rejects(&v, &mint(&json!({"alg": "ES256", "kid": "ed-1"}), &claims(), &Signer::Es256), Code::TokenKeyMismatch);

    // A JWK `alg` member pins the key to one algorithm.
    let doc: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let mut pinned = doc["keys"][0].clone();
    pinned["alg"] = json!("RS384");
    let v =
        Verifier::new(TokenConfig::default(), Some(Jwks::from_json(&json!({"keys": [pinned]}).to_string()).unwrap().0))
            .unwrap();
    let rs256 = mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &claims(), &Signer::Rsa("RS256"));
    rejects(&v, &rs256, Code::TokenKeyMismatch);
    let rs384 = mint(&json!({"alg": "RS384", "kid": "rsa-1"}), &claims(), &Signer::Rsa("RS384"));
    assert!(v.verify(&rs384, NOW).is_ok());
}

#[test]
fn unknown_kid() {
    let token = mint(&json!({"alg": "RS256", "kid": "rotated-away"}), &claims(), &Signer::Rsa("RS256"));
    rejects(&verifier(), &token, Code::TokenUnknownKid);
    assert_eq!(peek_header(&token).unwrap(), ("RS256".to_string(), Some("rotated-away".to_string())));
}

#[test]
fn encryption_keys_are_never_used_to_verify() {
    let doc: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let mut enc = doc["keys"][0].clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("rsa-enc");
    let mut ops = doc["keys"][1].clone();
    ops["kid"] = json!("ec-wrap");
    ops.as_object_mut().unwrap().remove("use");
    ops["key_ops"] = json!(["wrapKey"]);
    let set = Jwks::from_json(&json!({"keys": [enc, ops]}).to_string()).unwrap().0;
    assert_eq!(set.kids(), ["rsa-enc", "ec-wrap"]);
    let v = Verifier::new(TokenConfig::default(), Some(set)).unwrap();
    let token = mint(&json!({"alg": "RS256", "kid": "rsa-enc"}), &claims(), &Signer::Rsa("RS256"));
    rejects(&v, &token, Code::TokenKeyMismatch);
    let err = v.verify(&token, NOW).unwrap_err();
    assert!(err.message().contains("`enc`"), "{}", err.message());
    rejects(&v, &mint(&json!({"alg": "ES256", "kid": "ec-wrap"}), &claims(), &Signer::Es256), Code::TokenKeyMismatch);
    // Without a kid no usable key fits either.
    rejects(&v, &mint(&json!({"alg": "RS256"}), &claims(), &Signer::Rsa("RS256")), Code::TokenKeyMismatch);
}

#[test]
fn tampering_breaks_the_signature() {
    let v = verifier();
    let good = rs256();
    let parts: Vec<&str> = good.split('.').collect();

    let mut evil = claims();
    evil["sub"] = json!("mallory");
    let tampered_payload = format!("{}.{}.{}", parts[0], b64(evil.to_string().as_bytes()), parts[2]);
    rejects(&v, &tampered_payload, Code::TokenSignature);

    let mut sig: Vec<char> = parts[2].chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered_sig = format!("{}.{}.{}", parts[0], parts[1], sig.into_iter().collect::<String>());
    rejects(&v, &tampered_sig, Code::TokenSignature);

    // Same header and payload, signature of another token.
    let other = mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &json!({"exp": NOW + 5}), &Signer::Rsa("RS256"));
    let swapped = format!("{}.{}.{}", parts[0], parts[1], other.split('.').nth(2).unwrap());
    rejects(&v, &swapped, Code::TokenSignature);

    // Truncated / empty signatures fail as signatures, not as panics.
    rejects(&v, &format!("{}.{}.", parts[0], parts[1]), Code::TokenSignature);
    rejects(&v, &format!("{}.{}.{}", parts[0], parts[1], &parts[2][..40]), Code::TokenSignature);
    let es = mint(&json!({"alg": "ES256", "kid": "ec-1"}), &claims(), &Signer::Es256);
    let es_parts: Vec<&str> = es.split('.').collect();
    rejects(&v, &format!("{}.{}.{}", es_parts[0], es_parts[1], &es_parts[2][..20]), Code::TokenSignature);
    rejects(&v, &format!("{}.{}.{}AAAA", es_parts[0], es_parts[1], es_parts[2]), Code::TokenSignature);
}

#[test]
fn forged_tokens_are_never_merely_expired() {
    let v = verifier();
    let mut c = claims();
    c["exp"] = json!(NOW - 10_000);
    c["iss"] = json!("https://evil.example");
    let forged = mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &c, &Signer::Hmac(SECRET));
    rejects(&v, &forged, Code::TokenSignature);
    // Genuine but with a wrong issuer *and* expired: the issuer is the hard error reported.
    let genuine = mint(&json!({"alg": "ES256", "kid": "ec-1"}), &c, &Signer::Es256);
    rejects(&v, &genuine, Code::TokenIssuer);
}

#[test]
fn issuer_checks() {
    let v = verifier();
    let sign_es = |c: &Value| mint(&json!({"alg": "ES256", "kid": "ec-1"}), c, &Signer::Es256);
    let mut c = claims();
    c["iss"] = json!("https://other.example");
    rejects(&v, &sign_es(&c), Code::TokenIssuer);
    c["iss"] = json!(["https://as.example"]);
    rejects(&v, &sign_es(&c), Code::TokenIssuer);
    c.as_object_mut().unwrap().remove("iss");
    rejects(&v, &sign_es(&c), Code::TokenIssuer);
}

#[test]
fn audience_checks() {
    let v = verifier();
    let sign_es = |c: &Value| mint(&json!({"alg": "ES256", "kid": "ec-1"}), c, &Signer::Es256);
    let mut c = claims();
    for (aud, ok) in [
        (json!("kbac"), true),
        (json!(["a", "kbac"]), true),
        (json!("other"), false),
        (json!(["a", "b"]), false),
        (json!([]), false),
        (json!(7), false),
        (json!("KBAC"), false),
    ] {
        c["aud"] = aud.clone();
        let result = code_of(&v, &sign_es(&c));
        assert_eq!(result, if ok { None } else { Some(Code::TokenAudience) }, "{aud}");
    }
    c.as_object_mut().unwrap().remove("aud");
    rejects(&v, &sign_es(&c), Code::TokenAudience);
    // No configured audience: `aud` is not checked.
    let open = verifier_with(TokenConfig::default());
    c["aud"] = json!("anything");
    assert!(open.verify(&sign_es(&c), NOW).is_ok());
}

#[test]
fn time_window_with_leeway() {
    let v = verifier(); // leeway 60
    let sign_es = |c: &Value| mint(&json!({"alg": "ES256", "kid": "ec-1"}), c, &Signer::Es256);
    let mut c = claims();
    c["exp"] = json!(NOW - 30); // expired, but within leeway
    assert!(v.verify(&sign_es(&c), NOW).is_ok());
    c["exp"] = json!(NOW - 60); // exactly at the leeway edge: expired
    rejects(&v, &sign_es(&c), Code::TokenExpired);
    c["exp"] = json!(NOW - 3600);
    rejects(&v, &sign_es(&c), Code::TokenExpired);

    c["exp"] = json!(NOW + 3600);
    c["nbf"] = json!(NOW + 30); // not yet valid, within leeway
    assert!(v.verify(&sign_es(&c), NOW).is_ok());
    c["nbf"] = json!(NOW + 61);
    rejects(&v, &sign_es(&c), Code::TokenNotYetValid);

    let strict = verifier_with(TokenConfig { leeway_secs: 0, ..TokenConfig::default() });
    c["nbf"] = json!(NOW);
    c["exp"] = json!(NOW + 1);
    assert!(strict.verify(&sign_es(&c), NOW).is_ok());
    assert_eq!(strict.verify(&sign_es(&c), NOW + 1).unwrap_err().code(), Code::TokenExpired);
    assert_eq!(strict.verify(&sign_es(&c), NOW - 1).unwrap_err().code(), Code::TokenNotYetValid);
}

#[test]
fn claim_types_and_required_claims() {
    let v = verifier();
    let sign_es = |c: &Value| mint(&json!({"alg": "ES256", "kid": "ec-1"}), c, &Signer::Es256);
    let mut c = claims();
    c["exp"] = json!("1700000300");
    rejects(&v, &sign_es(&c), Code::TokenMalformed);
    c["exp"] = json!(NOW + 300);
    c["nbf"] = json!(null);
    rejects(&v, &sign_es(&c), Code::TokenMalformed);
    c.as_object_mut().unwrap().remove("nbf");
    c.as_object_mut().unwrap().remove("exp");
    rejects(&v, &sign_es(&c), Code::TokenMissingClaim); // `exp` is required by default

    let needs_sub =
        verifier_with(TokenConfig { required_claims: vec!["exp".into(), "sub".into()], ..TokenConfig::default() });
    let mut c = claims();
    c["sub"] = Value::Null;
    rejects(&needs_sub, &sign_es(&c), Code::TokenMissingClaim);
    c.as_object_mut().unwrap().remove("sub");
    let err = needs_sub.verify(&sign_es(&c), NOW).unwrap_err();
    assert_eq!(err.code(), Code::TokenMissingClaim);
    assert!(err.message().contains("`sub`"));

    let no_exp_needed = verifier_with(TokenConfig { required_claims: vec![], ..TokenConfig::default() });
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert!(no_exp_needed.verify(&sign_es(&c), NOW).is_ok());
}

#[test]
fn payload_must_be_a_json_object() {
    let v = verifier();
    for payload in ["[1,2]", "\"alice\"", "42", "null", "{\"exp\":", "not json"] {
        let token = mint_raw(r#"{"alg":"ES256","kid":"ec-1"}"#, payload, &Signer::Es256);
        rejects(&v, &token, Code::TokenMalformed);
    }
}

#[test]
fn structural_garbage_is_malformed() {
    let v = verifier();
    let good = rs256();
    let p: Vec<&str> = good.split('.').collect();
    let cases = [
        String::new(),
        "abc".to_string(),
        format!("{}.{}", p[0], p[1]),                   // one dot
        format!("{}.{}.{}.{}", p[0], p[1], p[2], p[2]), // three dots
        format!("{}.{}.{}.", p[0], p[1], p[2]),
        "..".to_string(),
        format!(".{}.{}", p[1], p[2]),
        format!("{}..{}", p[0], p[2]),
        format!("{}=.{}.{}", p[0], p[1], p[2]), // padding in header
        format!("{}.{}=.{}", p[0], p[1], p[2]), // padding in payload
        format!("{}.{}.{}=", p[0], p[1], p[2]), // padding in signature
        format!("{}*.{}.{}", p[0], p[1], p[2]),
        format!("{}.{}+.{}", p[0], p[1], p[2]),
        format!("{}.{}.{}/", p[0], p[1], p[2]),
        format!("{}.e30AA.AAAA", b64(br#"{"alg":"RS256"}"#)), // payload of length 4n+1
        format!("{}.{} .{}", p[0], p[1], p[2]),
        format!("{}.{}", b64(b"not json"), "e30.AAAA"),
        format!("{}.e30.AAAA", b64(br#"["alg","RS256"]"#)),
        format!("{}.e30.AAAA", b64(br#""RS256""#)),
        format!("{}.e30.AAAA", b64(br#"{"typ":"JWT"}"#)),
        format!("{}.e30.AAAA", b64(br#"{"alg":256}"#)),
        format!("{}.e30.AAAA", b64(br#"{"alg":"RS256","kid":7}"#)),
        format!("{}.e30.AAAA", b64(br#"{"alg":"RS256","crit":["exp"],"exp":1}"#)),
    ];
    for token in &cases {
        rejects(&v, token, Code::TokenMalformed);
    }
}

#[test]
fn unknown_algorithms_are_not_allowed() {
    let v = verifier();
    for alg in ["RS1", "ES384", "ES256K", "Ed25519", "rs256", "HS512", ""] {
        let token = mint(&json!({"alg": alg, "kid": "rsa-1"}), &claims(), &Signer::Rsa("RS256"));
        rejects(&v, &token, Code::TokenAlgNotAllowed);
    }
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let v = verifier();
    rejects(&v, &"x".repeat(16 * 1024 + 1), Code::TokenTooLarge);
    let mut c = claims();
    c["pad"] = json!("p".repeat(20_000));
    rejects(&v, &mint(&json!({"alg": "ES256", "kid": "ec-1"}), &c, &Signer::Es256), Code::TokenTooLarge);
    assert_eq!(v.verify_cached(&"x".repeat(20_000), NOW).unwrap_err().code(), Code::TokenTooLarge);
    let small = verifier_with(TokenConfig { max_token_len: 100, ..TokenConfig::default() });
    rejects(&small, &rs256(), Code::TokenTooLarge);
}

#[test]
fn no_key_set_means_no_verifier() {
    let v = Verifier::new(TokenConfig::default(), None).unwrap();
    rejects(&v, &rs256(), Code::TokenNoVerifier);
    let v = Verifier::new(TokenConfig::default(), Some(Jwks::from_json(r#"{"keys":[]}"#).unwrap().0)).unwrap();
    rejects(&v, &rs256(), Code::TokenNoVerifier);
}

// --- JWKS -------------------------------------------------------------------------------

#[test]
fn jwks_with_a_bad_key_keeps_the_good_ones() {
    let doc: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let mut keys = doc["keys"].as_array().unwrap().clone();
    keys.insert(1, json!({"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}));
    keys.push(json!({"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"}));
    keys.push(json!({"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])}));
    let (set, skipped) = Jwks::from_json(&json!({"keys": keys}).to_string()).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set.kids(), ["rsa-1", "ec-1", "ed-1"]);
    assert_eq!(skipped.len(), 3);
    let expected = [("broken", "keys[1]"), ("p384", "keys[4]"), ("off-curve", "keys[5]")];
    for (err, (kid, path)) in skipped.iter().zip(expected) {
        assert_eq!(err.code(), Code::JwksInvalid);
        assert!(err.message().contains(&format!("`{kid}`")), "{}", err.message());
        assert_eq!(err.location().path.as_deref(), Some(path));
    }
    let v = Verifier::new(TokenConfig::default(), Some(set)).unwrap();
    assert!(v.verify(&rs256(), NOW).is_ok());
    let broken = mint(&json!({"alg": "RS256", "kid": "broken"}), &claims(), &Signer::Rsa("RS256"));
    rejects(&v, &broken, Code::TokenUnknownKid);
}

#[test]
fn jwks_document_errors() {
    for bad in ["", "not json", "{\"keys\":", "[]", "{}", r#"{"keys":null}"#, r#"{"keys":{"kty":"RSA"}}"#] {
        assert_eq!(Jwks::from_json(bad).unwrap_err().code(), Code::JwksInvalid, "{bad}");
    }
}

#[test]
fn weak_rsa_keys_are_skipped() {
    // 1024-bit modulus: RFC 7518 requires at least 2048.
    let n = b64(&[0xff; 128]);
    let (set, skipped) =
        Jwks::from_json(&json!({"keys": [{"kty": "RSA", "kid": "weak", "n": n, "e": "AQAB"}]}).to_string()).unwrap();
    assert!(set.is_empty());
    assert_eq!(skipped.len(), 1);
}

#[test]
fn set_jwks_rotates_keys_and_clears_the_cache() {
    let mut v = verifier();
    let token = rs256();
    assert!(v.verify_cached(&token, NOW).is_ok());
    assert_eq!(v.cache_len(), 1);
    let doc: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    v.set_jwks(Jwks::from_json(&json!({"keys": [doc["keys"][1]]}).to_string()).unwrap().0);
    assert_eq!(v.cache_len(), 0);
    assert_eq!(v.verify_cached(&token, NOW).unwrap_err().code(), Code::TokenUnknownKid);
}

// --- config -----------------------------------------------------------------------------

#[test]
fn nonsense_config_is_refused() {
    let bad = [
        TokenConfig { leeway_secs: -5, ..TokenConfig::default() },
        TokenConfig { leeway_secs: 10_000_000, ..TokenConfig::default() },
        TokenConfig { allowed_algs: vec!["none".into()], ..TokenConfig::default() },
        TokenConfig { allowed_algs: vec!["HS256".into()], ..TokenConfig::default() },
        TokenConfig {
            allowed_algs: vec!["HS512".into()],
            hs256_secret: Some(SECRET.to_vec()),
            ..TokenConfig::default()
        },
        TokenConfig { allowed_algs: vec!["FOO".into()], ..TokenConfig::default() },
        TokenConfig { hs256_secret: Some(vec![]), ..TokenConfig::default() },
        TokenConfig { max_token_len: usize::MAX, ..TokenConfig::default() },
        TokenConfig { audience: vec![String::new()], ..TokenConfig::default() },
    ];
    for config in bad {
        let err = Verifier::new(config.clone(), None).unwrap_err();
        assert_eq!(err.code(), Code::ConfigInvalid, "{config:?}");
    }
    let d = TokenConfig::default();
    assert_eq!((d.leeway_secs, d.max_token_len, d.required_claims.clone()), (60, 16 * 1024, vec!["exp".to_string()]));
    assert_eq!(d.allowed_algs, ["RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA"]);
}

// --- cache ------------------------------------------------------------------------------

#[test]
fn cache_hit_returns_the_same_claims_and_rechecks_expiry() {
    let v = verifier();
    let mut c = claims();
    c["exp"] = json!(NOW + 100);
    let token = mint(&json!({"alg": "RS256", "kid": "rsa-1"}), &c, &Signer::Rsa("RS256"));
    let first = v.verify_cached(&token, NOW).unwrap();
    let second = v.verify_cached(&token, NOW + 50).unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(Value::Object((*first).clone()), c);
    // Past exp + leeway: the cached entry now answers expired.
    assert_eq!(v.verify_cached(&token, NOW + 160).unwrap_err().code(), Code::TokenExpired);
    assert_eq!(v.verify_cached(&token, NOW + 159).map(|_| ()), Ok(()));
    // Errors are not cached: a bad token is rejected every time.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert!(v.verify_cached(&forged, NOW).is_err());
    assert!(v.verify_cached(&forged, NOW).is_err());
    assert_eq!(v.cache_len(), 1);
}

#[test]
fn cache_honours_nbf_on_hits() {
    let v = Verifier::new(
        TokenConfig { hs256_secret: Some(SECRET.to_vec()), leeway_secs: 0, ..TokenConfig::default() },
        None,
    )
    .unwrap();
    let token = mint(&json!({"alg": "HS256"}), &json!({"exp": NOW + 100, "nbf": NOW}), &Signer::Hmac(SECRET));
    assert!(v.verify_cached(&token, NOW).is_ok());
    assert_eq!(v.verify_cached(&token, NOW - 1).unwrap_err().code(), Code::TokenNotYetValid);
}

#[test]
fn cache_stays_bounded() {
    let v = Verifier::new(TokenConfig { hs256_secret: Some(SECRET.to_vec()), ..TokenConfig::default() }, None).unwrap();
    for i in 0..10_000 {
        let token = mint(&json!({"alg": "HS256"}), &json!({"exp": NOW + 100, "n": i}), &Signer::Hmac(SECRET));
        assert_eq!(v.verify_cached(&token, NOW).unwrap()["n"], i);
        assert!(v.cache_len() <= kbac::token::CACHE_CAPACITY);
    }
    assert_eq!(v.cache_len(), kbac::token::CACHE_CAPACITY);
}

// --- robustness -------------------------------------------------------------------------

#[test]
fn mutated_tokens_never_panic_or_pass() {
    let v = verifier_with(TokenConfig { hs256_secret: Some(SECRET.to_vec()), ..TokenConfig::default() });
    let seeds = [
        rs256(),
        mint(&json!({"alg": "ES256", "kid": "ec-1"}), &claims(), &Signer::Es256),
        mint(&json!({"alg": "EdDSA", "kid": "ed-1"}), &claims(), &Signer::EdDsa),
        mint(&json!({"alg": "HS256"}), &claims(), &Signer::Hmac(SECRET)),
    ];
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u{e9}".chars().collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in &seeds {
        assert!(v.verify(seed, NOW).is_ok());
        for _ in 0..300 {
            let mut chars: Vec<char> = seed.chars().collect();
            let edits = 1 + next() % 3;
            for _ in 0..edits {
                let pos = (next() as usize) % chars.len();
                match next() % 3 {
                    0 => chars[pos] = alphabet[(next() as usize) % alphabet.len()],
                    1 => {
                        chars.remove(pos);
                    }
                    _ => chars.insert(pos, alphabet[(next() as usize) % alphabet.len()]),
                }
            }
            let mutated: String = chars.into_iter().collect();
            if &mutated == seed {
                continue;
            }
            if let Ok(c) = v.verify(&mutated, NOW) {
                // Only a mutation that decodes to the very same bytes could pass; there is none
                // in strict base64url, so any success means the signature check was skipped.
                panic!("mutated token verified: {mutated} -> {c:?}");
            }
        }
    }
}
