//! A small bounded cache of verified tokens, keyed by the exact token string.
//!
//! Only successfully verified tokens are stored, and only their time window is re-checked on
//! a hit: signature, issuer and audience cannot change for the same bytes under the same keys.
//! Key rotation clears the cache (see `Verifier::set_jwks`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

pub(crate) type Claims = Arc<Map<String, Value>>;

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) claims: Claims,
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
}

/// Tokens are long (hundreds of bytes) and hashed on every evaluation: foldhash is several
/// times faster than SipHash on them, and its per-map random seed keeps chosen-collision
/// tokens from degrading the (bounded) map.
type TokenHasher = foldhash::quality::RandomState;

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Arc<str>, Entry, TokenHasher>,
    /// Insertion order for FIFO eviction; a token is in here exactly when it is in `map`.
    order: VecDeque<Arc<str>>,
}

/// `Mutex` rather than `RefCell` so a `Verifier` stays `Sync` natively; on wasm32 without
/// threads the lock is uncontended. A poisoned lock is treated as an empty cache.
#[derive(Debug)]
pub(crate) struct TokenCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> TokenCache {
        TokenCache { capacity, inner: Mutex::new(Inner::default()) }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Entry> {
        let inner = self.inner.lock().ok()?;
        inner.map.get(token).cloned()
    }

    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.map.contains_key(token) {
            return;
        }
        while inner.map.len() >= self.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.map.remove(&old);
                }
                None => break,
            }
        }
        let key: Arc<str> = Arc::from(token);
        inner.order.push_back(Arc::clone(&key));
        inner.map.insert(key, entry);
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.clear();
            inner.order.clear();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry { claims: Arc::new(Map::new()), exp: None, nbf: None }
    }

    #[test]
    fn evicts_oldest_and_stays_bounded() {
        let cache = TokenCache::new(3);
        for i in 0..10 {
            cache.insert(&format!("t{i}"), entry());
            assert!(cache.len() <= 3);
        }
        assert!(cache.get("t9").is_some());
        assert!(cache.get("t7").is_some());
        assert!(cache.get("t6").is_none());
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let cache = TokenCache::new(0);
        cache.insert("t", entry());
        assert!(cache.get("t").is_none());
    }
}
