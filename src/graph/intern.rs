//! String interner: every type name, relationship type, property name and external id is
//! stored once, in one arena (no allocation per string: millions of ids load fast), and
//! compared as a `u32`.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// An interned string.
pub type Sym = u32;

#[derive(Clone, Default)]
pub struct Interner {
    arena: String,
    /// `(start, end)` byte offsets of each symbol in `arena`.
    spans: Vec<(u32, u32)>,
    table: HashTable<Sym>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} strings)", self.spans.len())
    }
}

// FxHash clusters badly on short similar ids (`p123`, `l123-0`); foldhash does not. A fixed
// seed keeps runs deterministic (no randomness in the core).
fn hash(s: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6b62_6163).hash_one(s)
}

fn text<'a>(arena: &'a str, spans: &[(u32, u32)], sym: Sym) -> &'a str {
    spans.get(sym as usize).and_then(|(a, b)| arena.get(*a as usize..*b as usize)).unwrap_or("")
}

impl Interner {
    /// Room for `strings` more symbols totalling `bytes` bytes.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.arena.reserve(bytes);
        self.spans.reserve(strings);
        let (arena, spans) = (&self.arena, &self.spans);
        self.table.reserve(strings, |x| hash(text(arena, spans, *x)));
    }

    /// The symbol of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = hash(s);
        let (arena, spans) = (&self.arena, &self.spans);
        if let Some(sym) = self.table.find(h, |x| text(arena, spans, *x) == s) {
            return *sym;
        }
        let sym = self.spans.len() as Sym;
        let start = self.arena.len() as u32;
        self.arena.push_str(s);
        self.spans.push((start, self.arena.len() as u32));
        let (arena, spans) = (&self.arena, &self.spans);
        self.table.insert_unique(h, sym, |x| hash(text(arena, spans, *x)));
        sym
    }

    /// Append `s` as a new symbol without looking for an existing copy (snapshot loading: the
    /// writer emitted each string once; a forged duplicate only makes one copy unreachable).
    pub fn push_unique(&mut self, s: &str) -> Sym {
        let sym = self.spans.len() as Sym;
        let start = self.arena.len() as u32;
        self.arena.push_str(s);
        self.spans.push((start, self.arena.len() as u32));
        let (arena, spans) = (&self.arena, &self.spans);
        self.table.insert_unique(hash(s), sym, |x| hash(text(arena, spans, *x)));
        sym
    }

    /// The symbol of `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.table.find(hash(s), |x| text(&self.arena, &self.spans, *x) == s).copied()
    }

    /// The text of a symbol (empty for an unknown symbol).
    pub fn resolve(&self, sym: Sym) -> &str {
        text(&self.arena, &self.spans, sym)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes held by the arena.
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }
}
