//! JWT verification: compact JWS parsing, JWKS key selection, signature check (via
//! `jwt-compact`'s algorithms) and claim checks. The clock is injected: every check takes
//! `now` in epoch seconds, so the core stays free of time sources (see DESIGN.md).
//!
//! Order of checks, and why:
//! 1. size (before any decoding, so a huge token costs nothing);
//! 2. structure and header (`alg`, `kid`, `crit`);
//! 3. algorithm policy (`none`, allowed list, HMAC only with a configured secret);
//! 4. key selection and the signature;
//! 5. claims: types, `iss`, `aud`, required claims, and the time window last.
//!
//! The signature comes before any claim so a forged token is never reported as merely
//! expired, and the time window comes after issuer/audience because the engine treats
//! `token.expired` softly (step-up applies) while every other failure is a hard error.

mod alg;
mod b64;
mod cache;
mod jwks;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Code, Error, Result};
use alg::Alg;
pub use jwks::Jwks;

/// Default maximum token length in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;
/// Upper bound for `max_token_len` and the size limit of [`peek_header`].
pub const MAX_TOKEN_LEN_CEILING: usize = 1024 * 1024;
/// Default clock-skew allowance for `exp`/`nbf`.
pub const DEFAULT_LEEWAY_SECS: i64 = 60;
/// Largest accepted leeway; more than a day is a misconfiguration, not clock skew.
pub const MAX_LEEWAY_SECS: i64 = 86_400;
/// Entries kept by [`Verifier::verify_cached`].
pub const CACHE_CAPACITY: usize = 1024;
/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
const MIN_HS256_SECRET_LEN: usize = 32;

/// Shorten user-supplied text before it goes into an error message.
pub(crate) mod quote {
    const MAX: usize = 64;

    pub(crate) fn clip(s: &str) -> String {
        let clean: String = s.chars().filter(|c| !c.is_control()).collect();
        match clean.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", clean.get(..cut).unwrap_or_default()),
            None => clean,
        }
    }
}

/// How tokens are checked. `Default` gives: no issuer/audience check, 60 s leeway, `exp`
/// required, RS256 RS384 RS512 PS256 ES256 EdDSA, 16 KiB maximum, no HMAC.
#[derive(Clone)]
pub struct TokenConfig {
    /// Required `iss`, if set.
    pub issuer: Option<String>,
    /// The token's `aud` (string or list) must contain one of these, if non-empty.
    pub audience: Vec<String>,
    /// Clock-skew allowance for `exp` and `nbf`, in seconds (0..=86400).
    pub leeway_secs: i64,
    /// Claims that must be present and not null.
    pub required_claims: Vec<String>,
    /// Accepted `alg` values. `HS256` is accepted whenever `hs256_secret` is set; other `HS*`
    /// values must be listed and need a long enough secret.
    pub allowed_algs: Vec<String>,
    /// Tokens longer than this (bytes) are rejected before decoding.
    pub max_token_len: usize,
    /// Shared secret enabling HMAC algorithms (at least 32 bytes).
    pub hs256_secret: Option<Vec<u8>>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            issuer: None,
            audience: Vec::new(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            required_claims: vec!["exp".to_string()],
            allowed_algs: ["RS256", "RS384", "RS512", "PS256", "ES256", "EdDSA"].map(str::to_string).to_vec(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            hs256_secret: None,
        }
    }
}

// Hand-written so the secret never reaches logs.
impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("required_claims", &self.required_claims)
            .field("allowed_algs", &self.allowed_algs)
            .field("max_token_len", &self.max_token_len)
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Verifies compact JWS tokens against a configuration, an optional JWKS and an optional
/// HMAC secret, with a small cache of verified tokens.
pub struct Verifier {
    config: TokenConfig,
    allowed: Vec<Alg>,
    jwks: Option<Jwks>,
    cache: cache::TokenCache,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .field("keys", &self.jwks.as_ref().map_or(0, Jwks::len))
            .field("cached", &self.cache.len())
            .finish()
    }
}

// A clone starts with an empty cache: cached entries are an optimisation, not state.
impl Clone for Verifier {
    fn clone(&self) -> Self {
        Verifier {
            config: self.config.clone(),
            allowed: self.allowed.clone(),
            jwks: self.jwks.clone(),
            cache: cache::TokenCache::new(CACHE_CAPACITY),
        }
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(Code::ConfigInvalid, message)
}

fn effective_algs(config: &TokenConfig) -> Result<Vec<Alg>> {
    let secret_len = config.hs256_secret.as_ref().map(Vec::len);
    let mut allowed = Vec::new();
    for name in &config.allowed_algs {
        if name.eq_ignore_ascii_case("none") {
            return Err(config_error("`none` cannot be an allowed algorithm"));
        }
        let Some(alg) = Alg::from_name(name) else {
            let supported: Vec<&str> = Alg::ALL.iter().map(|a| a.name()).collect();
            return Err(config_error(format!(
                "unsupported algorithm `{}` in allowed_algs (supported: {})",
                quote::clip(name),
                supported.join(", ")
            )));
        };
        if alg.is_hmac() {
            let needed = match alg {
                Alg::Hs384 => 48,
                Alg::Hs512 => 64,
                _ => MIN_HS256_SECRET_LEN,
            };
            match secret_len {
                None => {
                    return Err(config_error(format!("`{}` is allowed but no HMAC secret is configured", alg.name())))
                }
                Some(len) if len < needed => {
                    return Err(config_error(format!(
                        "the HMAC secret has {len} bytes; `{}` needs at least {needed}",
                        alg.name()
                    )))
                }
                Some(_) => {}
            }
        }
        if !allowed.contains(&alg) {
            allowed.push(alg);
        }
    }
    if let Some(len) = secret_len {
        if len < MIN_HS256_SECRET_LEN {
            return Err(config_error(format!(
                "the HMAC secret has {len} bytes; HS256 needs at least {MIN_HS256_SECRET_LEN}"
            )));
        }
        if !allowed.contains(&Alg::Hs256) {
            allowed.push(Alg::Hs256);
        }
    }
    if allowed.is_empty() {
        return Err(config_error("allowed_algs is empty"));
    }
    Ok(allowed)
}

fn validate_config(config: &TokenConfig) -> Result<Vec<Alg>> {
    if !(0..=MAX_LEEWAY_SECS).contains(&config.leeway_secs) {
        return Err(config_error(format!(
            "leeway_secs is {}; it must be between 0 and {MAX_LEEWAY_SECS}",
            config.leeway_secs
        )));
    }
    if config.max_token_len == 0 || config.max_token_len > MAX_TOKEN_LEN_CEILING {
        return Err(config_error(format!(
            "max_token_len is {}; it must be between 1 and {MAX_TOKEN_LEN_CEILING}",
            config.max_token_len
        )));
    }
    if config.issuer.as_deref() == Some("") {
        return Err(config_error("issuer is empty; leave it unset to skip the issuer check"));
    }
    if config.audience.iter().any(String::is_empty) {
        return Err(config_error("audience contains an empty string"));
    }
    if config.required_claims.iter().any(String::is_empty) {
        return Err(config_error("required_claims contains an empty claim name"));
    }
    effective_algs(config)
}

/// A compact JWS split into its parts, nothing decoded yet.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(Code::TokenMalformed, message)
}

fn split(token: &str) -> Result<Parts<'_>> {
    let dots = token.bytes().filter(|&b| b == b'.').count();
    if dots != 2 {
        return Err(malformed(format!(
            "token is not a compact JWS: expected 3 dot-separated parts, found {}",
            dots + 1
        )));
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or_else(|| malformed("token is not a compact JWS"))?;
    let (header, payload) = signing_input.split_once('.').ok_or_else(|| malformed("token is not a compact JWS"))?;
    if header.is_empty() {
        return Err(malformed("token header part is empty"));
    }
    if payload.is_empty() {
        return Err(malformed("token payload part is empty (detached payloads are not supported)"));
    }
    Ok(Parts { header, payload, signature, signing_input })
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>> {
    b64::decode(part).map_err(|e| malformed(format!("token {what} {}", e.describe())))
}

/// The decoded protected header, reduced to what verification uses.
struct Header {
    alg: String,
    kid: Option<String>,
    crit: bool,
}

fn parse_header(part: &str) -> Result<Header> {
    let bytes = decode_part(part, "header")?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| malformed("token header is not JSON"))?;
    let Value::Object(obj) = value else {
        return Err(malformed("token header is not a JSON object"));
    };
    let alg = match obj.get("alg") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(malformed("token header `alg` is not a string")),
        None => return Err(malformed("token header has no `alg`")),
    };
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed("token header `kid` is not a string")),
    };
    Ok(Header { alg, kid, crit: obj.contains_key("crit") })
}

/// Parse the unverified header of a token: its `alg` and `kid`. Meant for key-refresh
/// decisions (an unknown kid may mean the JWKS rotated); nothing here is trusted.
pub fn peek_header(token: &str) -> Result<(String, Option<String>)> {
    if token.len() > MAX_TOKEN_LEN_CEILING {
        return Err(Error::new(
            Code::TokenTooLarge,
            format!("token has {} bytes, more than {MAX_TOKEN_LEN_CEILING}", token.len()),
        ));
    }
    let parts = split(token)?;
    let header = parse_header(parts.header)?;
    Ok((header.alg, header.kid))
}

fn numeric_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            n.as_f64().map(Some).ok_or_else(|| malformed(format!("token claim `{name}` is not a usable number")))
        }
        Some(_) => Err(malformed(format!("token claim `{name}` is not a number"))),
    }
}

/// RFC 7519 §4.1.4/§4.1.5 with leeway: valid while `nbf - leeway <= now < exp + leeway`.
fn check_window(exp: Option<f64>, nbf: Option<f64>, now: i64, leeway: i64) -> Result<()> {
    // f64 keeps fractional NumericDates and cannot overflow at these magnitudes.
    let (now_f, leeway_f) = (now as f64, leeway as f64);
    if let Some(nbf) = nbf {
        if now_f + leeway_f < nbf {
            return Err(Error::new(
                Code::TokenNotYetValid,
                format!("token is not valid before {nbf} (now {now}, leeway {leeway}s)"),
            ));
        }
    }
    if let Some(exp) = exp {
        if now_f >= exp + leeway_f {
            return Err(Error::new(
                Code::TokenExpired,
                format!("token expired at {exp} (now {now}, leeway {leeway}s)"),
            ));
        }
    }
    Ok(())
}

/// A verified token plus its time window, which is all a cache hit needs to re-check.
struct Verified {
    claims: Map<String, Value>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

impl Verifier {
    /// A verifier for `config`, with an optional key set. `config.invalid` when the
    /// configuration makes no sense (negative leeway, unknown or `none` algorithm, HMAC
    /// allowed without a secret, a short secret, empty issuer/audience/claim names).
    pub fn new(config: TokenConfig, jwks: Option<Jwks>) -> Result<Verifier> {
        let allowed = validate_config(&config)?;
        Ok(Verifier { config, allowed, jwks, cache: cache::TokenCache::new(CACHE_CAPACITY) })
    }

    /// Replace the key set (e.g. after a JWKS refresh). Clears the cache so tokens signed by
    /// a key that left the set stop verifying at once.
    pub fn set_jwks(&mut self, jwks: Jwks) {
        self.jwks = Some(jwks);
        self.cache.clear();
    }

    /// True when some token could verify: a non-empty key set or a configured secret.
    pub fn has_keys(&self) -> bool {
        self.jwks.as_ref().is_some_and(|j| !j.is_empty()) || self.config.hs256_secret.is_some()
    }

    /// The configuration this verifier was built with.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// Number of tokens currently in the verified-token cache.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Verify a compact JWS; on success its claims. `now` is epoch seconds.
    pub fn verify(&self, token: &str, now: i64) -> Result<Map<String, Value>> {
        self.verify_full(token, now).map(|v| v.claims)
    }

    /// Like [`Verifier::verify`], through a bounded cache keyed by the exact token string.
    /// A hit re-checks `exp`/`nbf` against `now`, so a cached token that has since expired
    /// returns `token.expired`.
    pub fn verify_cached(&self, token: &str, now: i64) -> Result<Arc<Map<String, Value>>> {
        if token.len() > self.config.max_token_len {
            return Err(self.too_large(token));
        }
        if let Some(hit) = self.cache.get(token) {
            check_window(hit.exp, hit.nbf, now, self.config.leeway_secs)?;
            return Ok(hit.claims);
        }
        let verified = self.verify_full(token, now)?;
        let claims = Arc::new(verified.claims);
        self.cache.insert(token, cache::Entry { claims: Arc::clone(&claims), exp: verified.exp, nbf: verified.nbf });
        Ok(claims)
    }

    fn too_large(&self, token: &str) -> Error {
        Error::new(
            Code::TokenTooLarge,
            format!("token has {} bytes, more than the maximum of {}", token.len(), self.config.max_token_len),
        )
    }

    fn verify_full(&self, token: &str, now: i64) -> Result<Verified> {
        if token.len() > self.config.max_token_len {
            return Err(self.too_large(token));
        }
        if token.is_empty() {
            return Err(malformed("token is empty"));
        }
        let parts = split(token)?;
        let header = parse_header(parts.header)?;
        let alg = self.check_alg(&header.alg)?;
        if header.crit {
            // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
            return Err(malformed("token header has `crit` extensions, which are not supported"));
        }
        let payload = decode_part(parts.payload, "payload")?;
        let signature = decode_part(parts.signature, "signature")?;
        self.check_signature(alg, header.kid.as_deref(), parts.signing_input.as_bytes(), &signature)?;

        let claims = match serde_json::from_slice::<Value>(&payload) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(malformed("token payload is not a JSON object")),
            Err(_) => return Err(malformed("token payload is not JSON")),
        };
        let exp = numeric_claim(&claims, "exp")?;
        let nbf = numeric_claim(&claims, "nbf")?;
        self.check_issuer(&claims)?;
        self.check_audience(&claims)?;
        for name in &self.config.required_claims {
            if claims.get(name).is_none_or(Value::is_null) {
                return Err(Error::new(Code::TokenMissingClaim, format!("token has no `{}` claim", quote::clip(name))));
            }
        }
        check_window(exp, nbf, now, self.config.leeway_secs)?;
        Ok(Verified { claims, exp, nbf })
    }

    fn check_alg(&self, name: &str) -> Result<Alg> {
        if name.eq_ignore_ascii_case("none") {
            return Err(Error::new(Code::TokenAlgNotAllowed, "unsigned tokens (`alg` `none`) are not accepted"));
        }
        let alg = Alg::from_name(name).filter(|a| self.allowed.contains(a)).ok_or_else(|| {
            Error::new(Code::TokenAlgNotAllowed, format!("token `alg` `{}` is not allowed", quote::clip(name)))
        })?;
        // Belt and braces: `allowed` never holds HMAC without a secret, but this check is what
        // stops an RSA public key from being used as an HMAC secret, so it stays explicit.
        if alg.is_hmac() && self.config.hs256_secret.is_none() {
            return Err(Error::new(
                Code::TokenAlgNotAllowed,
                format!("token `alg` `{}` needs a configured secret", alg.name()),
            ));
        }
        Ok(alg)
    }

    fn check_signature(&self, alg: Alg, kid: Option<&str>, message: &[u8], signature: &[u8]) -> Result<()> {
        let bad_signature = || Error::new(Code::TokenSignature, "token signature does not verify");
        if alg.is_hmac() {
            // A kid on an HMAC token is ignored on purpose: the secret is the only HMAC key.
            let secret = self.config.hs256_secret.as_deref().unwrap_or_default();
            return if alg.verify_with_secret(secret, message, signature) { Ok(()) } else { Err(bad_signature()) };
        }
        let keys = match &self.jwks {
            Some(jwks) if !jwks.is_empty() => &jwks.keys,
            _ => {
                return Err(Error::new(
                    Code::TokenNoVerifier,
                    format!("no key set is configured to verify a `{}` token", alg.name()),
                ))
            }
        };
        let candidates: Vec<(usize, &jwks::Key)> = match kid {
            Some(kid) => {
                let named: Vec<(usize, &jwks::Key)> =
                    keys.iter().enumerate().filter(|(_, k)| k.kid.as_deref() == Some(kid)).collect();
                if named.is_empty() {
                    return Err(Error::new(
                        Code::TokenUnknownKid,
                        format!("no key in the key set has kid `{}`", quote::clip(kid)),
                    ));
                }
                named
            }
            None if keys.len() == 1 => keys.iter().enumerate().collect(),
            None => {
                let fitting: Vec<(usize, &jwks::Key)> = keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.unusable_reason().is_none() && k.misfit_reason(alg).is_none())
                    .collect();
                if fitting.is_empty() {
                    return Err(Error::new(
                        Code::TokenKeyMismatch,
                        format!("the token has no kid and no key in the set can verify `{}`", alg.name()),
                    ));
                }
                fitting
            }
        };
        let mut first_problem = None;
        let mut tried = false;
        for (index, key) in candidates {
            let problem = key.unusable_reason().or_else(|| key.misfit_reason(alg));
            if let Some(problem) = problem {
                first_problem.get_or_insert_with(|| format!("{} {problem}", key.label(index)));
                continue;
            }
            tried = true;
            if alg.verify_with_key(&key.material, message, signature) {
                return Ok(());
            }
        }
        match (tried, first_problem) {
            (false, Some(problem)) => Err(Error::new(Code::TokenKeyMismatch, problem)),
            _ => Err(bad_signature()),
        }
    }

    fn check_issuer(&self, claims: &Map<String, Value>) -> Result<()> {
        let Some(expected) = &self.config.issuer else { return Ok(()) };
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == expected => Ok(()),
            Some(Value::String(iss)) => Err(Error::new(
                Code::TokenIssuer,
                format!("token issuer `{}` is not `{}`", quote::clip(iss), quote::clip(expected)),
            )),
            Some(_) => Err(Error::new(Code::TokenIssuer, "token `iss` is not a string")),
            None => Err(Error::new(Code::TokenIssuer, "token has no `iss`")),
        }
    }

    fn check_audience(&self, claims: &Map<String, Value>) -> Result<()> {
        if self.config.audience.is_empty() {
            return Ok(());
        }
        let accepted = |aud: &str| self.config.audience.iter().any(|a| a == aud);
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => accepted(aud),
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
            Some(_) => false,
            None => return Err(Error::new(Code::TokenAudience, "token has no `aud`")),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::new(Code::TokenAudience, "token audience does not include a configured audience"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_config() -> TokenConfig {
        TokenConfig { hs256_secret: Some(vec![7; 32]), ..TokenConfig::default() }
    }

    fn hs256(claims: &str, secret: &[u8]) -> String {
        let header = b64::encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64::encode(claims.as_bytes());
        let input = format!("{header}.{payload}");
        let sig = {
            use jwt_compact::alg::{Hs256, Hs256Key};
            use jwt_compact::{Algorithm, AlgorithmSignature};
            Hs256.sign(&Hs256Key::new(secret), input.as_bytes()).as_bytes().into_owned()
        };
        format!("{input}.{}", b64::encode(&sig))
    }

    fn code<T>(r: Result<T>) -> Option<Code> {
        r.err().map(|e| e.code())
    }

    #[test]
    fn config_validation() {
        assert!(Verifier::new(TokenConfig::default(), None).is_ok());
        let bad = [
            TokenConfig { leeway_secs: -1, ..TokenConfig::default() },
            TokenConfig { max_token_len: 0, ..TokenConfig::default() },
            TokenConfig { allowed_algs: vec![], ..TokenConfig::default() },
            TokenConfig { allowed_algs: vec!["None".into()], ..TokenConfig::default() },
            TokenConfig { allowed_algs: vec!["ES384".into()], ..TokenConfig::default() },
            TokenConfig { allowed_algs: vec!["HS256".into()], ..TokenConfig::default() },
            TokenConfig { hs256_secret: Some(b"short".to_vec()), ..TokenConfig::default() },
            TokenConfig { issuer: Some(String::new()), ..TokenConfig::default() },
            TokenConfig { required_claims: vec![String::new()], ..TokenConfig::default() },
        ];
        for config in bad {
            assert_eq!(code(Verifier::new(config.clone(), None)), Some(Code::ConfigInvalid), "{config:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", secret_config());
        assert!(shown.contains("<redacted>") && !shown.contains("[7, 7"));
    }

    #[test]
    fn hs256_round_trip_and_window() {
        let v = Verifier::new(secret_config(), None).ok();
        let v = v.as_ref();
        let t = hs256(r#"{"sub":"alice","exp":1000,"nbf":500}"#, &[7; 32]);
        assert_eq!(v.map(|v| v.verify(&t, 900).is_ok()), Some(true));
        assert_eq!(v.and_then(|v| code(v.verify(&t, 1059))), None);
        assert_eq!(v.and_then(|v| code(v.verify(&t, 1060))), Some(Code::TokenExpired));
        assert_eq!(v.and_then(|v| code(v.verify(&t, 439))), Some(Code::TokenNotYetValid));
        let forged = hs256(r#"{"sub":"alice","exp":1}"#, &[8; 32]);
        assert_eq!(v.and_then(|v| code(v.verify(&forged, 900))), Some(Code::TokenSignature));
    }

    #[test]
    fn peek_header_reads_alg_and_kid() {
        let h = b64::encode(br#"{"alg":"RS256","kid":"k1"}"#);
        assert_eq!(peek_header(&format!("{h}.e30.")), Ok(("RS256".to_string(), Some("k1".to_string()))));
        assert_eq!(code(peek_header("a.b")), Some(Code::TokenMalformed));
    }

    #[test]
    fn clip_shortens_and_strips_controls() {
        assert_eq!(quote::clip("a\nb"), "ab");
        assert_eq!(quote::clip(&"x".repeat(100)).chars().count(), 65);
    }
}
