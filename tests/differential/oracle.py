"""FalkorDB as the oracle: server lifecycle, graph loading, Neo4j-faithful query building.

Compensations (see README.md and ../../../shared/reference/cypher-oracles.md):
  1. Relationship isomorphism: FalkorDB reuses a relationship within one MATCH. Every
     relationship of the oracle query is named and, per MATCH clause, all of them are
     required pairwise distinct (`id(r1) <> id(r2)`), in a `WITH * WHERE` after the MATCH
     (inside MATCH … WHERE FalkorDB computes path relationships wrongly).
  2. Variable length: FalkorDB never revisits a node inside a var-length expansion, so it
     misses trails. Every `*m..n` is expanded into fixed-length chains, one query per
     combination of lengths, and the rows are unioned. A zero-length hop splits the
     pattern part and requires `id(left) = id(right)` (both node patterns apply to one
     node, as in Neo4j). `*` / `*m..` are capped at the engine's maxPathLength (8).
  3. `=~`: FalkorDB has no regex operator; a JavaScript UDF `rx.fullmatch(s, p)`
     (anchored `^(?:p)$`, flag `u`, null unless both sides are strings) stands in.
     The generator only writes patterns on which Java, JavaScript and Rust regexes agree.
  4. A node's type: stored as the first label and as the property `_type`; a request binds
     `subject`/`resource` by `_type` + `external_id` (a node of another type may carry the
     requested type as an extra label, and must not be picked).
  5. `count(*)` is never used: FalkorDB 4.16 miscounts some undirected patterns
     (`MATCH (x:P)-[r]-(y) RETURN count(*)` says 2 where the rows are 3).  The oracle
     returns DISTINCT (subject, resource) external-id pairs.
"""
from __future__ import annotations

import itertools
import re
import os
import shutil
import socket
import subprocess
import tempfile
import time

from kgen import Graph, Policy, expanded_range, lit_str

RX_UDF = r"""
function fullmatch(s, p) {
  if (typeof s !== 'string' || typeof p !== 'string') return null;
  return new RegExp('^(?:' + p + ')$', 'u').test(s);
}
falkor.register('fullmatch', fullmatch);
"""


class Falkor:
    """redis-server + FalkorDB module on a unix socket in a private temp dir (no TCP)."""

    def __init__(self, redis_server: str, module: str, threads: int = 1):
        self.args = (redis_server, module, threads)
        self.crashes = 0
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self):
        """After a FalkorDB crash: keep its log tail, start a fresh server."""
        self.crashes += 1
        tail = self.read_log()
        self.stop()
        self.start()
        return tail

    def start(self):
        redis_server, module, threads = self.args
        self.tmp = tempfile.mkdtemp(prefix="kbac-diff-")
        self.sock = os.path.join(self.tmp, "s")
        self.log = open(os.path.join(self.tmp, "redis.log"), "wb")
        self.proc = subprocess.Popen(
            [redis_server, "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
             "--dir", self.tmp, "--save", "", "--appendonly", "no",
             "--loadmodule", module, "THREAD_COUNT", str(threads), "OMP_THREAD_COUNT", str(threads)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self.db = None
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: " + self.read_log())
            if os.path.exists(self.sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock)
                    s.close()
                    break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("redis-server did not come up: " + self.read_log())
        from falkordb import FalkorDB  # imported late: run.py bootstraps the venv first
        self.db = FalkorDB(unix_socket_path=self.sock)
        self.db.connection.execute_command("GRAPH.UDF", "LOAD", "REPLACE", "rx", RX_UDF)

    def read_log(self) -> str:
        try:
            with open(os.path.join(self.tmp, "redis.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        try:
            self.log.close()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def graph(self, name: str):
        return self.db.select_graph(name)


# ----------------------------------------------------------------------------- loading

def create_query(g: Graph) -> str:
    parts = []
    for n in g.nodes:
        labels = ":".join([n.type] + [lb for lb in n.labels if lb != n.type])
        props = {"_type": n.type, "_i": n.idx, "external_id": n.external_id}
        props.update(n.props)
        body = ", ".join(f"{k}: {lit_str(v)}" for k, v in props.items())
        parts.append(f"(n{n.idx}:{labels} {{{body}}})")
    for i, (s, t, ty) in enumerate(g.rels):
        parts.append(f"(n{s})-[:{ty} {{_i: {i}}}]->(n{t})")
    return "CREATE " + ", ".join(parts)


def load_graph(fk: Falkor, name: str, g: Graph):
    gr = fk.graph(name)
    try:
        gr.delete()
    except Exception:
        pass
    gr = fk.graph(name)
    gr.query(create_query(g))
    return gr


# ----------------------------------------------------------------------------- query building

def render_expr_oracle(e) -> str:
    k = e[0]
    if k in ("and", "or", "xor"):
        return f"({render_expr_oracle(e[1])} {k.upper()} {render_expr_oracle(e[2])})"
    if k == "not":
        return f"(NOT {render_expr_oracle(e[1])})"
    if k == "cmp":
        op, left, right = e[1], render_expr_oracle(e[2]), render_expr_oracle(e[3])
        if op == "=~":
            return f"rx.fullmatch({left}, {right})"
        return f"({left} {op} {right})"
    if k == "isnull":
        return f"({render_expr_oracle(e[1])} {'IS NOT NULL' if e[2] else 'IS NULL'})"
    if k == "prop":
        return f"{e[1]}.{e[2]}"
    if k in ("lit", "list"):
        return lit_str(e[1])
    raise ValueError(e)


def var_rels(p: Policy):
    """The var-length relationships of a policy, in order (identity list)."""
    out = []
    for c in p.clauses:
        for part in c.parts:
            for rel, _ in part.chain:
                if rel.length is not None:
                    out.append(rel)
    return out


def oracle_queries(p: Policy) -> list:
    """One query per combination of expanded var-length lengths. Each returns DISTINCT
    (subject.external_id, resource.external_id) over all subjects of type S and resources
    of type R satisfying the pattern under Neo4j semantics."""
    vrels = var_rels(p)
    ranges = []
    for r in vrels:
        lo, hi = expanded_range(r.length)
        ranges.append(range(lo, hi + 1))
    queries = []
    for combo in itertools.product(*ranges):
        lens = {id(r): L for r, L in zip(vrels, combo)}
        queries.append(build_query(p, lens))
    return queries


def build_query(p: Policy, lens: dict) -> str:
    names = {}
    counter = itertools.count(1)

    def name_of(n):
        if n.var:
            return n.var
        if id(n) not in names:
            names[id(n)] = f"_a{next(counter)}"
        return names[id(n)]

    def node_txt(n):
        nm = name_of(n)
        labels = list(n.labels)
        if n.var == "subject":
            labels.append(p.subject_type)
        elif n.var == "resource":
            labels.append(p.resource_type)
        s = nm + "".join(":" + lb for lb in dict.fromkeys(labels))
        if n.props:
            s += " {" + ", ".join(f"{k}: {lit_str(v)}" for k, v in n.props) + "}"
        return "(" + s + ")"

    def rel_txt(rel, rname):
        inner = rname + (":" + "|".join(rel.types) if rel.types else "")
        if rel.direction == "out":
            return f"-[{inner}]->"
        if rel.direction == "in":
            return f"<-[{inner}]-"
        return f"-[{inner}]-"

    out = []
    bound = set()  # variables bound by earlier clauses
    for c in p.clauses:
        parts = []  # [(text, lone node or None)]
        rels = []
        eqs = []
        for part in c.parts:
            cur = node_txt(part.start)
            lone = [part.start]
            prev = part.start
            for rel, node in part.chain:
                L = lens.get(id(rel), 1) if rel.length is not None else 1
                if L == 0:
                    parts.append((cur, lone[0] if len(lone) == 1 else None))
                    cur = node_txt(node)
                    lone = [node]
                    eqs.append(f"id({name_of(prev)}) = id({name_of(node)})")
                else:
                    for h in range(L):
                        rname = f"_r{next(counter)}"
                        rels.append(rname)
                        tgt = node_txt(node) if h == L - 1 else f"(_m{next(counter)})"
                        cur += rel_txt(rel, rname) + tgt
                    lone.append(node)
                prev = node
            parts.append((cur, lone[0] if len(lone) == 1 else None))
        # FalkorDB 4.16 crashes on `WITH * … MATCH (a), (b)` with a and b already bound: a
        # part that is a lone, already bound node becomes predicates on that node instead.
        in_chains = set()
        for txt, lone in parts:
            if lone is None:
                in_chains |= {v for v in names_in(txt)}
        kept = []
        preds = []
        seen = set(bound) | in_chains
        for txt, lone in parts:
            if lone is not None and name_of(lone) in seen:
                preds += node_preds(lone, name_of(lone))
                continue
            if lone is not None:
                seen.add(name_of(lone))
            kept.append(txt)
        for txt, _ in parts:
            bound |= names_in(txt)
        conds = [f"id({a}) <> id({b})" for a, b in itertools.combinations(rels, 2)]
        conds += eqs + preds
        if c.where is not None:
            conds.append(render_expr_oracle(c.where))
        s = ("MATCH " + ", ".join(kept)) if kept else ""
        if conds:
            s += (" " if s else "") + "WITH * WHERE " + " AND ".join(conds)
        if s:
            out.append(s)
    out.append(f"WITH subject, resource WHERE subject._type = {lit_str(p.subject_type)} "
               f"AND resource._type = {lit_str(p.resource_type)}")
    out.append("RETURN DISTINCT subject.external_id, resource.external_id")
    return " ".join(out)


_NAME_RE = re.compile(r"\(([A-Za-z_][A-Za-z0-9_]*)")


def names_in(txt: str) -> set:
    """Node variable names in a rendered pattern part (every node of the oracle is named)."""
    return set(_NAME_RE.findall(txt))


def node_preds(n, name: str) -> list:
    out = [f"{name}:{lb}" for lb in n.labels]
    out += [f"({name}.{k} = {lit_str(v)})" for k, v in n.props]
    return out


class OracleError(Exception):
    pass


def oracle_pairs(gr, p: Policy, timeout_ms: int = 10000):
    """Set of (subject external_id, resource external_id) pairs for which the policy's
    pattern holds; raises OracleError (with the query) when FalkorDB fails."""
    pairs = set()
    for q in oracle_queries(p):
        try:
            res = gr.ro_query(q, timeout=timeout_ms)
        except Exception as ex:  # timeout, unsupported construct, ...
            raise OracleError(f"{type(ex).__name__}: {ex}\nquery: {q}") from None
        for row in res.result_set:
            pairs.add((row[0], row[1]))
    return pairs
