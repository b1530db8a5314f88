#!/usr/bin/env python3
"""Regenerate the committed seed corpora in fuzz/seeds/<target>/.

    python3 fuzz/make_seeds.py

Sources: the public policy corpus (../shared/corpus/kbac-policies.json), the golden cases
(tests/cases/*/), the interop scenarios (tests/interop/*/), the reference step-up scenario
(../shared/scenarios/step-up-laptop/), hand-written edge cases, and JWTs signed with the
fixed test keys in tests/fixtures/tokens/ (openssl). Seeds are named by content hash, so
re-running is idempotent; files larger than MAX_SEED bytes are skipped to keep them small.
"""
import base64
import glob
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
OUT = os.path.join(ROOT, "fuzz", "seeds")
MAX_SEED = 12_000
seeds = {t: {} for t in ["cypher_roundtrip", "policy_json", "capture_batch", "authzen_request", "jwt_verify"]}


def add(target, text):
    data = text.encode() if isinstance(text, str) else text
    if 0 < len(data) <= MAX_SEED:
        seeds[target][hashlib.sha1(data).hexdigest()[:16]] = data


def load(path):
    with open(path) as f:
        return json.load(f)


def policies_of(doc):
    """Yield policy objects from a policy document (policy, record, array, {policies:[...]})."""
    items = doc if isinstance(doc, list) else doc.get("policies") or doc.get("data") or [doc]
    for it in items:
        if not isinstance(it, dict):
            continue
        p = it.get("policy", it)
        if isinstance(p, str):
            try:
                p = json.loads(p)
            except ValueError:
                continue
        if isinstance(p, dict):
            yield p


def add_policy_doc(doc):
    add("policy_json", json.dumps(doc, separators=(",", ":")))
    for p in policies_of(doc):
        c = p.get("condition", {}).get("cypher")
        if isinstance(c, str):
            add("cypher_roundtrip", c)


# ----- policies and cypher -----------------------------------------------------------------
for entry in load(os.path.join(SHARED, "corpus", "kbac-policies.json")):
    p = entry["policy"]
    if isinstance(p, str):
        try:
            p = json.loads(p)
        except ValueError:
            add("policy_json", p)
            continue
    add_policy_doc(p)

for path in sorted(glob.glob(os.path.join(ROOT, "tests", "interop", "*", "policies.json"))):
    add_policy_doc(load(path))
for path in sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "*", "*.json"))):
    name = os.path.basename(path)
    doc = load(path)
    if "polic" in name:
        add_policy_doc(doc)
    elif "graph" in name or "nodes" in name or "relationships" in name:
        add("capture_batch", json.dumps(doc, separators=(",", ":")))
    elif "request" in name:
        for r in doc if isinstance(doc, list) else [doc]:
            add("authzen_request", json.dumps(r.get("request", r) if isinstance(r, dict) else r, separators=(",", ":")))

S = os.path.join(SHARED, "scenarios", "step-up-laptop")
add_policy_doc(load(os.path.join(S, "policy.json")))
add_policy_doc(load(os.path.join(S, "policy-record.json")))

# Records with statuses, tags, a Config-API string policy, a draft, a filter tree.
P = {"meta": {"policy_version": "2.0-kbac"}, "subject": {"type": "Person"}, "actions": ["DRIVE"],
     "resource": {"type": "Car"}, "condition": {"cypher": "MATCH (subject:Person)-[:OWNS]->(resource:Car)"}}
add("policy_json", json.dumps([
    {"id": "p1", "status": "ACTIVE", "tags": ["t"], "policy": json.dumps(P)},
    {"id": "p2", "status": "DRAFT", "policy": {"broken": True}},
    {"id": "p3", "status": "INACTIVE", "policy": P}]))
add("policy_json", json.dumps(dict(P, condition={
    "cypher": "MATCH (subject:Person)-[:OWNS*1..3]-(resource:Car) WHERE resource.property.level IN $levels",
    "filter": {"operator": "AND", "operands": [
        {"attribute": "$token.acr", "operator": "IN", "value": ["mfa", "phr"],
         "advice": {"error": "insufficient_user_authentication", "acr_values": "mfa phr"}},
        {"operator": "NOT", "operands": [{"attribute": "$auth.age", "operator": ">", "value": 300}]},
        {"attribute": "$resource.properties.level", "operator": "<=", "value": "$subject.properties.level"}]}})))

cyphers = [
    "MATCH (subject:Person)-[:OWNS|HAS*1..3]-(resource:Car) WHERE resource.property.level >= 0",
    "MATCH (subject)-[r:A*0..2 {k: 'v'}]->(x), (x)<-[:B]-(resource) WHERE NOT r IS NULL XOR x.property.n =~ '^a.*' WITH subject, resource",
    "MATCH (subject:Person) MATCH (resource:Car) WHERE subject.property.tags CONTAINS 'x' AND resource.external_id STARTS WITH 'a' OR resource.property.f ENDS WITH $p",
    "MATCH (subject)-[*]-(resource) WHERE (((subject.property.a = 1.5e3))) AND [1, 'two', true, null, -3] IS NOT NULL",
    "match (subject:`Weird Label`)<-[`r`:`REL`]-(resource) where subject.property.`odd name` <> 'it''s' and resource.property.x < -0.0",
    "MATCH (subject:Person {name: 'a', n: [1, 2]})-->(resource) WHERE $token.sub = subject.external_id",
]
for c in cyphers:
    add("cypher_roundtrip", c)

# ----- capture batches ---------------------------------------------------------------------
for path in [os.path.join(S, "nodes.json"), os.path.join(S, "relationships.json")] + sorted(
        glob.glob(os.path.join(ROOT, "tests", "interop", "*", "graph.json"))):
    add("capture_batch", json.dumps(load(path), separators=(",", ":")))
ref = lambda i, t: {"external_id": i, "type": t}
add("capture_batch", json.dumps({"nodes": [
    {"external_id": "a", "type": "Person", "is_identity": True, "labels": ["L"], "properties": [
        {"type": "level", "value": 7}, {"type": "tags", "value": ["x", 1, True]},
        {"type": "ext", "external_value": "vault"}, {"type": "m", "value": "v", "metadata": {"source": "s"}}]},
    {"external_id": "new", "type": "Car"}],
    "relationships": [{"source": ref("a", "Person"), "target": ref("new", "Car"), "type": "OWNS",
                       "properties": [{"type": "since", "value": 2020}]}]}))
add("capture_batch", json.dumps({"nodes": [ref("a", "Person"), ref("b", "Car")]}))
add("capture_batch", json.dumps({"nodes": [dict(ref("a", "Person"), property_types=["level", "name"])]}))
add("capture_batch", json.dumps({"relationships": [{"source": ref("a", "Person"), "target": ref("zz", "Car"), "type": "OWNS"}]}))
add("capture_batch", json.dumps({"relationships": [{"source": ref("b", "Person"), "target": ref("c", "Car"), "type": "HAS"}]}))

# ----- requests ----------------------------------------------------------------------------
add("authzen_request", open(os.path.join(S, "request.json")).read())
req = lambda st, s, a, rt, r, **kw: dict({"subject": {"type": st, "id": s}, "action": {"name": a},
                                          "resource": {"type": rt, "id": r}}, **kw)
R1 = req("Person", "a", "DRIVE", "Car", "b", context={"input_params": {"max": 40}, "policy_tags": ["docs"]})
add("authzen_request", json.dumps(R1))
add("authzen_request", json.dumps(req("Token", "a", "SERVICE", "Laptop", "a")))
add("authzen_request", json.dumps(req("User", "b", "USE", "Venue", "c", context={"input_params": {"max": 9}})))
add("authzen_request", json.dumps(dict(req("Person", "a", "READ", "Document", "b"),
                                       subject={"type": "Person", "id": "a", "properties": {"vip": True}})))
add("authzen_request", json.dumps({"subject": {"type": "Person", "id": "a"}, "action": {"name": "DRIVE"},
                                   "evaluations": [{"resource": {"type": "Car", "id": i}} for i in "abc"],
                                   "options": {"evaluations_semantic": "deny_on_first_deny"}}))
add("authzen_request", json.dumps({"subject": {"type": "Person", "id": "a"}, "action": {"name": "READ"},
                                   "resource": {"type": "Document"}, "page": {"limit": 1}}))
add("authzen_request", json.dumps({"subject": {"type": "Person", "id": "a"}, "action": {"name": "READ"},
                                   "resource": {"type": "Document"}, "page": {"token": "AAAA", "limit": 2}}))
add("authzen_request", json.dumps({"subject": {"type": "Person"}, "action": {"name": "DRIVE"},
                                   "resource": {"type": "Car", "id": "c"}}))
add("authzen_request", json.dumps({"subject": {"type": "Person", "id": "a"}, "resource": {"type": "Car", "id": "a"}}))
C = os.path.join(SHARED, "conformance", "authzen")
for name in ["api-gateway_decisions.json", "todo_decisions.json"]:
    for case in load(os.path.join(C, name)).get("evaluation", [])[:3]:
        add("authzen_request", json.dumps(case["request"]))

# ----- tokens --------------------------------------------------------------------------------
K = os.path.join(ROOT, "tests", "fixtures", "tokens")
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
NOW = 1_700_000_000


def openssl_sign(args, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["openssl"] + args + [f.name], check=True, capture_output=True).stdout


def der_to_raw(sig):
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r || s (32 bytes each).
    assert sig[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert sig[i] == 0x02
        n = sig[i + 1]
        out += sig[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def token(header, claims, alg):
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
    if alg == "RS256":
        sig = openssl_sign(["dgst", "-sha256", "-sign", os.path.join(K, "rsa.pem")], signing_input)
    elif alg == "ES256":
        sig = der_to_raw(openssl_sign(["dgst", "-sha256", "-sign", os.path.join(K, "p256.pem")], signing_input))
    elif alg == "EdDSA":
        sig = openssl_sign(["pkeyutl", "-sign", "-rawin", "-inkey", os.path.join(K, "ed25519.pem"), "-in"], signing_input)
    elif alg == "HS256":
        sig = hmac.new(b"0123456789abcdef0123456789abcdef", signing_input, "sha256").digest()
    else:
        sig = b""
    return signing_input.decode() + "." + b64(sig)


claims = {"sub": "alice", "exp": NOW + 3600, "iat": NOW - 10, "acr": "mfa", "aud": ["api"], "iss": "https://idp"}
if shutil.which("openssl"):
    add("jwt_verify", token({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}, claims, "RS256"))
    add("jwt_verify", token({"alg": "ES256", "kid": "ec-1"}, claims, "ES256"))
    add("jwt_verify", token({"alg": "EdDSA", "kid": "ed-1"}, dict(claims, nbf=NOW + 10), "EdDSA"))
    add("jwt_verify", token({"alg": "RS256", "kid": "rsa-1"}, dict(claims, exp=NOW - 3600), "RS256"))
add("jwt_verify", token({"alg": "HS256", "typ": "JWT"}, dict(claims, authorization={"permissions": [{"rsid": "x", "scopes": ["read"]}]}), "HS256"))
add("jwt_verify", token({"alg": "none"}, claims, "none"))
add("jwt_verify", token({"alg": "RS256", "kid": "nope", "crit": ["x"]}, claims, "none") + "AAAA")
add("jwt_verify", "a.b.c")
add("jwt_verify", "eyJhbGciOiJSUzI1NiJ9..")

# ----- write ---------------------------------------------------------------------------------
for target, files in seeds.items():
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old not in files and len(old) == 16:  # generated names only; keep hand-added seeds
            os.remove(os.path.join(d, old))
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(files)} seeds, {sum(map(len, files.values()))} bytes")
