//! The graph snapshot: interned strings, nodes indexed by `(type, external_id)`, typed
//! properties, and relationships in compact adjacency (sorted per node by `(type, neighbour)`,
//! both directions) so that a one-hop check is a binary search, not a scan.

mod adjacency;
mod capture;
mod intern;
pub mod snapshot;

pub use adjacency::Edge;
pub use capture::{parse_batch, Batch, BatchKind, NodeIn, PropIn, RelIn};
pub use intern::{Interner, Sym};

use crate::value::Value;
use adjacency::Adjacency;
use rustc_hash::{FxHashMap, FxHashSet};

/// Index of a node in the store (stable while the node lives).
pub type NodeId = u32;

/// One stored property of a node or relationship.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub name: Sym,
    pub value: Value,
    /// `metadata` object (`source`, `assurance_level`, `verified_time`, `custom_metadata`), if any.
    pub metadata: Option<Box<Value>>,
}

/// A node: primary type, external id, identity flag, extra labels, properties.
#[derive(Clone, Debug)]
pub struct Node {
    pub ty: Sym,
    pub ext: Sym,
    pub identity: bool,
    pub alive: bool,
    pub labels: Vec<Sym>,
    pub props: Vec<Property>,
}

impl Node {
    /// True if `label` is the node's type or one of its extra labels.
    pub fn has_label(&self, label: Sym) -> bool {
        self.ty == label || self.labels.contains(&label)
    }

    pub fn prop(&self, name: Sym) -> Option<&Property> {
        self.props.iter().find(|p| p.name == name)
    }
}

const NONE: NodeId = NodeId::MAX;

/// `(type, external_id)` → node, as a dense array over external-id symbols with a chain for
/// the rare id shared by several types: built in one sequential pass (snapshot loads) and
/// smaller than a hash map.
#[derive(Clone, Debug, Default)]
struct NodeIndex {
    by_ext: Vec<NodeId>,
    next_same_ext: Vec<NodeId>,
}

impl NodeIndex {
    fn find(&self, nodes: &[Node], ty: Sym, ext: Sym) -> Option<NodeId> {
        let mut n = *self.by_ext.get(ext as usize)?;
        while n != NONE {
            let node = nodes.get(n as usize)?;
            if node.ty == ty && node.ext == ext && node.alive {
                return Some(n);
            }
            n = *self.next_same_ext.get(n as usize)?;
        }
        None
    }

    fn insert(&mut self, id: NodeId, ext: Sym) {
        if self.by_ext.len() <= ext as usize {
            self.by_ext.resize(ext as usize + 1, NONE);
        }
        if self.next_same_ext.len() <= id as usize {
            self.next_same_ext.resize(id as usize + 1, NONE);
        }
        if let (Some(head), Some(next)) = (self.by_ext.get_mut(ext as usize), self.next_same_ext.get_mut(id as usize)) {
            *next = *head;
            *head = id;
        }
    }

    fn remove(&mut self, id: NodeId, ext: Sym) {
        let after = self.next_same_ext.get(id as usize).copied().unwrap_or(NONE);
        let Some(head) = self.by_ext.get_mut(ext as usize) else { return };
        if *head == id {
            *head = after;
            return;
        }
        let mut n = *head;
        while n != NONE {
            let next = self.next_same_ext.get(n as usize).copied().unwrap_or(NONE);
            if next == id {
                if let Some(slot) = self.next_same_ext.get_mut(n as usize) {
                    *slot = after;
                }
                return;
            }
            n = next;
        }
    }
}

/// Identity of a relationship: `(source, type, target)` (the Capture API upserts by that key).
pub type RelKey = (NodeId, Sym, NodeId);

/// The property graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub(crate) strings: Interner,
    nodes: Vec<Node>,
    index: NodeIndex,
    free: Vec<NodeId>,
    by_label: FxHashMap<Sym, Vec<NodeId>>,
    out: Adjacency,
    inc: Adjacency,
    rel_props: FxHashMap<RelKey, Vec<Property>>,
    rel_count: usize,
    node_count: usize,
    identity_types: FxHashSet<Sym>,
    version: u64,
}

impl Graph {
    pub fn new() -> Self {
        Graph::default()
    }

    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        self.strings.intern(s)
    }

    /// Number of live nodes.
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// Number of relationships.
    pub fn relationship_count(&self) -> usize {
        self.rel_count
    }

    /// Bumped by every change; search page tokens are tied to it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Slots allocated (live and free); node ids are below this.
    pub fn capacity(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize).filter(|n| n.alive)
    }

    /// Find a node by type and external id given as symbols.
    pub fn find(&self, ty: Sym, ext: Sym) -> Option<NodeId> {
        self.index.find(&self.nodes, ty, ext)
    }

    /// Find a node by type and external id given as text.
    pub fn find_str(&self, ty: &str, ext: &str) -> Option<NodeId> {
        let t = self.strings.get(ty)?;
        let e = self.strings.get(ext)?;
        self.find(t, e)
    }

    /// Node types that hold at least one identity node (token joins look there).
    pub fn identity_types(&self) -> impl Iterator<Item = Sym> + '_ {
        self.identity_types.iter().copied()
    }

    /// Candidate nodes carrying `label` (may include stale ids: callers re-check `has_label`).
    pub fn nodes_with_label(&self, label: Sym) -> &[NodeId] {
        self.by_label.get(&label).map_or(&[], Vec::as_slice)
    }

    /// All live node ids.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().enumerate().filter(|(_, n)| n.alive).map(|(i, _)| i as NodeId)
    }

    /// Outgoing edges of `n` with relationship type `ty`, sorted by neighbour.
    pub fn out_edges(&self, n: NodeId, ty: Sym) -> &[Edge] {
        self.out.of_type(n, ty)
    }

    /// Incoming edges of `n` with relationship type `ty`, sorted by neighbour.
    pub fn in_edges(&self, n: NodeId, ty: Sym) -> &[Edge] {
        self.inc.of_type(n, ty)
    }

    /// All outgoing edges of `n`, sorted by `(type, neighbour)`.
    pub fn all_out(&self, n: NodeId) -> &[Edge] {
        self.out.list(n)
    }

    /// All incoming edges of `n`, sorted by `(type, neighbour)`.
    pub fn all_in(&self, n: NodeId) -> &[Edge] {
        self.inc.list(n)
    }

    /// Does the relationship `src -[ty]-> dst` exist?
    pub fn has_edge(&self, src: NodeId, ty: Sym, dst: NodeId) -> bool {
        self.out.of_type(src, ty).binary_search_by(|e| e.nbr.cmp(&dst)).is_ok()
    }

    pub fn relationship_properties(&self, key: RelKey) -> &[Property] {
        self.rel_props.get(&key).map_or(&[], Vec::as_slice)
    }

    /// Apply a validated batch. Validation happened in [`Graph::check`]; this cannot fail.
    pub(crate) fn apply(&mut self, batch: &Batch) -> crate::engine::GraphChange {
        let mut change = crate::engine::GraphChange::default();
        for n in &batch.upsert_nodes {
            self.upsert_node(n);
            change.nodes += 1;
        }
        for r in &batch.upsert_rels {
            if let (Some(s), Some(t)) = (self.find_str(&r.source.1, &r.source.0), self.find_str(&r.target.1, &r.target.0)) {
                let ty = self.intern(&r.ty);
                let props: Vec<Property> = r.props.iter().map(|p| self.make_property(p)).collect();
                self.insert_edge(s, ty, t, props);
                change.relationships += 1;
            }
        }
        for (ext, ty) in &batch.delete_nodes {
            if let Some(id) = self.find_str(ty, ext) {
                change.relationships += self.delete_node(id);
                change.nodes += 1;
            }
        }
        for r in &batch.delete_rels {
            if let (Some(s), Some(t), Some(ty)) =
                (self.find_str(&r.source.1, &r.source.0), self.find_str(&r.target.1, &r.target.0), self.strings.get(&r.ty))
            {
                if self.remove_edge(s, ty, t) {
                    change.relationships += 1;
                }
            }
        }
        for (ext, ty, names) in &batch.delete_props {
            if let Some(id) = self.find_str(ty, ext) {
                let syms: Vec<Sym> = names.iter().filter_map(|n| self.strings.get(n)).collect();
                if let Some(node) = self.nodes.get_mut(id as usize) {
                    node.props.retain(|p| !syms.contains(&p.name));
                    change.nodes += 1;
                }
            }
        }
        self.out.maybe_compact(self.nodes.len());
        self.inc.maybe_compact(self.nodes.len());
        self.version += 1;
        change
    }

    /// Validate a batch against the current store (plus the batch's own nodes) without changing it.
    pub(crate) fn check(&self, batch: &Batch) -> crate::error::Result<()> {
        let mut new_nodes: FxHashSet<(&str, &str)> = FxHashSet::default();
        for n in &batch.upsert_nodes {
            new_nodes.insert((n.ty.as_str(), n.ext.as_str()));
        }
        let exists = |ext: &str, ty: &str| new_nodes.contains(&(ty, ext)) || self.find_str(ty, ext).is_some();
        for (i, r) in batch.upsert_rels.iter().enumerate() {
            for (end, (ext, ty)) in [("source", &r.source), ("target", &r.target)] {
                if !exists(ext, ty) {
                    return Err(crate::error::Error::new(
                        crate::error::Code::GraphUnknownNode,
                        format!("relationship {end} `{ty}`/`{ext}` is not in the graph"),
                    )
                    .at_path(format!("{}[{i}].{end}", batch.rel_key)));
                }
            }
        }
        Ok(())
    }

    fn make_property(&mut self, p: &capture::PropIn) -> Property {
        Property { name: self.strings.intern(&p.name), value: p.value.clone(), metadata: p.metadata.clone().map(Box::new) }
    }

    fn upsert_node(&mut self, n: &capture::NodeIn) {
        let ty = self.strings.intern(&n.ty);
        let ext = self.strings.intern(&n.ext);
        let labels: Vec<Sym> = n.labels.iter().map(|l| self.strings.intern(l)).collect();
        let props: Vec<Property> = n.props.iter().map(|p| self.make_property(p)).collect();
        if n.identity {
            self.identity_types.insert(ty);
        }
        if let Some(id) = self.find(ty, ext) {
            let mut added_labels = Vec::new();
            if let Some(node) = self.nodes.get_mut(id as usize) {
                node.identity = n.identity;
                for l in labels {
                    if !node.labels.contains(&l) && l != ty {
                        node.labels.push(l);
                        added_labels.push(l);
                    }
                }
                // Capture upserts merge properties: named ones are replaced, others kept.
                for p in props {
                    match node.props.iter_mut().find(|q| q.name == p.name) {
                        Some(q) => *q = p,
                        None => node.props.push(p),
                    }
                }
            }
            for l in added_labels {
                self.by_label.entry(l).or_default().push(id);
            }
            return;
        }
        let mut labels = labels;
        labels.retain(|l| *l != ty);
        labels.dedup();
        let node = Node { ty, ext, identity: n.identity, alive: true, labels, props };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.nodes.get_mut(id as usize) {
                    *slot = node;
                }
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as NodeId
            }
        };
        self.index.insert(id, ext);
        self.by_label.entry(ty).or_default().push(id);
        if let Some(node) = self.nodes.get(id as usize) {
            for l in node.labels.clone() {
                self.by_label.entry(l).or_default().push(id);
            }
        }
        self.node_count += 1;
    }

    fn insert_edge(&mut self, s: NodeId, ty: Sym, t: NodeId, props: Vec<Property>) {
        if self.out.insert(s, Edge { ty, nbr: t }) {
            self.inc.insert(t, Edge { ty, nbr: s });
            self.rel_count += 1;
        }
        if props.is_empty() {
            self.rel_props.remove(&(s, ty, t));
        } else {
            self.rel_props.insert((s, ty, t), props);
        }
    }

    fn remove_edge(&mut self, s: NodeId, ty: Sym, t: NodeId) -> bool {
        if self.out.remove(s, Edge { ty, nbr: t }) {
            self.inc.remove(t, Edge { ty, nbr: s });
            self.rel_props.remove(&(s, ty, t));
            self.rel_count -= 1;
            true
        } else {
            false
        }
    }

    /// Delete a node and every relationship touching it (DETACH DELETE); returns relationships removed.
    fn delete_node(&mut self, id: NodeId) -> usize {
        let outs: Vec<Edge> = self.out.list(id).to_vec();
        let ins: Vec<Edge> = self.inc.list(id).to_vec();
        let mut removed = 0;
        for e in outs {
            removed += usize::from(self.remove_edge(id, e.ty, e.nbr));
        }
        for e in ins {
            removed += usize::from(self.remove_edge(e.nbr, e.ty, id));
        }
        if let Some(node) = self.nodes.get_mut(id as usize) {
            let ext = node.ext;
            self.index.remove(id, ext);
            node.alive = false;
            node.props = Vec::new();
            node.labels = Vec::new();
            self.free.push(id);
            self.node_count -= 1;
        }
        self.prune_label_index_if_stale();
        removed
    }

    fn prune_label_index_if_stale(&mut self) {
        let total: usize = self.by_label.values().map(Vec::len).sum();
        if total > 2 * (self.node_count + 1024) {
            let nodes = &self.nodes;
            for (label, ids) in &mut self.by_label {
                ids.sort_unstable();
                ids.dedup();
                ids.retain(|id| nodes.get(*id as usize).is_some_and(|n| n.alive && n.has_label(*label)));
            }
        }
    }

    /// Build a store in one go from already-validated parts (generators, snapshot loader):
    /// much faster than batches because adjacency is built once.
    pub fn bulk_load(&mut self, batch: &Batch) {
        let before = self.nodes.len();
        for n in &batch.upsert_nodes {
            self.upsert_node(n);
        }
        let _ = before;
        let mut out_pairs: Vec<(NodeId, Edge)> = Vec::with_capacity(batch.upsert_rels.len());
        for r in &batch.upsert_rels {
            if let (Some(s), Some(t)) = (self.find_str(&r.source.1, &r.source.0), self.find_str(&r.target.1, &r.target.0)) {
                let ty = self.intern(&r.ty);
                if !r.props.is_empty() {
                    let props: Vec<Property> = r.props.iter().map(|p| self.make_property(p)).collect();
                    self.rel_props.insert((s, ty, t), props);
                }
                out_pairs.push((s, Edge { ty, nbr: t }));
            }
        }
        self.add_edges_bulk(out_pairs);
        self.version += 1;
    }

    /// Merge many edges at once and rebuild the compact adjacency (O(E log E)).
    pub(crate) fn add_edges_bulk(&mut self, mut pairs: Vec<(NodeId, Edge)>) {
        let n = self.nodes.len();
        for id in 0..n as NodeId {
            for e in self.out.list(id) {
                pairs.push((id, *e));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let inc: Vec<(NodeId, Edge)> = pairs.iter().map(|(s, e)| (e.nbr, Edge { ty: e.ty, nbr: *s })).collect();
        self.rel_count = pairs.len();
        self.out = Adjacency::build(n, pairs);
        self.inc = Adjacency::build(n, inc);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn load(g: &mut Graph, json: &str) -> crate::error::Result<crate::engine::GraphChange> {
        let b = parse_batch(json, BatchKind::Upsert, &crate::engine::Limits::default())?;
        g.check(&b)?;
        Ok(g.apply(&b))
    }

    #[test]
    fn upsert_lookup_and_edges() {
        let mut g = Graph::new();
        load(&mut g, r#"{"nodes":[{"external_id":"a","type":"P","is_identity":true},{"external_id":"b","type":"C"}],
            "relationships":[{"source":{"external_id":"a","type":"P"},"target":{"external_id":"b","type":"C"},"type":"OWNS"}]}"#)
        .unwrap();
        let a = g.find_str("P", "a").unwrap();
        let b = g.find_str("C", "b").unwrap();
        let owns = g.strings.get("OWNS").unwrap();
        assert!(g.has_edge(a, owns, b));
        assert!(!g.has_edge(b, owns, a));
        assert_eq!(g.in_edges(b, owns).len(), 1);
        assert_eq!(g.relationship_count(), 1);
        // same relationship again is an upsert, not a second edge
        load(&mut g, r#"{"relationships":[{"source":{"external_id":"a","type":"P"},"target":{"external_id":"b","type":"C"},"type":"OWNS"}]}"#).unwrap();
        assert_eq!(g.relationship_count(), 1);
    }

    #[test]
    fn failing_batch_changes_nothing() {
        let mut g = Graph::new();
        load(&mut g, r#"{"nodes":[{"external_id":"a","type":"P"}]}"#).unwrap();
        let err = load(&mut g, r#"{"nodes":[{"external_id":"x","type":"P"}],"relationships":[{"source":{"external_id":"a","type":"P"},"target":{"external_id":"zz","type":"C"},"type":"OWNS"}]}"#).unwrap_err();
        assert_eq!(err.code(), crate::error::Code::GraphUnknownNode);
        assert_eq!(err.location().path.as_deref(), Some("relationships[0].target"));
        assert!(g.find_str("P", "x").is_none());
        assert_eq!(g.node_count(), 1);
    }

    #[test]
    fn delete_detaches_and_slot_is_reused() {
        let mut g = Graph::new();
        load(&mut g, r#"{"nodes":[{"external_id":"a","type":"P"},{"external_id":"b","type":"C"}],
            "relationships":[{"source":{"external_id":"a","type":"P"},"target":{"external_id":"b","type":"C"},"type":"OWNS"}]}"#).unwrap();
        let b = parse_batch(r#"{"nodes":[{"external_id":"b","type":"C"}]}"#, BatchKind::DeleteNodes, &crate::engine::Limits::default()).unwrap();
        g.apply(&b);
        assert_eq!(g.relationship_count(), 0);
        let a = g.find_str("P", "a").unwrap();
        assert!(g.all_out(a).is_empty());
        let cap = g.capacity();
        load(&mut g, r#"{"nodes":[{"external_id":"c","type":"C"}]}"#).unwrap();
        assert_eq!(g.capacity(), cap);
    }
}
