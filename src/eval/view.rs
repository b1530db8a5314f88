//! The graph as one request sees it: stored nodes plus, where the request needs them, a
//! virtual token node joined by `_SAME_AS` to the identity it names and a transient
//! resource node for a resource id the graph does not hold.

use crate::graph::{Graph, Node, NodeId, Property, Sym};
use crate::policy::plan::Dir;

/// A node as seen by the matcher: stored ids, or one of the two request-local nodes.
pub type Handle = u32;
/// The virtual token node of this request.
pub const TOKEN: Handle = u32::MAX;
/// The transient resource node of this request.
pub const TRANSIENT: Handle = u32::MAX - 1;

/// A relationship identity `(source, type, target)`.
pub type EdgeKey = (Handle, Sym, Handle);

#[derive(Debug)]
pub struct VirtualToken<'a> {
    pub ty: Sym,
    pub ext: &'a str,
    pub same_as: Sym,
    /// Identity nodes whose external id is the token's subject.
    pub identities: super::small::SmallVec<NodeId, 4>,
    pub claims: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug)]
pub struct Transient<'a> {
    pub ty: Sym,
    pub ext: &'a str,
}

pub struct View<'a> {
    pub g: &'a Graph,
    pub token: Option<VirtualToken<'a>>,
    pub transient: Option<Transient<'a>>,
}

impl<'a> View<'a> {
    pub fn stored(&self, h: Handle) -> Option<&'a Node> {
        if h >= TRANSIENT {
            None
        } else {
            self.g.node(h)
        }
    }

    pub fn has_label(&self, h: Handle, label: Sym) -> bool {
        match h {
            TOKEN => self.token.as_ref().is_some_and(|t| t.ty == label),
            TRANSIENT => self.transient.as_ref().is_some_and(|t| t.ty == label),
            _ => self.stored(h).is_some_and(|n| n.has_label(label)),
        }
    }

    pub fn ext_id(&self, h: Handle) -> Option<&'a str> {
        match h {
            TOKEN => self.token.as_ref().map(|t| t.ext),
            TRANSIENT => self.transient.as_ref().map(|t| t.ext),
            _ => self.stored(h).map(|n| self.g.strings().resolve(n.ext)),
        }
    }

    pub fn property(&self, h: Handle, name: Sym) -> Option<&'a Property> {
        self.stored(h).and_then(|n| n.prop(name))
    }

    /// Claims are the virtual token node's properties.
    pub fn token_claim(&self, h: Handle, name: Sym) -> Option<&'a serde_json::Value> {
        if h != TOKEN {
            return None;
        }
        let t = self.token.as_ref()?;
        t.claims?.get(self.g.strings().resolve(name))
    }

    /// Visit the edges of `x` in direction `dir` whose type is in `types` (empty = any).
    /// `visit` returns true to stop; the result says whether it stopped.
    #[inline]
    pub fn edges<S>(&self, state: &mut S, x: Handle, dir: Dir, types: &[Sym], mut visit: impl FnMut(&mut S, Handle, EdgeKey) -> bool) -> bool {
        let g = self.g;
        if x < TRANSIENT {
            let out = matches!(dir, Dir::Out | Dir::Both);
            let inc = matches!(dir, Dir::In | Dir::Both);
            if types.is_empty() {
                if out {
                    for e in g.all_out(x) {
                        if visit(state, e.nbr, (x, e.ty, e.nbr)) {
                            return true;
                        }
                    }
                }
                if inc {
                    for e in g.all_in(x) {
                        // An undirected self-loop was already seen as outgoing.
                        if out && e.nbr == x {
                            continue;
                        }
                        if visit(state, e.nbr, (e.nbr, e.ty, x)) {
                            return true;
                        }
                    }
                }
            } else {
                for &ty in types {
                    if out {
                        for e in g.out_edges(x, ty) {
                            if visit(state, e.nbr, (x, ty, e.nbr)) {
                                return true;
                            }
                        }
                    }
                    if inc {
                        for e in g.in_edges(x, ty) {
                            if out && e.nbr == x {
                                continue;
                            }
                            if visit(state, e.nbr, (e.nbr, ty, x)) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        // `_SAME_AS` between the virtual token and its identity matches in either direction.
        if let Some(t) = &self.token {
            if types.is_empty() || types.contains(&t.same_as) {
                if x == TOKEN {
                    for &id in t.identities.as_slice() {
                        if visit(state, id, (TOKEN, t.same_as, id)) {
                            return true;
                        }
                    }
                } else if t.identities.contains(&x) && visit(state, TOKEN, (TOKEN, t.same_as, x)) {
                    return true;
                }
            }
        }
        false
    }

    /// Visit the edges between bound `a` and `b` (a check, not an expansion).
    #[inline]
    pub fn edges_between<S>(&self, state: &mut S, a: Handle, b: Handle, dir: Dir, types: &[Sym], mut visit: impl FnMut(&mut S, EdgeKey) -> bool) -> bool {
        if a < TRANSIENT && b < TRANSIENT && !types.is_empty() {
            let g = self.g;
            for &ty in types {
                if matches!(dir, Dir::Out | Dir::Both) && g.has_edge(a, ty, b) && visit(state, (a, ty, b)) {
                    return true;
                }
                if matches!(dir, Dir::In | Dir::Both) && !(dir == Dir::Both && a == b) && g.has_edge(b, ty, a) && visit(state, (b, ty, a)) {
                    return true;
                }
            }
            return false;
        }
        self.edges(state, a, dir, types, |s, nbr, key| nbr == b && visit(s, key))
    }
}
