//! RFC 7517 key sets: parsing, per-key validation and the kty/crv/alg fit rules.

use std::borrow::Cow;

use jwt_compact::alg::{Ed25519, Es256, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::Algorithm;
use serde_json::Value;

use super::alg::Alg;
use super::b64;
use super::quote;
use crate::error::{Code, Error, Result};

/// RFC 7518 §3.3: RSA keys below 2048 bits MUST NOT be used for RS*/PS*.
const MIN_RSA_BITS: usize = 2048;

/// A JWKS is operator configuration, but it is often fetched from the network; a bound keeps a
/// hostile or broken document from turning every kid-less token into thousands of RSA checks.
const MAX_KEYS: usize = 256;

pub(crate) type P256Key = <Es256 as Algorithm>::VerifyingKey;
pub(crate) type Ed25519Key = <Ed25519 as Algorithm>::VerifyingKey;

/// The verifying half of a key, already decoded and checked, so token verification never parses.
#[derive(Clone, Debug)]
pub(crate) enum Material {
    Rsa(RsaPublicKey),
    P256(P256Key),
    Ed25519(Ed25519Key),
}

impl Material {
    fn family(&self) -> &'static str {
        match self {
            Material::Rsa(_) => "RSA",
            Material::P256(_) => "EC P-256",
            Material::Ed25519(_) => "OKP Ed25519",
        }
    }
}

/// One usable-or-not key of the set. Keys meant for encryption are kept (so a token naming
/// them gets a precise error) but never used to verify.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    /// The JWK `alg` member, if any: the one algorithm this key may be used with.
    pub(crate) alg: Option<String>,
    /// `None` when the JWK has no `use` (RFC 7517 §4.2: then any use the app allows).
    pub(crate) key_use: Option<String>,
    /// `None` when the JWK has no `key_ops`.
    pub(crate) key_ops: Option<Vec<String>>,
    pub(crate) material: Material,
}

impl Key {
    /// Why this key must not verify signatures, or `None` when it may.
    pub(crate) fn unusable_reason(&self) -> Option<String> {
        if let Some(u) = &self.key_use {
            if u != "sig" {
                return Some(format!("has use `{}`, not `sig`", quote::clip(u)));
            }
        }
        if let Some(ops) = &self.key_ops {
            if !ops.iter().any(|o| o == "verify") {
                return Some("has `key_ops` without `verify`".to_string());
            }
        }
        None
    }

    /// Why this key does not fit a token's `alg`, or `None` when it does.
    pub(crate) fn misfit_reason(&self, alg: Alg) -> Option<String> {
        let family_fits = matches!(
            (alg, &self.material),
            (Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512, Material::Rsa(_))
                | (Alg::Es256, Material::P256(_))
                | (Alg::EdDsa, Material::Ed25519(_))
        );
        if !family_fits {
            return Some(format!("is an {} key, which cannot verify `{}`", self.material.family(), alg.name()));
        }
        if let Some(key_alg) = &self.alg {
            if key_alg != alg.name() {
                return Some(format!("is restricted to `{}`, not `{}`", quote::clip(key_alg), alg.name()));
            }
        }
        None
    }

    /// A short name for messages: the kid, or the position in the set.
    pub(crate) fn label(&self, index: usize) -> String {
        match &self.kid {
            Some(kid) => format!("key `{}`", quote::clip(kid)),
            None => format!("key {index}"),
        }
    }
}

/// A parsed RFC 7517 JSON Web Key Set (public signature keys: RSA, EC P-256, OKP Ed25519).
#[derive(Clone, Debug, Default)]
pub struct Jwks {
    pub(crate) keys: Vec<Key>,
}

impl Jwks {
    /// Parse a JWKS JSON document.
    ///
    /// A key that is malformed or of an unsupported `kty`/`crv` is skipped and reported in the
    /// returned list (code `jwks.invalid`, path `keys[i]`, message naming the kid); a document
    /// that is not JSON or has no `keys` array is an `Err(jwks.invalid)`.
    pub fn from_json(json: &str) -> Result<(Jwks, Vec<Error>)> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| Error::new(Code::JwksInvalid, format!("the JWKS is not valid JSON: {e}")))?;
        let Some(Value::Array(entries)) = doc.as_object().and_then(|o| o.get("keys")) else {
            return Err(Error::new(Code::JwksInvalid, "the JWKS must be an object with a `keys` array"));
        };
        if entries.len() > MAX_KEYS {
            return Err(Error::new(
                Code::JwksInvalid,
                format!("the JWKS has {} keys, more than the limit of {MAX_KEYS}", entries.len()),
            ));
        }
        let mut keys = Vec::with_capacity(entries.len());
        let mut skipped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match parse_key(entry) {
                Ok(key) => keys.push(key),
                Err(why) => {
                    let name = match entry.get("kid").and_then(Value::as_str) {
                        Some(kid) => format!("key {index} (kid `{}`)", quote::clip(kid)),
                        None => format!("key {index}"),
                    };
                    skipped.push(
                        Error::new(Code::JwksInvalid, format!("{name} skipped: {why}"))
                            .at_path(format!("keys[{index}]")),
                    );
                }
            }
        }
        Ok((Jwks { keys }, skipped))
    }

    /// Number of keys kept (skipped keys are not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key was kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid` of every kept key that has one, in document order.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().filter_map(|k| k.kid.clone()).collect()
    }
}

fn opt_string(obj: &serde_json::Map<String, Value>, member: &str) -> std::result::Result<Option<String>, String> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{member}` is not a string")),
    }
}

fn b64_member(obj: &serde_json::Map<String, Value>, member: &str) -> std::result::Result<Vec<u8>, String> {
    match obj.get(member) {
        None => Err(format!("`{member}` is missing")),
        Some(Value::String(s)) => b64::decode(s).map_err(|e| format!("`{member}` {}", e.describe())),
        Some(_) => Err(format!("`{member}` is not a string")),
    }
}

/// Bit length of a big-endian unsigned integer, ignoring leading zero bytes.
fn bit_len(be: &[u8]) -> usize {
    let mut rest = be.iter().skip_while(|&&b| b == 0);
    match rest.next() {
        None => 0,
        Some(&first) => rest.count() * 8 + (8 - first.leading_zeros() as usize),
    }
}

fn parse_key(entry: &Value) -> std::result::Result<Key, String> {
    let Some(obj) = entry.as_object() else {
        return Err("not a JSON object".to_string());
    };
    let kty = match obj.get("kty") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("`kty` is not a string".to_string()),
        None => return Err("`kty` is missing".to_string()),
    };
    let kid = opt_string(obj, "kid")?;
    let alg = opt_string(obj, "alg")?;
    let key_use = opt_string(obj, "use")?;
    let key_ops = match obj.get("key_ops") {
        None => None,
        Some(Value::Array(ops)) => Some(
            ops.iter()
                .map(|o| o.as_str().map(str::to_string).ok_or_else(|| "`key_ops` has a non-string entry".to_string()))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err("`key_ops` is not an array".to_string()),
    };
    let material = match kty {
        "RSA" => {
            let n = b64_member(obj, "n")?;
            let e = b64_member(obj, "e")?;
            let bits = bit_len(&n);
            if bits < MIN_RSA_BITS {
                return Err(format!("the RSA modulus has {bits} bits, fewer than {MIN_RSA_BITS}"));
            }
            let jwk = JsonWebKey::Rsa { modulus: Cow::Owned(n), public_exponent: Cow::Owned(e), private_parts: None };
            let key = RsaPublicKey::try_from(&jwk).map_err(|e| format!("invalid RSA key: {e}"))?;
            Material::Rsa(key)
        }
        "EC" => {
            let crv = opt_string(obj, "crv")?.ok_or_else(|| "`crv` is missing".to_string())?;
            if crv != "P-256" {
                return Err(format!("unsupported EC curve `{}` (only P-256)", quote::clip(&crv)));
            }
            let x = b64_member(obj, "x")?;
            let y = b64_member(obj, "y")?;
            let jwk =
                JsonWebKey::EllipticCurve { curve: Cow::Owned(crv), x: Cow::Owned(x), y: Cow::Owned(y), secret: None };
            let key = P256Key::try_from(&jwk).map_err(|e| format!("invalid P-256 key: {e}"))?;
            Material::P256(key)
        }
        "OKP" => {
            let crv = opt_string(obj, "crv")?.ok_or_else(|| "`crv` is missing".to_string())?;
            if crv != "Ed25519" {
                return Err(format!("unsupported OKP curve `{}` (only Ed25519)", quote::clip(&crv)));
            }
            let x = b64_member(obj, "x")?;
            let jwk = JsonWebKey::KeyPair { curve: Cow::Owned(crv), x: Cow::Owned(x), secret: None };
            let key = Ed25519Key::try_from(&jwk).map_err(|e| format!("invalid Ed25519 key: {e}"))?;
            Material::Ed25519(key)
        }
        // HMAC secrets are configured explicitly, never taken from a (usually public) key set.
        "oct" => return Err("symmetric (`oct`) keys are not accepted from a JWKS".to_string()),
        other => return Err(format!("unsupported kty `{}`", quote::clip(other))),
    };
    Ok(Key { kid, alg, key_use, key_ops, material })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[0, 1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0, 0x7f, 0xff]), 15);
    }

    #[test]
    fn document_shape_errors() {
        for bad in ["", "nope", "[]", "{}", r#"{"keys":{}}"#, r#"{"keys":"x"}"#] {
            let err = Jwks::from_json(bad).err().map(|e| e.code());
            assert_eq!(err, Some(Code::JwksInvalid), "{bad}");
        }
        let (set, skipped) = Jwks::from_json(r#"{"keys":[]}"#).unwrap_or_default();
        assert!(set.is_empty() && skipped.is_empty());
    }

    #[test]
    fn unsupported_keys_are_reported_with_their_kid() {
        let doc = r#"{"keys":[{"kty":"oct","kid":"h","k":"AAAA"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},7,{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#;
        let (set, skipped) = Jwks::from_json(doc).unwrap_or_default();
        assert!(set.is_empty());
        assert_eq!(skipped.len(), 4);
        assert!(skipped.iter().all(|e| e.code() == Code::JwksInvalid));
        let first = skipped.first().map(|e| e.message().to_string()).unwrap_or_default();
        assert!(first.contains("kid `h`"), "{first}");
        assert_eq!(skipped.get(2).and_then(|e| e.location().path.clone()).as_deref(), Some("keys[2]"));
        let last = skipped.get(3).map(|e| e.message().to_string()).unwrap_or_default();
        assert!(last.contains("fewer than 2048"), "{last}");
    }
}
