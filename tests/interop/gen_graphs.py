#!/usr/bin/env python3
"""Generate the Capture-batch graphs of the AuthZEN interop scenarios.

Run once from the repository root:  python3 tests/interop/gen_graphs.py
The output (tests/interop/<scenario>/graph.json) is committed; policies.json
files are written by hand. Sources: the tables of
../shared/reference/authzen-interop.md (Todo / gateway users: no JSON data file
exists upstream) and ../shared/conformance/authzen/{search_users,search_records,
idp_records}.json (read here, never copied into the repository).

Besides writing the graphs, the script checks every expected value of the
conformance files against a direct Python reading of the graph + policies, so a
modelling mistake shows up before the engine is involved.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.normpath(os.path.join(ROOT, "..", "..", "..", "shared", "conformance", "authzen"))

# --- Todo / gateway users (authzen-interop.md §1 table) ---------------------
PEOPLE = [
    # short id, name, PID (JWT sub), e-mail, roles
    ("rick", "Rick Sanchez", "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
     "rick@the-citadel.com", ["admin", "evil_genius"]),
    ("morty", "Morty Smith", "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
     "morty@the-citadel.com", ["editor"]),
    ("summer", "Summer Smith", "CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
     "summer@the-smiths.com", ["editor"]),
    ("beth", "Beth Smith", "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
     "beth@the-smiths.com", ["viewer"]),
    ("jerry", "Jerry Smith", "CiRmZDQ2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
     "jerry@the-smiths.com", ["viewer"]),
]
ROLES = ["viewer", "editor", "admin", "evil_genius"]


def prop(name, value):
    return {"type": name, "value": value}


def node(type_, ext_id, props=None, identity=False):
    n = {"external_id": ext_id, "type": type_}
    if identity:
        n["is_identity"] = True
    if props:
        n["properties"] = [prop(k, v) for k, v in props.items()]
    return n


def rel(src_type, src_id, type_, dst_type, dst_id):
    return {
        "source": {"external_id": src_id, "type": src_type},
        "target": {"external_id": dst_id, "type": dst_type},
        "type": type_,
    }


# --- todo ---------------------------------------------------------------------
# Role hierarchy (scenario text: admin / evil_genius = editor + more, editor =
# viewer + more) and the permissions each role grants itself.
TODO_INHERITS = [("admin", "editor"), ("evil_genius", "editor"), ("editor", "viewer")]
TODO_GRANTS = {
    "editor": ["todo.create", "todo.update.own", "todo.delete.own"],
    "admin": ["todo.delete.any"],
    "evil_genius": ["todo.update.any"],
}
PERMISSIONS = sorted({p for ps in TODO_GRANTS.values() for p in ps})


def todo_graph():
    nodes, rels = [], []
    for r in ROLES:
        nodes.append(node("role", r))
    for p in PERMISSIONS:
        nodes.append(node("permission", p))
    for short, name, pid, email, roles in PEOPLE:
        nodes.append(node("person", short, {"name": name, "email": email}))
        # Two login handles per person: the PID (drafts 01/02) and the e-mail (draft 00).
        nodes.append(node("user", pid, {"id_kind": "pid"}, identity=True))
        nodes.append(node("user", email, {"id_kind": "email"}, identity=True))
        rels.append(rel("user", pid, "ACCOUNT_OF", "person", short))
        rels.append(rel("user", email, "ACCOUNT_OF", "person", short))
        for r in roles:
            rels.append(rel("person", short, "HAS_ROLE", "role", r))
    for a, b in TODO_INHERITS:
        rels.append(rel("role", a, "INHERITS", "role", b))
    for r, ps in TODO_GRANTS.items():
        for p in ps:
            rels.append(rel("role", r, "GRANTS", "permission", p))
    return {"nodes": nodes, "relationships": rels}


# --- gateway --------------------------------------------------------------------
ROUTES = ["/users/{userId}", "/todos", "/todos/{todoId}"]
# (method, route) -> roles granted (authzen-interop.md §2). "always" = every role.
GATEWAY_ACL = {
    ("GET", "/users/{userId}"): ROLES,
    ("GET", "/todos"): ROLES,
    ("POST", "/todos"): ["admin", "editor"],
    ("PUT", "/todos/{todoId}"): ["evil_genius", "editor"],
    ("DELETE", "/todos/{todoId}"): ["admin", "editor"],
}


def gateway_graph():
    nodes, rels = [], []
    for r in ROLES:
        nodes.append(node("role", r))
    for route in ROUTES:
        nodes.append(node("route", route))
    for short, name, pid, email, roles in PEOPLE:
        nodes.append(node("identity", pid, {"name": name, "email": email}, identity=True))
        for r in roles:
            rels.append(rel("identity", pid, "HAS_ROLE", "role", r))
    for (method, route), roles in GATEWAY_ACL.items():
        for r in roles:
            rels.append(rel("role", r, method, "route", route))
    return {"nodes": nodes, "relationships": rels}


# --- search / idp -----------------------------------------------------------------
def load(name):
    with open(os.path.join(CONF, name), encoding="utf-8") as f:
        return json.load(f)


def search_graph(users, records):
    nodes, rels = [], []
    depts = sorted({u["department"] for u in users} | {r["department"] for r in records})
    for d in depts:
        nodes.append(node("department", d))
    for u in users:
        nodes.append(node("user", u["id"], {"role": u["role"], "department": u["department"]},
                          identity=True))
        rels.append(rel("user", u["id"], "MEMBER_OF", "department", u["department"]))
    for r in records:
        rid = str(r["id"])
        nodes.append(node("record", rid, {"title": r["title"], "department": r["department"]}))
        rels.append(rel("record", rid, "BELONGS_TO", "department", r["department"]))
        rels.append(rel("user", r["owner"], "OWNS", "record", rid))
    return {"nodes": nodes, "relationships": rels}


def idp_graph(users, records):
    nodes, rels = [], []
    for u in users:
        nodes.append(node("user", u["id"], identity=True))
    for r in records:
        nodes.append(node("record", r["id"]))
        rels.append(rel("user", r["owner"], "OWNS", "record", r["id"]))
    return {"nodes": nodes, "relationships": rels}


def write(scenario, graph):
    d = os.path.join(ROOT, scenario)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "graph.json"), "w", encoding="utf-8") as f:
        json.dump(graph, f, indent=2, ensure_ascii=False)
        f.write("\n")


# --- self-check: a direct reading of graph + policies ------------------------------
class G:
    def __init__(self, g):
        self.nodes = {(n["type"], n["external_id"]): {p["type"]: p["value"] for p in n.get("properties", [])}
                      for n in g["nodes"]}
        self.out = {}
        for r in g["relationships"]:
            s = (r["source"]["type"], r["source"]["external_id"])
            t = (r["target"]["type"], r["target"]["external_id"])
            assert s in self.nodes and t in self.nodes, r
            self.out.setdefault(s, []).append((r["type"], t))

    def step(self, src, types):
        return [t for ty, t in self.out.get(src, []) if ty in types]


def check_todo(g):
    g = G(g)

    def person(sid):
        ps = g.step(("user", sid), {"ACCOUNT_OF"})
        return ps[0] if ps else None

    def has_perm(p, perm):
        # (person)-[:HAS_ROLE|INHERITS|GRANTS*..3]->(:permission {external_id: perm})
        frontier, seen = [p], set()
        for _ in range(3):
            nxt = []
            for n in frontier:
                nxt += g.step(n, {"HAS_ROLE", "INHERITS", "GRANTS"})
            frontier = nxt
            seen |= set(nxt)
        return ("permission", perm) in seen

    def decide(req):
        s, a, r = req["subject"], req["action"]["name"], req["resource"]
        if ("user", s["id"]) not in g.nodes:
            return False
        p = person(s["id"])
        owner = {**{k: v for k, v in r.items() if k not in ("type", "id", "properties")},
                 **r.get("properties", {})}.get("ownerID")
        own = p is not None and g.nodes[p].get("email") == owner
        if a == "can_read_user":
            return r["type"] == "user"
        if a == "can_read_todos":
            return r["type"] == "todo"
        if r["type"] != "todo" or p is None:
            return False
        if a == "can_create_todo":
            return has_perm(p, "todo.create")
        if a == "can_update_todo":
            return has_perm(p, "todo.update.any") or (has_perm(p, "todo.update.own") and own)
        if a == "can_delete_todo":
            return has_perm(p, "todo.delete.any") or (has_perm(p, "todo.delete.own") and own)
        return False

    bad = 0
    for f in ["todo_decisions.json", "todo_decisions-authorization-api-1_0-00.json",
              "todo_decisions-authorization-api-1_0-01.json", "todo_decisions-authorization-api-1_0-02.json"]:
        d = load(f)
        for c in d.get("decisions", d.get("evaluation", [])):
            if decide(c["request"]) != c["expected"]:
                bad += 1
                print("todo mismatch", f, c, file=sys.stderr)
        for c in d.get("evaluations", []):
            req = c["request"]
            got = []
            for item in req["evaluations"]:
                merged = {k: item.get(k, req.get(k)) for k in ("subject", "action", "resource")}
                got.append({"decision": decide(merged)})
            if got != c["expected"]:
                bad += 1
                print("todo batch mismatch", f, c, got, file=sys.stderr)
    return bad


def check_gateway(g):
    g = G(g)
    bad = 0
    for c in load("api-gateway_decisions.json")["evaluation"]:
        r = c["request"]
        s = ("identity", r["subject"]["id"])
        routes = {t for role in g.step(s, {"HAS_ROLE"}) for t in g.step(role, {r["action"]["name"]})}
        got = ("route", r["resource"]["id"]) in routes
        if got != c["expected"]:
            bad += 1
            print("gateway mismatch", c, file=sys.stderr)
    return bad


def search_decide(g, uid, action, rid):
    u, rec = ("user", uid), ("record", rid)
    if u not in g.nodes or rec not in g.nodes:
        return False
    owns = rec in g.step(u, {"OWNS"})
    same_dept = bool(set(g.step(u, {"MEMBER_OF"})) & set(g.step(rec, {"BELONGS_TO"})))
    manager = g.nodes[u].get("role") == "manager"
    if action == "view":
        return owns or same_dept or (manager and bool(g.step(rec, {"BELONGS_TO"})))
    if action == "edit":
        return owns or (manager and same_dept)
    if action == "delete":
        return owns
    return False


def check_search(g):
    g = G(g)
    users = sorted(i for t, i in g.nodes if t == "user")
    records = sorted(i for t, i in g.nodes if t == "record")
    bad = 0

    def same(got, exp, key):
        return sorted(got, key=key) == sorted(exp, key=key)

    tid = lambda x: (x["type"], x["id"])  # noqa: E731
    for c in load("search-subject_results.json")["evaluation"]:
        r = c["request"]
        got = [{"type": "user", "id": u} for u in users
               if search_decide(g, u, r["action"]["name"], r["resource"]["id"])]
        bad += not same(got, c["expected"]["results"], tid)
    for c in load("search-resource_results.json")["evaluation"]:
        r = c["request"]
        got = [{"type": "record", "id": x} for x in records
               if search_decide(g, r["subject"]["id"], r["action"]["name"], x)]
        bad += not same(got, c["expected"]["results"], tid)
    for c in load("search-action_results.json")["evaluation"]:
        r = c["request"]
        got = [{"name": a} for a in ["view", "edit", "delete"]
               if search_decide(g, r["subject"]["id"], a, r["resource"]["id"])]
        bad += not same(got, c["expected"]["results"], lambda x: x["name"])
    return bad


def check_idp(g):
    g = G(g)
    bad = 0
    for c in load("idp_results.json")["search"]:
        r = c["request"]
        u = ("user", r["subject"]["id"])
        got = [{"type": "record", "id": t[1]} for t in g.step(u, {"OWNS"})]
        bad += sorted(got, key=lambda x: x["id"]) != sorted(c["expected"]["results"], key=lambda x: x["id"])
    return bad


def main():
    users = load("search_users.json")
    graphs = {
        "todo": todo_graph(),
        "gateway": gateway_graph(),
        "search": search_graph(users, load("search_records.json")),
        "idp": idp_graph(users, load("idp_records.json")),
    }
    bad = (check_todo(graphs["todo"]) + check_gateway(graphs["gateway"])
           + check_search(graphs["search"]) + check_idp(graphs["idp"]))
    if bad:
        print(f"{bad} mismatches; graphs not written", file=sys.stderr)
        return 1
    for name, g in graphs.items():
        write(name, g)
        print(f"{name}: {len(g['nodes'])} nodes, {len(g['relationships'])} relationships")
    return 0


if __name__ == "__main__":
    sys.exit(main())
