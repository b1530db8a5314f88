//! The compiled form of a policy condition: node slots, hops, predicates, and a
//! precomputed operation order for each way the search can start.

use crate::cypher::CmpOp;
use crate::graph::Sym;
use crate::value::Value;

/// Index of a node variable (named or anonymous) in a plan.
pub type Slot = u16;

/// Direction of a hop from its `a` end to its `b` end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Out,
    In,
    Both,
}

impl Dir {
    pub fn reverse(self) -> Dir {
        match self {
            Dir::Out => Dir::In,
            Dir::In => Dir::Out,
            Dir::Both => Dir::Both,
        }
    }
}

/// Constraints on one node slot.
#[derive(Clone, Debug, Default)]
pub struct SlotSpec {
    pub name: Option<String>,
    pub labels: Vec<Sym>,
    /// Inline `{key: expr}` constraints.
    pub props: Vec<(PropKey, CExpr)>,
}

/// What an inline map key or `v.x` path addresses.
#[derive(Clone, Debug, PartialEq)]
pub enum PropKey {
    ExternalId,
    Property(Sym),
}

/// A relationship pattern between two slots.
#[derive(Clone, Debug)]
pub struct Hop {
    pub a: Slot,
    pub b: Slot,
    /// Sorted, de-duplicated; empty = any type.
    pub types: Vec<Sym>,
    pub dir: Dir,
    pub min: u32,
    pub max: u32,
    pub var_length: bool,
    /// MATCH clause index: relationships are unique within a clause (Neo4j isomorphism).
    pub clause: u16,
}

/// One step of the search.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Follow (or, when `to` is bound, check) hop `hop` from slot `from`.
    Hop { hop: u16, from: Slot, to: Slot },
    /// Bind `slot` to every node carrying its first label (or every node).
    Scan { slot: Slot },
}

/// An execution order plus the predicates that become checkable after each step.
#[derive(Clone, Debug, Default)]
pub struct Order {
    pub ops: Vec<Op>,
    /// Predicates whose variables are all bound before the first op.
    pub initial_preds: Vec<u16>,
    /// `after[i]`: predicates checkable right after op `i`.
    pub after: Vec<Vec<u16>>,
}

/// The compiled pattern of a policy.
#[derive(Clone, Debug)]
pub struct Plan {
    pub slots: Vec<SlotSpec>,
    pub hops: Vec<Hop>,
    /// WHERE conjuncts.
    pub preds: Vec<CExpr>,
    pub subject: Slot,
    pub resource: Slot,
    /// Start with subject and resource bound (decisions).
    pub both: Order,
    /// Start with only the subject bound (resource search).
    pub from_subject: Order,
    /// Start with only the resource bound (subject search).
    pub from_resource: Order,
}

/// A compiled `$` reference.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamRef {
    /// `$token.a.b` — verified claims only.
    Token(Vec<Box<str>>),
    /// `$name.a.b` — `context.input_params.name`.
    Input(Box<str>, Vec<Box<str>>),
    /// `$now` — engine clock, epoch seconds.
    Now,
    /// `$auth.level` — index of the token's `acr` in the assurance hierarchy, -1 if absent.
    AuthLevel,
    /// `$auth.age` — seconds since `auth_time`.
    AuthAge,
    /// `$auth.scopes` — `scope` split on spaces, or `scp`.
    AuthScopes,
    SubjectExtId,
    ResourceExtId,
    SubjectType,
    ResourceType,
    /// `$subject.…`, `$resource.…`, `$action.…`, `$context.…` — request-supplied data.
    Subject(Vec<Box<str>>),
    Resource(Vec<Box<str>>),
    Action(Vec<Box<str>>),
    Context(Vec<Box<str>>),
    /// References that never resolve locally (`$ik_token.*`): always null.
    Absent,
}

/// A compiled expression (WHERE and policy filters share it).
#[derive(Clone, Debug)]
pub enum CExpr {
    Lit(Value),
    List(Vec<CExpr>),
    ExtId(Slot),
    Prop { slot: Slot, name: Sym, meta: Vec<Box<str>> },
    /// A property form that can never hold a value (misspelt path): null.
    Null,
    /// A bare node variable (compares node identity).
    Node(Slot),
    Param(ParamRef),
    /// `{"type":"datetime","value":"$param"}`: the parameter read as an instant.
    DateTime(Box<CExpr>),
    Not(Box<CExpr>),
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    Xor(Box<CExpr>, Box<CExpr>),
    Cmp { op: CmpOp, left: Box<CExpr>, right: Box<CExpr>, regex: Option<Box<regex_lite::Regex>> },
    IsNull { expr: Box<CExpr>, negated: bool },
    /// A filter leaf carrying advice (index into the policy's advice list).
    Advice { expr: Box<CExpr>, advice: u32 },
}

impl CExpr {
    /// Slots this expression reads.
    pub fn slots(&self, out: &mut Vec<Slot>) {
        match self {
            CExpr::ExtId(s) | CExpr::Node(s) | CExpr::Prop { slot: s, .. } => out.push(*s),
            CExpr::List(items) => items.iter().for_each(|e| e.slots(out)),
            CExpr::DateTime(e) | CExpr::Not(e) | CExpr::IsNull { expr: e, .. } | CExpr::Advice { expr: e, .. } => e.slots(out),
            CExpr::And(a, b) | CExpr::Or(a, b) | CExpr::Xor(a, b) | CExpr::Cmp { left: a, right: b, .. } => {
                a.slots(out);
                b.slots(out);
            }
            CExpr::Lit(_) | CExpr::Null | CExpr::Param(_) => {}
        }
    }

    /// Visit every parameter reference.
    pub fn params<'a>(&'a self, out: &mut Vec<&'a ParamRef>) {
        match self {
            CExpr::Param(p) => out.push(p),
            CExpr::List(items) => items.iter().for_each(|e| e.params(out)),
            CExpr::DateTime(e) | CExpr::Not(e) | CExpr::IsNull { expr: e, .. } | CExpr::Advice { expr: e, .. } => e.params(out),
            CExpr::And(a, b) | CExpr::Or(a, b) | CExpr::Xor(a, b) | CExpr::Cmp { left: a, right: b, .. } => {
                a.params(out);
                b.params(out);
            }
            CExpr::Lit(_) | CExpr::Null | CExpr::ExtId(_) | CExpr::Node(_) | CExpr::Prop { .. } => {}
        }
    }

    /// True if any leaf carries advice.
    pub fn has_advice(&self) -> bool {
        match self {
            CExpr::Advice { .. } => true,
            CExpr::Not(e) => e.has_advice(),
            CExpr::And(a, b) | CExpr::Or(a, b) | CExpr::Xor(a, b) => a.has_advice() || b.has_advice(),
            _ => false,
        }
    }
}
