"""Seeded generator of random property graphs and KBAC policies (stdlib only).

A policy is built as a small AST (classes below) and rendered twice:
  * engine form  — what a KBAC policy says: `v.property.name`, `=~`, minimal parentheses
                   (operator precedence is part of what is tested), random keyword case;
  * oracle form  — built by oracle.py from the same AST: plain `v.name`, every node and
                   relationship named, var-length expanded, fully parenthesised.

Like-with-like: every property name has one value kind across the whole graph (int and
float count as one "number" kind), and every comparison the generator writes compares a
kind with the same kind (or with null / a missing property).  Cross-type comparisons are
left out on purpose: Neo4j, FalkorDB and Kùzu disagree there (cypher-oracles.md §6).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------- pools

NODE_TYPES = ["Person", "Team", "Doc", "Folder", "Car", "Org", "Device", "Tag"]
REL_TYPES = ["OWNS", "MEMBER_OF", "CAN_VIEW", "PARENT_OF", "KNOWS", "LINKS", "HAS"]
EXTRA_LABELS = ["Vip", "Archived", "Shared"]

# name -> kind.  kinds: str, int, float, num (int/float mixed), bool, list_str, list_int
PROP_KINDS = {
    "name": "str", "title": "str", "code": "str",
    "level": "int", "rank": "int",
    "ratio": "float", "score": "num",
    "active": "bool", "locked": "bool",
    "tags": "list_str", "codes": "list_int",
}
MISSING_PROPS = ["nope", "missing_p"]  # never stored: always null

ID_POOL = ["a", "b", "c", "d", "e", "f", "g", "h", "Bob", "bob", "é", "x-1", "n10", "n2", "日"]
STR_POOL = ["alpha", "Alpha", "alp", "beta", "bet", "al", "", "ab c", "é", "zé", "日本",
            "a😀", "Zulu", "zulu", "o'k", "a\\b", "ＡＢ"]
SUBSTR_POOL = ["al", "Al", "a", "be", "ta", "", " c", "é", "😀", "lp", "ha", "Z", "z", "日",
               "b", "pha", "'", "\\", "n", "x-"]
# Only constructs on which Java (Neo4j), JavaScript (our FalkorDB UDF, flag u) and the
# Rust regex crates agree.
REGEX_POOL = ["al.*", ".*a", "[a-c].*", "a.p(ha)?", "(alpha|beta)", ".*é", "[A-Z][a-z]+",
              ".+", "a{1,2}l.*", "ze?ta", ".", "n[0-9]+", "[^a]*", "", ".*", "bo?b",
              "[a-h]", ".😀", "(Bob|bob)", "x-[0-9]"]
INT_POOL = list(range(-2, 9))
FLOAT_POOL = [-1.5, 0.5, 1.0, 2.0, 2.5, 3.0, 7.25]
NUM_POOL = [0, 1, 1.0, 2, 2.5, 3, 3.0, -1]


def kind_family(kind: str) -> str:
    return "num" if kind in ("int", "float", "num") else kind


def rand_value(rng: random.Random, kind: str):
    if kind == "str":
        return rng.choice(STR_POOL)
    if kind == "int":
        return rng.choice(INT_POOL)
    if kind == "float":
        return rng.choice(FLOAT_POOL)
    if kind == "num":
        return rng.choice(NUM_POOL)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list_str":
        return rng.sample(["a", "b", "c", "alpha", "é"], rng.randint(0 if rng.random() < 0.1 else 1, 3))
    if kind == "list_int":
        return rng.sample([1, 2, 3, 5, 8], rng.randint(0 if rng.random() < 0.1 else 1, 3))
    raise ValueError(kind)


# ----------------------------------------------------------------------------- graph

@dataclass
class GNode:
    idx: int
    type: str
    external_id: str
    labels: list  # extra labels
    props: dict
    identity: bool = False


class Param:
    """A `$name` in the engine form; its value (from context.input_params) everywhere else."""

    def __init__(self, name: str, value):
        self.name = name
        self.value = value

    def __repr__(self):
        return f"Param({self.name!r}, {self.value!r})"


def unparam(v):
    return v.value if isinstance(v, Param) else v


@dataclass
class Graph:
    types: list
    rel_types: list
    schema: dict  # prop name -> kind
    nodes: list
    rels: list  # (src idx, dst idx, type)

    def by_type(self, t):
        return [n for n in self.nodes if n.type == t]

    def capture_batches(self, rng: random.Random | None = None):
        """Capture API batches: list of dicts to be written as --graph files."""
        def node_json(n):
            d = {"external_id": n.external_id, "type": n.type, "is_identity": n.identity,
                 "properties": [{"type": k, "value": v} for k, v in n.props.items()]}
            if n.labels:
                d["labels"] = list(n.labels)
            return d

        def rel_json(r):
            s, t, ty = r
            a, b = self.nodes[s], self.nodes[t]
            return {"source": {"external_id": a.external_id, "type": a.type},
                    "target": {"external_id": b.external_id, "type": b.type}, "type": ty}
        nodes = [node_json(n) for n in self.nodes]
        rels = [rel_json(r) for r in self.rels]
        if rng is None or rng.random() < 0.5:
            return [{"nodes": nodes, "relationships": rels}]
        # split: nodes in one or two batches, relationships in another
        cut = rng.randint(1, len(nodes))
        out = [{"nodes": nodes[:cut]}]
        if cut < len(nodes):
            out.append({"nodes": nodes[cut:]})
        if rels:
            out.append({"relationships": rels})
        return out


def gen_graph(rng: random.Random) -> Graph:
    """Mostly sparse random graphs; 15% small and dense (parallel edges, many cycles: where
    trails and relationship uniqueness matter), 10% a long chain (trails longer than the
    engine's maxPathLength of 8)."""
    shape = rng.random()
    kind = "dense" if shape < 0.15 else ("chain" if shape < 0.25 else "sparse")
    types = rng.sample(NODE_TYPES, rng.randint(4, 6))
    rel_types = rng.sample(REL_TYPES, rng.randint(4, 6))
    if kind == "dense":
        rel_types = rel_types[:rng.randint(1, 3)]
    schema = dict(rng.sample(sorted(PROP_KINDS.items()), rng.randint(6, 10)))
    nodes: list[GNode] = []
    for t in types:
        k = rng.randint(1, 2) if kind == "dense" else rng.randint(2, 5)
        for eid in rng.sample(ID_POOL, k):
            labels = []
            if rng.random() < 0.2:
                labels.append(rng.choice(EXTRA_LABELS))
            if rng.random() < 0.07:  # a node carrying another type's name as extra label
                other = rng.choice([x for x in types if x != t])
                labels.append(other)
            props = {}
            for name, kind_ in schema.items():
                if rng.random() < 0.65:
                    props[name] = rand_value(rng, kind_)
            nodes.append(GNode(len(nodes), t, eid, labels, props, t == "Person" or rng.random() < 0.25))
    n = len(nodes)
    rels = set()
    if kind == "chain":
        order = list(range(n))
        rng.shuffle(order)
        for a, b in zip(order, order[1:]):
            if rng.random() < 0.5:
                a, b = b, a
            rels.add((a, b, rng.choice(rel_types[:2])))
        m = len(rels) + rng.randint(0, 3)
    elif kind == "dense":
        m = rng.randint(3 * n, 4 * n)
    else:
        m = rng.randint(n, int(2.5 * n))
    tries = 0
    while len(rels) < m and tries < 20 * m:
        tries += 1
        s = rng.randrange(n)
        t = s if rng.random() < 0.07 else rng.randrange(n)
        ty = rng.choice(rel_types)
        rels.add((s, t, ty))
    rels = sorted(rels)
    rng.shuffle(rels)
    return Graph(types, rel_types, schema, nodes, rels)


# ----------------------------------------------------------------------------- policy AST

@dataclass
class NodeP:
    var: str | None = None
    labels: list = field(default_factory=list)
    props: list = field(default_factory=list)  # [(key, value)] key "external_id" or a prop name


@dataclass
class RelP:
    types: list
    direction: str  # "out" (->), "in" (<-), "both" (-)
    length: tuple | None = None  # None = one hop; (min|None, max|None) as written


@dataclass
class Part:
    start: NodeP
    chain: list  # [(RelP, NodeP)]


@dataclass
class Clause:
    parts: list
    where: object = None  # Expr


# Expr nodes: tuples
#   ("and"|"or"|"xor", a, b) ("not", a) ("cmp", op, l, r) ("isnull", e, negated)
#   ("prop", var, name)  name "external_id" = the node's external id
#   ("lit", value)  value: None/bool/int/float/str   ("list", [values])


@dataclass
class Policy:
    clauses: list
    subject_type: str
    resource_type: str
    with_tail: bool = False
    features: set = field(default_factory=set)
    params: dict = field(default_factory=dict)  # name -> value (context.input_params)
    version: str = "3.0-kbac"


# ----------------------------------------------------------------------------- rendering (engine)

def lit_str(v) -> str:
    if isinstance(v, Param):
        return lit_str(v.value)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, list):
        return "[" + ", ".join(lit_str(x) for x in v) + "]"
    raise TypeError(v)


PREC = {"or": 1, "xor": 2, "and": 3, "not": 4, "cmp": 5, "isnull": 5}


class Style:
    """Surface variation of the engine form (keyword case, redundant parentheses)."""

    def __init__(self, rng: random.Random, kw_case: bool, extra_parens: float, lexical: bool = False):
        self.rng = rng
        self.kw_case = kw_case
        self.extra_parens = extra_parens
        # lexical variety: double quotes, \u escapes, comments, relationship variables
        self.lexical = lexical
        self.rel_counter = 0

    def lit(self, v) -> str:
        if isinstance(v, Param):
            return "$" + v.name
        if not self.lexical:
            return lit_str(v)
        if isinstance(v, list):
            return "[" + ", ".join(self.lit(x) for x in v) + "]"
        if not isinstance(v, str):
            return lit_str(v)
        q = '"' if self.rng.random() < 0.4 else "'"
        esc = self.rng.random() < 0.5
        out = []
        for ch in v:
            if ch == "\\" or ch == q:
                out.append("\\" + ch)
            elif esc and ord(ch) > 127:
                cp = ord(ch)
                if cp > 0xFFFF:  # surrogate pair, as Java / Neo4j read it
                    cp -= 0x10000
                    out.append("\\u%04X\\u%04X" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
                else:
                    out.append("\\u%04x" % cp)
            else:
                out.append(ch)
        return q + "".join(out) + q

    def sep(self) -> str:
        """Whitespace between clauses, sometimes with a comment."""
        if not self.lexical:
            return " "
        c = self.rng.random()
        if c < 0.3:
            return " /* c */ "
        if c < 0.5:
            return " // note\n"
        return "\n  "

    def rel_var(self) -> str:
        if not self.lexical or self.rng.random() < 0.6:
            return ""
        self.rel_counter += 1
        return f"rv{self.rel_counter}"

    def kw(self, word: str) -> str:
        if not self.kw_case:
            return word
        c = self.rng.random()
        if c < 0.4:
            return word.lower()
        if c < 0.6:
            return word.capitalize()
        return word


def render_expr_engine(e, st: Style) -> str:
    def r(e, need: int) -> str:
        k = e[0]
        if k in ("and", "or", "xor"):
            p = PREC[k]
            s = f"{r(e[1], p)} {st.kw(k.upper())} {r(e[2], p)}"
        elif k == "not":
            p = PREC[k]
            s = f"{st.kw('NOT')} {r(e[1], p)}"
        elif k == "cmp":
            p = PREC[k]
            op = e[1]
            if op in ("IN", "STARTS WITH", "ENDS WITH", "CONTAINS"):
                op = st.kw(op)
            s = f"{atom(e[2])} {op} {atom(e[3])}"
        elif k == "isnull":
            p = PREC[k]
            s = f"{atom(e[1])} {st.kw('IS NOT NULL' if e[2] else 'IS NULL')}"
        else:
            return atom(e)
        if p < need or st.rng.random() < st.extra_parens:
            s = "(" + s + ")"
        return s

    def atom(e) -> str:
        if e[0] == "prop":
            return f"{e[1]}.external_id" if e[2] == "external_id" else f"{e[1]}.property.{e[2]}"
        if e[0] == "lit":
            return st.lit(e[1])
        if e[0] == "list":
            return st.lit(e[1])
        raise ValueError(e)

    return r(e, 0)


def render_len(length) -> str:
    if length is None:
        return ""
    lo, hi = length
    if lo is not None and hi is not None and lo == hi:
        return f"*{lo}"
    return "*" + ("" if lo is None else str(lo)) + (".." + str(hi) if hi is not None else ("" if lo is None else ".."))


def render_node_engine(n: NodeP, st: "Style | None" = None) -> str:
    s = n.var or ""
    for lb in n.labels:
        s += ":" + lb
    if n.props:
        lit = st.lit if st is not None else lit_str
        s += " {" + ", ".join(f"{k}: {lit(v)}" for k, v in n.props) + "}"
    return "(" + s + ")"


def render_rel_engine(r: RelP, rng: random.Random, st: "Style | None" = None) -> str:
    inner = ""
    if st is not None and r.length is None:
        inner = st.rel_var()
    if r.types:
        inner += ":" + "|".join(r.types)
    inner += render_len(r.length)
    if not inner and rng.random() < 0.5:
        body = None  # short form --> <-- --
    else:
        body = "[" + inner + "]"
    if r.direction == "out":
        return f"-{body}->" if body else "-->"
    if r.direction == "in":
        return f"<-{body}-" if body else "<--"
    return f"-{body}-" if body else "--"


def render_policy_engine(p: Policy, rng: random.Random, st: Style) -> str:
    out = []
    for c in p.clauses:
        parts = []
        for part in c.parts:
            s = render_node_engine(part.start, st)
            for rel, node in part.chain:
                s += render_rel_engine(rel, rng, st) + render_node_engine(node, st)
            parts.append(s)
        s = st.kw("MATCH") + " " + ", ".join(parts)
        if c.where is not None:
            s += " " + st.kw("WHERE") + " " + render_expr_engine(c.where, st)
        out.append(s)
    q = out[0]
    for c in out[1:]:
        q += (" " if rng.random() < 0.7 else "\n") if not st.lexical else st.sep()
        q += c
    if p.with_tail:
        q += " " + st.kw("WITH") + " subject, resource"
    return q


# ----------------------------------------------------------------------------- policy generation

class PolicyGen:
    def __init__(self, rng: random.Random, g: Graph):
        self.rng = rng
        self.g = g
        self.adj = {}  # node idx -> [(rel index, other idx, dir as seen from node)]
        for i, (s, t, ty) in enumerate(g.rels):
            self.adj.setdefault(s, []).append((i, t, "out"))
            if s != t:
                self.adj.setdefault(t, []).append((i, s, "in"))
        self.var_counter = 0
        self.features: set = set()
        self.witness = {}  # var -> GNode it was generated from (literals are often taken from it)
        self.params = {}
        self.param_prefix = "v"

    def par(self, v):
        """Sometimes turn a literal into a `$parameter` carrying the same value."""
        if v is None or self.rng.random() > 0.1:
            return v
        name = f"{self.param_prefix}_{len(self.params)}"
        self.params[name] = v
        self.features.add("param")
        return Param(name, v)

    def fresh(self):
        self.var_counter += 1
        return f"x{self.var_counter}"

    # --- pieces
    def rel_types_for(self, actual: list) -> list:
        rng = self.rng
        ts = sorted(set(actual))
        c = rng.random()
        if c < 0.05:
            self.features.add("any_type")
            return []
        if c < 0.35 or len(ts) > 1:
            extra = rng.sample(self.g.rel_types, min(len(self.g.rel_types), rng.randint(0, 2)))
            ts = sorted(set(ts) | set(extra))
        if rng.random() < 0.08:
            ts = sorted(set(ts) | {"NO_SUCH_REL"})
        if len(ts) > 1:
            self.features.add("alternation")
        rng.shuffle(ts)
        return ts

    def node_labels(self, node: GNode | None) -> list:
        rng = self.rng
        c = rng.random()
        if node is None:
            if c < 0.3:
                return [rng.choice(self.g.types)]
            return []
        if c < 0.45:
            return []
        if c < 0.85:
            return [node.type]
        if c < 0.93 and node.labels:
            self.features.add("extra_label")
            return [rng.choice(node.labels)] if rng.random() < 0.5 else [node.type, rng.choice(node.labels)]
        self.features.add("label_other")
        return [rng.choice(self.g.types + EXTRA_LABELS)]

    def inline_props(self, node: GNode | None) -> list:
        rng = self.rng
        if rng.random() > 0.12:
            return []
        self.features.add("inline_map")
        out = []
        for _ in range(rng.randint(1, 2)):
            if node is not None and rng.random() < 0.25:
                out.append(("external_id", node.external_id if rng.random() < 0.7 else rng.choice(ID_POOL)))
                continue
            name = rng.choice(sorted(self.g.schema))
            kind = self.g.schema[name]
            if node is not None and name in node.props and rng.random() < 0.7:
                v = node.props[name]
                if isinstance(v, int) and not isinstance(v, bool) and rng.random() < 0.3:
                    v = float(v)  # 1 = 1.0
            else:
                v = rand_value(rng, kind)
            out.append((name, self.par(v)))
        keys = set()
        res = []
        for k, v in out:
            if k not in keys:
                keys.add(k)
                res.append((k, v))
        return res

    def make_node(self, var, node: GNode | None, is_end=False) -> NodeP:
        labels = self.node_labels(node)
        return NodeP(var, labels, self.inline_props(node))

    def walk(self, start: int, hops: int):
        """Random trail from start: list of (rel index, next node, dir)."""
        out = []
        used = set()
        cur = start
        for _ in range(hops):
            cands = [x for x in self.adj.get(cur, []) if x[0] not in used]
            if not cands:
                break
            ri, nxt, d = self.rng.choice(cands)
            used.add(ri)
            out.append((ri, nxt, d))
            cur = nxt
        return out

    def segments_from_walk(self, steps):
        """Group a walk into segments: a single hop or a var-length run."""
        rng = self.rng
        segs = []
        i = 0
        while i < len(steps):
            if rng.random() < 0.3:
                k = rng.randint(1, min(3, len(steps) - i))
                segs.append(("var", steps[i:i + k]))
                i += k
            else:
                segs.append(("one", steps[i:i + 1]))
                i += 1
        return segs

    def var_length(self, k_actual: int):
        rng = self.rng
        self.features.add("varlen")
        c = rng.random()
        if c < 0.2:
            self.features.add("varlen_exact")
            n = k_actual if rng.random() < 0.7 else rng.randint(1, 3)
            return (n, n)
        if c < 0.45:
            self.features.add("varlen_upto")
            return (None, max(k_actual, 1) + rng.randint(0, 1))
        if c < 0.75:
            lo = rng.randint(1, max(1, k_actual))
            self.features.add("varlen_range")
            return (lo, max(lo, k_actual) + rng.randint(0, 1))
        if c < 0.93:
            self.features.add("varlen_zero")
            return (0, max(1, k_actual) + rng.randint(0, 1))
        self.features.add("varlen_unbounded")
        return (None, None) if rng.random() < 0.6 else (rng.randint(1, 2), None)

    def rel_for(self, seg) -> RelP:
        rng = self.rng
        kind, steps = seg
        actual = [self.g.rels[ri][2] for ri, _, _ in steps]
        dirs = {d for _, _, d in steps}
        c = rng.random()
        if len(dirs) > 1 or c < 0.3:
            direction = "both"
        elif c < 0.35:
            direction = "in" if "out" in dirs else "out"  # wrong way on purpose
        else:
            direction = dirs.pop()
        if direction == "both":
            self.features.add("undirected")
        elif direction == "in":
            self.features.add("incoming")
        length = self.var_length(len(steps)) if kind == "var" else None
        return RelP(self.rel_types_for(actual), direction, length)

    # --- whole policy
    def gen(self) -> Policy:
        rng = self.rng
        g = self.g
        self.features = set()
        self.var_counter = 0
        self.witness = {}
        self.params = {}
        start = rng.randrange(len(g.nodes))
        shape = rng.random()
        if shape < 0.08:
            return self.gen_cartesian()
        if shape < 0.3 and g.rels:
            return self.gen_iso()
        hops = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        steps = self.walk(start, hops)
        if not steps:
            return self.gen_cartesian()
        end = steps[-1][1]
        if rng.random() < 0.08:
            # random end node type: pattern that mostly does not match
            end_node = rng.choice(g.nodes)
        else:
            end_node = g.nodes[end]
        S = g.nodes[start].type
        R = end_node.type
        segs = self.segments_from_walk(steps)
        # node list along the walk: node before segment i and after
        seg_nodes = [start]
        for _, st in segs:
            seg_nodes.append(st[-1][1])
        nodeps = []
        names = []
        for j, ni in enumerate(seg_nodes):
            if j == 0:
                var = "subject"
            elif j == len(seg_nodes) - 1:
                var = "resource"
            else:
                var = self.fresh() if rng.random() < 0.5 else None
                if var:
                    self.features.add("named_mid")
                else:
                    self.features.add("anon_mid")
            node = end_node if j == len(seg_nodes) - 1 else g.nodes[ni]
            if var:
                self.witness[var] = node
            if var in ("subject", "resource"):
                lbl_choice = rng.random()
                if lbl_choice < 0.7:
                    labels = [node.type]
                elif lbl_choice < 0.9:
                    labels = []
                    self.features.add("endpoint_unlabeled")
                else:
                    labels = self.node_labels(node)
                np_ = NodeP(var, labels, self.inline_props(node))
            else:
                np_ = self.make_node(var, node)
            nodeps.append(np_)
            names.append(var)
        rels = [self.rel_for(s) for s in segs]
        # Split the chain into parts / clauses at named intermediates.
        mode = rng.random()
        cut_points = [j for j in range(1, len(nodeps) - 1) if names[j]]
        pieces = []  # list of Part
        if cut_points and mode < 0.4:
            cut = rng.choice(cut_points)
            a = Part(nodeps[0], list(zip(rels[:cut], nodeps[1:cut + 1])))
            b = Part(NodeP(names[cut]), list(zip(rels[cut:], nodeps[cut + 1:])))
            pieces = [a, b]
        else:
            pieces = [Part(nodeps[0], list(zip(rels, nodeps[1:])))]
        # reverse writing order of some pieces
        pieces = [self.maybe_reverse(p) for p in pieces]
        clauses = []
        if len(pieces) == 2 and rng.random() < 0.5:
            self.features.add("multi_match")
            clauses = [Clause([pieces[0]]), Clause([pieces[1]])]
            if rng.random() < 0.5:
                clauses.reverse()
        else:
            if len(pieces) == 2:
                self.features.add("comma")
            rng.shuffle(pieces)
            clauses = [Clause(pieces)]
        # extra parts: a cycle / join on named variables, or an extra constraint
        if rng.random() < 0.25:
            named = [n for n in names if n]
            a = rng.choice(named)
            wa = self.witness.get(a)
            edges = self.adj.get(wa.idx, []) if wa is not None else []
            if edges and rng.random() < 0.75:
                # a branch along an existing relationship of a's witness (usually matches)
                ri, other, d = rng.choice(edges)
                back = [v for v, w in self.witness.items() if w.idx == other]
                if back and rng.random() < 0.6:
                    bnode = NodeP(rng.choice(back))
                else:
                    bnode = NodeP(self.fresh(), self.node_labels(g.nodes[other]))
                    self.witness[bnode.var] = g.nodes[other]
                extra_rel = RelP(self.rel_types_for([g.rels[ri][2]]), d if rng.random() < 0.7 else "both",
                                 self.var_length(1) if rng.random() < 0.2 else None)
                part = Part(NodeP(a), [(extra_rel, bnode)])
            else:
                b = rng.choice(named)
                extra_rel = RelP(self.rel_types_for([rng.choice(g.rel_types)]), rng.choice(["out", "in", "both"]),
                                 self.var_length(1) if rng.random() < 0.3 else None)
                if rng.random() < 0.3:
                    mid = NodeP(self.fresh(), self.node_labels(None))
                    rel2 = RelP([rng.choice(g.rel_types)], rng.choice(["out", "in", "both"]))
                    part = Part(NodeP(a), [(extra_rel, mid), (rel2, NodeP(b))])
                else:
                    part = Part(NodeP(a), [(extra_rel, NodeP(b))])
            part = self.maybe_reverse(part)
            if rng.random() < 0.5 or len(clauses) > 1:
                tgt = rng.choice(clauses)
                tgt.parts.append(part)
                self.features.add("comma")
            else:
                clauses.append(Clause([part]))
                self.features.add("multi_match")
            self.features.add("extra_part")
        if rng.random() < 0.04:
            # a separate MATCH on resource only (observed form `MATCH (subject) MATCH (resource:Car)`)
            clauses.append(Clause([Part(NodeP("resource", [R] if rng.random() < 0.5 else []), [])]))
            self.features.add("multi_match")
        # WHERE clauses
        scope = set()
        for c in clauses:
            for part in c.parts:
                for n in [part.start] + [n for _, n in part.chain]:
                    if n.var:
                        scope.add(n.var)
            if rng.random() < (0.5 if c is clauses[-1] else 0.2):
                c.where = self.gen_where(sorted(scope), rng.randint(0, 3))
        pol = Policy(clauses, S, R, with_tail=rng.random() < 0.03)
        if pol.with_tail:
            self.features.add("with_tail")
        pol.features = set(self.features)
        return pol

    def maybe_reverse(self, p: Part) -> Part:
        if not p.chain or self.rng.random() > 0.25:
            return p
        self.features.add("reversed")
        nodes = [p.start] + [n for _, n in p.chain]
        rels = [r for r, _ in p.chain]
        flip = {"out": "in", "in": "out", "both": "both"}
        nodes.reverse()
        rels = [RelP(r.types, flip[r.direction], r.length) for r in reversed(rels)]
        return Part(nodes[0], list(zip(rels, nodes[1:])))

    def gen_iso(self) -> Policy:
        """Shapes whose answer depends on relationship uniqueness / trails: siblings through
        one shared node, bouncing over one edge, a duplicated hop, var-length on cycles."""
        rng = self.rng
        g = self.g
        s_i, t_i, ty = rng.choice(g.rels)
        if rng.random() < 0.5:
            s_i, t_i = t_i, s_i
            d_first, d_back = "in", "out"
        else:
            d_first, d_back = "out", "in"
        S = g.nodes[s_i].type
        self.witness = {"subject": g.nodes[s_i]}
        types = self.rel_types_for([ty])
        shape = rng.choice(["sibling", "bounce", "dup_part", "dup_clause", "cycle_varlen"])
        self.features.add("iso_shape_" + shape)
        mid = NodeP(self.fresh() if rng.random() < 0.5 else None, self.node_labels(g.nodes[t_i]))
        if mid.var:
            self.witness[mid.var] = g.nodes[t_i]
        subj = NodeP("subject", [S] if rng.random() < 0.8 else [])
        if shape in ("sibling", "bounce"):
            R = S if rng.random() < 0.8 else g.nodes[t_i].type
            d1 = d_first if shape == "sibling" else "both"
            d2 = d_back if shape == "sibling" else "both"
            res = NodeP("resource", [R] if rng.random() < 0.8 else [])
            clauses = [Clause([Part(subj, [(RelP(types, d1), mid), (RelP(types, d2), res)])])]
            if shape == "bounce" and rng.random() < 0.3:
                # the same with an extra hop: s-m-s-m
                clauses = [Clause([Part(subj, [(RelP(types, "both"), mid), (RelP(types, "both"), NodeP()),
                                               (RelP(types, "both"), res)])])]
        elif shape in ("dup_part", "dup_clause"):
            # resource reached through the shared node; the same hop asked for twice
            R = g.nodes[t_i].type
            res = NodeP("resource", [R] if rng.random() < 0.8 else [])
            p1 = Part(subj, [(RelP(types, d_first), res)])
            other = NodeP(self.fresh(), [])
            p2 = Part(NodeP("subject"), [(RelP(types, d_first if rng.random() < 0.7 else "both"), other)])
            if shape == "dup_part":
                clauses = [Clause([p1, p2])]
                self.features.add("comma")
            else:
                clauses = [Clause([p1]), Clause([p2])]
                self.features.add("multi_match")
        else:
            R = S if rng.random() < 0.7 else rng.choice(g.types)
            res = NodeP("resource", [R] if rng.random() < 0.8 else [])
            lo = rng.choice([1, 2, 3, 3, 4])
            hi = lo + rng.randint(0, 2)
            t2 = types if rng.random() < 0.5 else []
            self.features.add("varlen")
            clauses = [Clause([Part(subj, [(RelP(t2, rng.choice(["both", "both", d_first]), (lo, hi)), res)])])]
        last = clauses[-1]
        scope = sorted({n.var for c in clauses for pt in c.parts for n in [pt.start] + [x for _, x in pt.chain] if n.var})
        if rng.random() < 0.3:
            last.where = self.gen_where(scope, rng.randint(0, 2))
        pol = Policy(clauses, S, R)
        pol.features = set(self.features)
        return pol

    def gen_cartesian(self) -> Policy:
        rng = self.rng
        g = self.g
        S = rng.choice(g.types)
        R = rng.choice(g.types)
        self.witness = {"subject": rng.choice(g.by_type(S)), "resource": rng.choice(g.by_type(R))}
        self.features.add("cartesian")
        self.features.add("comma")
        parts = [Part(NodeP("subject", [S] if rng.random() < 0.8 else []), []),
                 Part(NodeP("resource", [R] if rng.random() < 0.8 else []), [])]
        rng.shuffle(parts)
        c = Clause(parts)
        c.where = self.gen_where(["resource", "subject"], rng.randint(0, 3))
        pol = Policy([c], S, R)
        pol.features = set(self.features)
        return pol

    # --- WHERE
    def gen_where(self, scope: list, depth: int):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.3:
            return self.gen_leaf(scope)
        c = rng.random()
        if c < 0.15:
            self.features.add("not")
            return ("not", self.gen_where(scope, depth - 1))
        op = "and" if c < 0.5 else ("or" if c < 0.85 else "xor")
        self.features.add(op)
        return (op, self.gen_where(scope, depth - 1), self.gen_where(scope, depth - 1))

    def prop_of_kind(self, fams: tuple | None):
        names = [n for n, k in self.g.schema.items() if fams is None or kind_family(k) in fams]
        return names

    def gen_leaf(self, scope: list):
        rng = self.rng
        var = rng.choice(scope)
        c = rng.random()
        schema = self.g.schema
        if c < 0.12:
            self.features.add("is_null")
            name = rng.choice(sorted(schema) + MISSING_PROPS + ["external_id"])
            return ("isnull", ("prop", var, name), rng.random() < 0.5)
        if c < 0.22:
            # external_id tests
            self.features.add("external_id")
            op = rng.choice(["=", "<>", "<", ">=", "IN", "STARTS WITH", "ENDS WITH", "CONTAINS", "=~"])
            return self.str_cmp(("prop", var, "external_id"), op, ids=True)
        if c < 0.3:
            # property vs property
            self.features.add("prop_vs_prop")
            var2 = rng.choice(scope)
            name = rng.choice(sorted(schema))
            fam = kind_family(schema[name])
            same = [n for n in schema if kind_family(schema[n]) == fam]
            name2 = rng.choice(same)
            if fam in ("str",):
                op = rng.choice(["=", "<>", "<", "<=", ">", ">=", "STARTS WITH", "ENDS WITH", "CONTAINS"])
            elif fam == "num":
                op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
            elif fam == "bool":
                op = rng.choice(["=", "<>", "=", "<>", "<", ">="])
            else:  # lists
                op = rng.choice(["=", "<>"])
            self.note_op(op)
            return ("cmp", op, ("prop", var, name), ("prop", var2, name2))
        if c < 0.36:
            self.features.add("missing_prop")
            name = rng.choice(MISSING_PROPS)
            op = rng.choice(["=", "<>", "<", ">="])
            self.note_op(op)
            return ("cmp", op, ("prop", var, name), ("lit", rand_value(rng, rng.choice(["str", "int", "bool"]))))
        if c < 0.38:
            self.features.add("null_literal")
            name = rng.choice(sorted(schema))
            op = rng.choice(["=", "<>", "<"])
            return ("cmp", op, ("prop", var, name), ("lit", None))
        strs = [n for n in sorted(schema) if schema[n] == "str"]
        name = rng.choice(strs) if strs and rng.random() < 0.35 else rng.choice(sorted(schema))
        kind = schema[name]
        fam = kind_family(kind)
        p = ("prop", var, name)
        if fam == "str":
            op = rng.choice(["=", "<>", "<", "<=", ">", ">=", "IN", "STARTS WITH", "ENDS WITH", "CONTAINS", "=~"])
            return self.str_cmp(p, op)
        if fam == "num":
            op = rng.choice(["=", "<>", "<", "<=", ">", ">=", "IN"])
            self.note_op(op)
            act = self.actual(p)
            if op == "IN":
                pool = INT_POOL + FLOAT_POOL
                lst = rng.sample(pool, rng.randint(0, 4))
                if act is not None:
                    lst.insert(rng.randint(0, len(lst)), act)
                if rng.random() < 0.1:
                    lst.insert(rng.randint(0, len(lst)), None)
                    self.features.add("in_list_null")
                return ("cmp", "IN", p, ("list", self.par(lst)))
            v = act if act is not None else rand_value(rng, rng.choice(["int", "float", "num"]))
            if act is not None and isinstance(v, int) and rng.random() < 0.3:
                v = float(v)
            if rng.random() < 0.5:
                return ("cmp", op, p, ("lit", self.par(v)))
            return ("cmp", self.flip(op), ("lit", self.par(v)), p)
        if fam == "bool":
            op = rng.choice(["=", "<>", "=", "IN", "<", ">"])
            self.note_op(op)
            if op == "IN":
                return ("cmp", "IN", p, ("list", rng.sample([True, False], rng.randint(1, 2))))
            act = self.actual(p)
            return ("cmp", op, p, ("lit", self.par(act if isinstance(act, bool) else rng.random() < 0.5)))
        # lists
        elem_kind = "str" if kind == "list_str" else "int"
        c2 = rng.random()
        act = self.actual(p)
        if c2 < 0.5:
            self.note_op("IN")
            self.features.add("in_list_prop")
            v = rng.choice(["a", "b", "c", "alpha", "z"]) if elem_kind == "str" else rng.choice([1, 2, 3, 4, 5, 8, 2.0])
            if act:
                v = rng.choice(act)
            return ("cmp", "IN", ("lit", self.par(v)), p)
        if c2 < 0.65:
            # scalar property IN list property of the same element kind
            cand = [n for n, k in schema.items() if kind_family(k) == ("str" if elem_kind == "str" else "num")]
            if cand:
                self.note_op("IN")
                self.features.add("in_list_prop")
                return ("cmp", "IN", ("prop", rng.choice(scope), rng.choice(cand)), p)
        op = rng.choice(["=", "<>"])
        self.note_op(op)
        self.features.add("list_eq")
        return ("cmp", op, p, ("list", self.par(act if isinstance(act, list) else rand_value(rng, kind))))

    def actual(self, p):
        """The witness node's value for ("prop", var, name), or None."""
        w = self.witness.get(p[1])
        if w is None or self.rng.random() < 0.4:
            return None
        if p[2] == "external_id":
            return w.external_id
        return w.props.get(p[2])

    def str_cmp(self, p, op, ids=False):
        rng = self.rng
        self.note_op(op)
        pool = ID_POOL if ids else STR_POOL
        act = self.actual(p)
        if not isinstance(act, str):
            act = None
        if op == "IN":
            lst = rng.sample(pool, rng.randint(0, 4))
            if act is not None:
                lst.insert(rng.randint(0, len(lst)), act)
            if rng.random() < 0.1:
                lst.insert(rng.randint(0, len(lst)), None)
                self.features.add("in_list_null")
            return ("cmp", "IN", p, ("list", self.par(lst)))
        if op in ("STARTS WITH", "ENDS WITH", "CONTAINS"):
            if act is not None:
                i = rng.randint(0, len(act))
                j = rng.randint(i, len(act))
                sub = act[:j] if op == "STARTS WITH" else (act[i:] if op == "ENDS WITH" else act[i:j])
                return ("cmp", op, p, ("lit", self.par(sub)))
            return ("cmp", op, p, ("lit", rng.choice(SUBSTR_POOL + (ID_POOL if ids else []))))
        if op == "=~":
            return ("cmp", op, p, ("lit", self.par(rng.choice(REGEX_POOL))))
        v = act if act is not None else rng.choice(pool)
        if rng.random() < 0.5:
            return ("cmp", op, p, ("lit", self.par(v)))
        return ("cmp", self.flip(op), ("lit", self.par(v)), p)

    @staticmethod
    def flip(op):
        return {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)

    def note_op(self, op):
        self.features.add("op " + op)


# ----------------------------------------------------------------------------- budget

VAR_MAX = 8  # the engine's default maxPathLength


def expanded_range(length):
    if length is None:
        return (1, 1)
    lo, hi = length
    lo = 1 if lo is None else lo
    hi = VAR_MAX if hi is None else hi
    return (lo, hi)


def oracle_cost(p: Policy):
    """(number of fixed-length combinations, longest expanded clause in hops)."""
    combos = 1
    longest = 0
    for c in p.clauses:
        hops = 0
        for part in c.parts:
            for rel, _ in part.chain:
                lo, hi = expanded_range(rel.length)
                combos *= max(0, hi - lo + 1)
                hops += hi
        longest = max(longest, hops)
    return combos, longest


def gen_policy(rng: random.Random, g: Graph, max_combos=40, max_hops=9, param_prefix="v") -> Policy:
    pg = PolicyGen(rng, g)
    pg.param_prefix = param_prefix
    p = None
    for _ in range(50):
        p = pg.gen()
        combos, longest = oracle_cost(p)
        if combos <= max_combos and longest <= max_hops:
            break
        p = None
    if p is None:
        pg.params = {}
        p = pg.gen_cartesian()
    p.params = dict(pg.params)
    if rng.random() < 0.1:
        p.version = "2.0-kbac"  # the subject must also be an identity node
        p.features.add("v2_identity")
    return p
