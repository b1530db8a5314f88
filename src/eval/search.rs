//! The pattern matcher: backtracking over a plan's operation order with relationship
//! isomorphism per MATCH clause, trail semantics for variable length, and a visit budget.

use super::expr::Env;
use super::small::SmallVec;
use super::view::{EdgeKey, Handle};
use crate::policy::plan::{Dir, Hop, Op, Order, Plan, PropKey, Slot};
use rustc_hash::FxHashSet;

/// Sentinel for an unbound slot.
pub const UNBOUND: Handle = u32::MAX - 7;

/// What the search should do when it reaches the end of the operation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Stop at the first match (decisions).
    Exists,
    /// Record the binding of this slot and keep going (search endpoints).
    Collect(Slot),
}

pub struct Search<'e, 'a> {
    pub env: &'e Env<'a>,
    pub plan: &'e Plan,
    pub order: &'e Order,
    pub assign: SmallVec<Handle, 16>,
    used: SmallVec<(u16, EdgeKey), 16>,
    pub budget: u64,
    pub exhausted: bool,
    goal: Goal,
    pub found: Vec<Handle>,
    seen: FxHashSet<Handle>,
    /// The first full match: bindings and relationships (for `explain`).
    pub witness: Option<(Vec<Handle>, Vec<EdgeKey>)>,
    pub want_witness: bool,
}

impl<'e, 'a> Search<'e, 'a> {
    pub fn new(env: &'e Env<'a>, plan: &'e Plan, order: &'e Order, budget: u64, goal: Goal) -> Self {
        Search {
            env,
            plan,
            order,
            assign: SmallVec::filled(UNBOUND, plan.slots.len()),
            used: SmallVec::default(),
            budget,
            exhausted: false,
            goal,
            found: Vec::new(),
            seen: FxHashSet::default(),
            witness: None,
            want_witness: false,
        }
    }

    fn spend(&mut self, n: u64) -> bool {
        if self.budget < n {
            self.budget = 0;
            self.exhausted = true;
            false
        } else {
            self.budget -= n;
            true
        }
    }

    /// Node constraints of `slot` (labels and inline properties) hold for `h`.
    fn fits(&self, slot: Slot, h: Handle) -> bool {
        let Some(spec) = self.plan.slots.get(slot as usize) else { return false };
        let view = self.env.view;
        if !spec.labels.iter().all(|l| view.has_label(h, *l)) {
            return false;
        }
        if spec.props.is_empty() {
            return true;
        }
        spec.props.iter().all(|(key, e)| {
            let want = self.env.value(e, self.assign.as_slice());
            let have = match key {
                PropKey::ExternalId => view.ext_id(h).map(|s| crate::value::Value::Str(s.into())),
                PropKey::Property(name) => match view.property(h, *name) {
                    Some(p) => Some(p.value.clone()),
                    None => view.token_claim(h, *name).map(crate::value::Value::from_json),
                },
            };
            have.is_some_and(|v| crate::value::equals(&v, &want) == Some(true))
        })
    }

    fn preds_hold(&self, preds: &[u16]) -> bool {
        preds.iter().all(|p| self.plan.preds.get(*p as usize).is_some_and(|e| self.env.truth(e, self.assign.as_slice()) == Some(true)))
    }

    /// Start with the given slots bound; true when the goal stopped the search.
    pub fn start(&mut self, bound: &[(Slot, Handle)]) -> bool {
        for &(s, h) in bound {
            if !self.fits_bind(s, h) {
                return false;
            }
        }
        if !self.preds_hold(&self.order.initial_preds) {
            return false;
        }
        self.step(0)
    }

    fn fits_bind(&mut self, s: Slot, h: Handle) -> bool {
        match self.assign.as_mut_slice().get_mut(s as usize) {
            Some(a) if *a == UNBOUND || *a == h => *a = h,
            _ => return false,
        }
        self.fits(s, h)
    }

    fn bind(&mut self, s: Slot, h: Handle) {
        if let Some(a) = self.assign.as_mut_slice().get_mut(s as usize) {
            *a = h;
        }
    }

    fn bound(&self, s: Slot) -> Handle {
        self.assign.as_slice().get(s as usize).copied().unwrap_or(UNBOUND)
    }

    fn step(&mut self, i: usize) -> bool {
        let order = self.order;
        let plan = self.plan;
        let view = self.env.view;
        let Some(op) = order.ops.get(i).copied() else {
            return self.complete();
        };
        let after: &[u16] = order.after.get(i).map_or(&[], Vec::as_slice);
        match op {
            Op::Scan { slot } => self.scan(slot, i, after),
            Op::Hop { hop, from, to } => {
                let Some(h) = plan.hops.get(hop as usize) else { return false };
                let from_h = self.bound(from);
                let forward = from == h.a;
                let dir = if forward { h.dir } else { h.dir.reverse() };
                if h.var_length {
                    let to_was = self.bound(to);
                    self.var_len(h, dir, from_h, to, to_was != UNBOUND, 0, i, after)
                } else if self.bound(to) != UNBOUND {
                    let to_h = self.bound(to);
                    let types: &[_] = &h.types;
                    let clause = h.clause;
                    view.edges_between(self, from_h, to_h, dir, types, |s, key| s.use_edge(clause, key, i, after))
                } else {
                    let types: &[_] = &h.types;
                    let clause = h.clause;
                    view.edges(self, from_h, dir, types, |s, nbr, key| {
                        if !s.spend(1) {
                            return true;
                        }
                        if !s.fits(to, nbr) {
                            return false;
                        }
                        s.bind(to, nbr);
                        let r = s.use_edge(clause, key, i, after);
                        s.bind(to, UNBOUND);
                        r
                    })
                }
            }
        }
    }

    /// Take relationship `key` for this step (unless the clause already used it) and go on.
    fn use_edge(&mut self, clause: u16, key: EdgeKey, i: usize, after: &[u16]) -> bool {
        if self.exhausted || self.used.contains(&(clause, key)) {
            return self.exhausted;
        }
        self.used.push((clause, key));
        let r = self.preds_hold(after) && self.step(i + 1);
        self.used.pop();
        r || self.exhausted
    }

    #[allow(clippy::too_many_arguments)]
    fn var_len(&mut self, h: &'e Hop, dir: Dir, cur: Handle, to: Slot, to_bound: bool, depth: u32, i: usize, after: &[u16]) -> bool {
        if self.exhausted {
            return true;
        }
        if depth >= h.min {
            let ok = if to_bound { self.bound(to) == cur } else { self.fits(to, cur) };
            if ok {
                if !to_bound {
                    self.bind(to, cur);
                }
                let r = self.preds_hold(after) && self.step(i + 1);
                if !to_bound {
                    self.bind(to, UNBOUND);
                }
                if r || self.exhausted {
                    return true;
                }
            }
        }
        if depth >= h.max {
            return false;
        }
        let clause = h.clause;
        let view = self.env.view;
        view.edges(self, cur, dir, &h.types, |s, nbr, key| {
            if !s.spend(1) {
                return true;
            }
            if s.used.contains(&(clause, key)) {
                return false;
            }
            s.used.push((clause, key));
            let r = s.var_len(h, dir, nbr, to, to_bound, depth + 1, i, after);
            s.used.pop();
            r
        })
    }

    fn scan(&mut self, slot: Slot, i: usize, after: &[u16]) -> bool {
        let view = self.env.view;
        let g = view.g;
        let candidates: Vec<Handle> = match self.plan.slots.get(slot as usize).and_then(|s| s.labels.first()) {
            Some(&label) => {
                let mut v: Vec<Handle> = g.nodes_with_label(label).to_vec();
                v.sort_unstable();
                v.dedup();
                for (special, present) in [(super::view::TOKEN, view.token.is_some()), (super::view::TRANSIENT, view.transient.is_some())] {
                    if present && view.has_label(special, label) {
                        v.push(special);
                    }
                }
                v
            }
            None => {
                let mut v: Vec<Handle> = g.node_ids().collect();
                if view.token.is_some() {
                    v.push(super::view::TOKEN);
                }
                if view.transient.is_some() {
                    v.push(super::view::TRANSIENT);
                }
                v
            }
        };
        for h in candidates {
            if !self.spend(1) {
                return true;
            }
            if !self.fits(slot, h) {
                continue;
            }
            self.bind(slot, h);
            let r = self.preds_hold(after) && self.step(i + 1);
            self.bind(slot, UNBOUND);
            if r || self.exhausted {
                return true;
            }
        }
        false
    }

    fn complete(&mut self) -> bool {
        if self.want_witness && self.witness.is_none() {
            self.witness = Some((self.assign.as_slice().to_vec(), self.used.as_slice().iter().map(|(_, k)| *k).collect()));
        }
        match self.goal {
            Goal::Exists => true,
            Goal::Collect(slot) => {
                let h = self.bound(slot);
                if self.seen.insert(h) {
                    self.found.push(h);
                }
                false
            }
        }
    }
}
