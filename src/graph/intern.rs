//! String interner: every type name, relationship type, property name and external id is
//! stored once and compared as a `u32`.

use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher};

/// An interned string.
pub type Sym = u32;

#[derive(Clone, Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    table: HashTable<Sym>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} strings)", self.strings.len())
    }
}

// FxHash clusters badly on short similar ids (`p123`, `l123-0`); foldhash does not. A fixed
// seed keeps runs deterministic (no randomness in the core).
fn hash(s: &str) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0x6b62_6163).build_hasher();
    s.hash(&mut h);
    h.finish()
}

impl Interner {
    /// The symbol of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.get(s) {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        self.strings.push(s.into());
        let strings = &self.strings;
        self.table.insert_unique(hash(s), sym, |x| hash(strings.get(*x as usize).map_or("", |b| b)));
        sym
    }

    /// The symbol of `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.table.find(hash(s), |x| self.strings.get(*x as usize).is_some_and(|b| &**b == s)).copied()
    }

    /// The text of a symbol (empty for an unknown symbol).
    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |b| b)
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}
