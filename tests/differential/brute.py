"""A third opinion: brute-force evaluation of a policy AST under Neo4j semantics, in Python.

Independent of FalkorDB and of the oracle's query rewriting: it enumerates bindings
directly (relationship isomorphism per MATCH clause, trails for var-length, zero-length
hops, three-valued logic). Used by `run.py --selfcheck` to validate the FalkorDB oracle and,
on a mismatch, as a tie-breaker. Only meant for the small generated graphs.
"""
from __future__ import annotations

import re

from kgen import Graph, Policy, VAR_MAX, unparam


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def c_eq(a, b):
    """Cypher `=`: True / False / None."""
    if a is None or b is None:
        return None
    if is_num(a) and is_num(b):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        res = True
        for x, y in zip(a, b):
            r = c_eq(x, y)
            if r is False:
                return False
            if r is None:
                res = None
        return res
    return False


def c_not(a):
    return None if a is None else (not a)


def c_and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def c_or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def c_xor(a, b):
    if a is None or b is None:
        return None
    return a != b


def c_order(op, a, b):
    if a is None or b is None:
        return None
    ok = (is_num(a) and is_num(b)) or (isinstance(a, str) and isinstance(b, str)) or \
         (isinstance(a, bool) and isinstance(b, bool))
    if not ok:
        return None
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def c_in(a, lst):
    if lst is None:
        return None
    if not isinstance(lst, list):
        return None
    res = False
    for x in lst:
        r = c_eq(a, x)
        if r is True:
            return True
        if r is None:
            res = None
    return res


def evaluate(e, g: Graph, b: dict):
    k = e[0]
    if k == "and":
        return c_and(evaluate(e[1], g, b), evaluate(e[2], g, b))
    if k == "or":
        return c_or(evaluate(e[1], g, b), evaluate(e[2], g, b))
    if k == "xor":
        return c_xor(evaluate(e[1], g, b), evaluate(e[2], g, b))
    if k == "not":
        return c_not(evaluate(e[1], g, b))
    if k == "isnull":
        v = evaluate(e[1], g, b)
        return (v is not None) if e[2] else (v is None)
    if k == "prop":
        n = g.nodes[b[e[1]]]
        return n.external_id if e[2] == "external_id" else n.props.get(e[2])
    if k in ("lit", "list"):
        return unparam(e[1])
    if k == "cmp":
        op = e[1]
        x, y = evaluate(e[2], g, b), evaluate(e[3], g, b)
        if op == "=":
            return c_eq(x, y)
        if op == "<>":
            return c_not(c_eq(x, y))
        if op in ("<", "<=", ">", ">="):
            return c_order(op, x, y)
        if op == "IN":
            return c_in(x, y)
        if not (isinstance(x, str) and isinstance(y, str)):
            return None
        if op == "STARTS WITH":
            return x.startswith(y)
        if op == "ENDS WITH":
            return x.endswith(y)
        if op == "CONTAINS":
            return y in x
        if op == "=~":
            return re.fullmatch(y, x) is not None
    raise ValueError(e)


class Budget(Exception):
    pass


class Brute:
    """variant: "neo4j", or for coverage measurement the semantics of a plausible wrong
    engine: "walks" (no relationship uniqueness), "global" (uniqueness across all MATCH
    clauses), "paths" (a var-length segment never revisits a node). `budget` bounds the
    number of expansion steps (Budget is raised past it)."""

    def __init__(self, g: Graph, variant: str = "neo4j", budget: int | None = None):
        self.g = g
        self.variant = variant
        self.budget = budget
        self.steps_done = 0
        self.out = {}  # node -> [(rel idx, other)]
        self.inc = {}
        for i, (s, t, ty) in enumerate(g.rels):
            self.out.setdefault(s, []).append((i, t))
            self.inc.setdefault(t, []).append((i, s))

    def node_ok(self, idx, np_):
        n = self.g.nodes[idx]
        labels = {n.type, *n.labels}
        if any(lb not in labels for lb in np_.labels):
            return False
        for k, v in np_.props:
            actual = n.external_id if k == "external_id" else n.props.get(k)
            if c_eq(actual, unparam(v)) is not True:
                return False
        return True

    def steps(self, idx, rel):
        """(rel idx, next node) for one hop of rel from idx."""
        types = rel.types
        res = []
        if rel.direction in ("out", "both"):
            for ri, t in self.out.get(idx, []):
                if not types or self.g.rels[ri][2] in types:
                    res.append((ri, t))
        if rel.direction in ("in", "both"):
            for ri, s in self.inc.get(idx, []):
                if not types or self.g.rels[ri][2] in types:
                    if rel.direction == "both" and self.g.rels[ri][0] == self.g.rels[ri][1]:
                        continue  # an undirected self-loop is one match, already listed via `out`
                    res.append((ri, s))
        return res

    def bind_node(self, idx, np_, b):
        """-> new binding or None."""
        if not self.node_ok(idx, np_):
            return None
        if np_.var:
            if np_.var in b:
                return b if b[np_.var] == idx else None
            b = dict(b)
            b[np_.var] = idx
        return b

    def match_chain(self, cur, chain, b, used):
        if not chain:
            yield b, used
            return
        rel, np_ = chain[0]
        if rel.length is None:
            lo = hi = 1
        else:
            lo = 1 if rel.length[0] is None else rel.length[0]
            hi = VAR_MAX if rel.length[1] is None else rel.length[1]
        walks = self.variant == "walks"
        paths = self.variant == "paths" and rel.length is not None

        # trails from cur of length lo..hi, avoiding `used`
        def trails(node, depth, used_now, seen):
            if self.budget is not None:
                self.steps_done += 1
                if self.steps_done > self.budget:
                    raise Budget()
            if depth >= lo:
                yield node, used_now
            if depth == hi:
                return
            for ri, nxt in self.steps(node, rel):
                if ri in used_now and not walks:
                    continue
                if paths and nxt in seen:
                    continue
                yield from trails(nxt, depth + 1, used_now if walks else used_now | {ri}, seen | {nxt})
        for end, used2 in trails(cur, 0, used, frozenset([cur])):
            b2 = self.bind_node(end, np_, b)
            if b2 is None:
                continue
            yield from self.match_chain(end, chain[1:], b2, used2)

    def match_parts(self, parts, b, used):
        if not parts:
            yield b, used
            return
        part = parts[0]
        starts = [b[part.start.var]] if part.start.var and part.start.var in b else range(len(self.g.nodes))
        for s in starts:
            b1 = self.bind_node(s, part.start, b)
            if b1 is None:
                continue
            for b2, used2 in self.match_chain(s, part.chain, b1, used):
                yield from self.match_parts(parts[1:], b2, used2)

    def pairs(self, p: Policy):
        g = self.g
        glob = self.variant == "global"
        bindings = [({}, frozenset())]
        for c in p.clauses:
            nxt = []
            for b, used0 in bindings:
                for b2, used2 in self.match_parts(c.parts, b, used0 if glob else frozenset()):
                    if c.where is None or evaluate(c.where, g, b2) is True:
                        nxt.append((b2, used2 if glob else frozenset()))
            # only the variables (and, for "global", the used relationships) matter later
            seen = set()
            bindings = []
            for b2, used2 in nxt:
                key = (tuple(sorted(b2.items())), used2)
                if key not in seen:
                    seen.add(key)
                    bindings.append((b2, used2))
        out = set()
        for b, _ in bindings:
            if "subject" in b and "resource" in b:
                s, r = g.nodes[b["subject"]], g.nodes[b["resource"]]
                if s.type == p.subject_type and r.type == p.resource_type:
                    out.add((s.external_id, r.external_id))
        return out
