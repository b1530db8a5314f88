//! The JWS algorithms this crate can verify and the generic signature check.

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};

use super::jwks::Material;

/// A supported JWS `alg` (RFC 7518 names, case-sensitive as the RFC requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    EdDsa,
    Hs256,
    Hs384,
    Hs512,
}

impl Alg {
    pub(crate) const ALL: [Alg; 11] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::EdDsa,
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
        }
    }

    pub(crate) fn is_hmac(self) -> bool {
        matches!(self, Alg::Hs256 | Alg::Hs384 | Alg::Hs512)
    }

    fn rsa(self) -> Option<Rsa> {
        match self {
            Alg::Rs256 => Some(Rsa::rs256()),
            Alg::Rs384 => Some(Rsa::rs384()),
            Alg::Rs512 => Some(Rsa::rs512()),
            Alg::Ps256 => Some(Rsa::ps256()),
            Alg::Ps384 => Some(Rsa::ps384()),
            Alg::Ps512 => Some(Rsa::ps512()),
            _ => None,
        }
    }

    /// Check `signature` over `message` with an asymmetric key. A key of the wrong family
    /// returns false; callers have already reported that as a key mismatch.
    pub(crate) fn verify_with_key(self, key: &Material, message: &[u8], signature: &[u8]) -> bool {
        match (self, key) {
            (Alg::Es256, Material::P256(k)) => check(&Es256, k, message, signature),
            (Alg::EdDsa, Material::Ed25519(k)) => check(&Ed25519, k, message, signature),
            (_, Material::Rsa(k)) => self.rsa().is_some_and(|rsa| check(&rsa, k, message, signature)),
            _ => false,
        }
    }

    /// Check an HMAC signature with the configured secret (constant-time compare inside).
    pub(crate) fn verify_with_secret(self, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
        match self {
            Alg::Hs256 => check(&Hs256, &Hs256Key::new(secret), message, signature),
            Alg::Hs384 => check(&Hs384, &Hs384Key::new(secret), message, signature),
            Alg::Hs512 => check(&Hs512, &Hs512Key::new(secret), message, signature),
            _ => false,
        }
    }
}

/// jwt-compact's fixed-length signature constructors copy into arrays and would panic on a
/// wrong length, so the length is checked here first (its own validator does the same).
fn check<A: Algorithm>(alg: &A, key: &A::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    if let Some(len) = <A::Signature as AlgorithmSignature>::LENGTH {
        if signature.len() != len.get() {
            return false;
        }
    }
    match <A::Signature as AlgorithmSignature>::try_from_slice(signature) {
        Ok(sig) => alg.verify_signature(&sig, key, message),
        Err(_) => false,
    }
}
