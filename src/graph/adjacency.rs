//! Compact adjacency for one direction: a CSR base (offsets + one sorted edge array) built
//! in bulk, plus an overlay of replacement lists for nodes changed since, folded back into
//! the base when it grows.

use super::{NodeId, Sym};
use rustc_hash::FxHashMap;

/// A half-edge as seen from one node: relationship type and the node at the other end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    pub ty: Sym,
    pub nbr: NodeId,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Adjacency {
    offsets: Vec<u32>,
    edges: Vec<Edge>,
    overlay: FxHashMap<NodeId, Vec<Edge>>,
    overlay_len: usize,
}

impl Adjacency {
    /// Build from `(node, edge)` pairs sorted by node then edge, de-duplicated.
    pub(super) fn build(node_count: usize, pairs: Vec<(NodeId, Edge)>) -> Self {
        let mut offsets = vec![0u32; node_count + 1];
        for (n, _) in &pairs {
            if let Some(o) = offsets.get_mut(*n as usize + 1) {
                *o += 1;
            }
        }
        for i in 1..offsets.len() {
            let prev = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(o) = offsets.get_mut(i) {
                *o += prev;
            }
        }
        let edges = pairs.into_iter().map(|(_, e)| e).collect();
        Adjacency { offsets, edges, overlay: FxHashMap::default(), overlay_len: 0 }
    }

    /// Rebuild from stored arrays; `None` unless every node's list is strictly sorted.
    pub(super) fn from_parts(offsets: Vec<u32>, edges: Vec<Edge>) -> Option<Self> {
        for w in offsets.windows(2) {
            let (a, b) = (*w.first()? as usize, *w.get(1)? as usize);
            let list = edges.get(a..b)?;
            if list.windows(2).any(|p| p.first() >= p.get(1)) {
                return None;
            }
        }
        Some(Adjacency { offsets, edges, overlay: FxHashMap::default(), overlay_len: 0 })
    }

    /// Number of edges (base plus overlay).
    pub(super) fn edge_count(&self) -> usize {
        let n = self.offsets.len().saturating_sub(1) as NodeId;
        (0..n).map(|i| self.list(i).len()).sum::<usize>()
            + self.overlay.iter().filter(|(k, _)| **k >= n).map(|(_, v)| v.len()).sum::<usize>()
    }

    /// Every edge of `n`, sorted by `(type, neighbour)`.
    #[inline]
    pub(super) fn list(&self, n: NodeId) -> &[Edge] {
        if !self.overlay.is_empty() {
            if let Some(v) = self.overlay.get(&n) {
                return v;
            }
        }
        self.base(n)
    }

    #[inline]
    fn base(&self, n: NodeId) -> &[Edge] {
        let i = n as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.edges.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Edges of `n` with type `ty`, sorted by neighbour.
    #[inline]
    pub(super) fn of_type(&self, n: NodeId, ty: Sym) -> &[Edge] {
        let l = self.list(n);
        if l.len() <= 8 {
            // Small lists: a linear scan beats two binary searches.
            let lo = l.iter().position(|e| e.ty == ty);
            return match lo {
                None => &[],
                Some(lo) => {
                    let len = l.get(lo..).map_or(0, |rest| rest.iter().take_while(|e| e.ty == ty).count());
                    l.get(lo..lo + len).unwrap_or(&[])
                }
            };
        }
        let lo = l.partition_point(|e| e.ty < ty);
        let hi = l.partition_point(|e| e.ty <= ty);
        l.get(lo..hi).unwrap_or(&[])
    }

    fn overlay_list(&mut self, n: NodeId) -> &mut Vec<Edge> {
        if !self.overlay.contains_key(&n) {
            let copy = self.base(n).to_vec();
            self.overlay_len += copy.len();
            self.overlay.insert(n, copy);
        }
        self.overlay.entry(n).or_default()
    }

    /// Insert; false if it was already there.
    pub(super) fn insert(&mut self, n: NodeId, e: Edge) -> bool {
        if self.list(n).binary_search(&e).is_ok() {
            return false;
        }
        let l = self.overlay_list(n);
        let pos = l.partition_point(|x| *x < e);
        l.insert(pos, e);
        self.overlay_len += 1;
        true
    }

    /// Remove; false if it was not there.
    pub(super) fn remove(&mut self, n: NodeId, e: Edge) -> bool {
        if self.list(n).binary_search(&e).is_err() {
            return false;
        }
        let l = self.overlay_list(n);
        if let Ok(pos) = l.binary_search(&e) {
            l.remove(pos);
        }
        true
    }

    /// Fold the overlay into the base once it holds a noticeable share of the edges, so
    /// reads stay one slice lookup and memory stays flat under steady updates.
    pub(super) fn maybe_compact(&mut self, node_count: usize) {
        if self.overlay_len <= 4096 + self.edges.len() / 4 {
            return;
        }
        let mut pairs = Vec::with_capacity(self.edges.len() + self.overlay_len);
        for n in 0..node_count as NodeId {
            for e in self.list(n) {
                pairs.push((n, *e));
            }
        }
        *self = Adjacency::build(node_count, pairs);
    }
}
