// Decision benchmark (issue 3, item 5; token issue: verification cost), in ONE process on
// the same generated graph: persons N owning 1-3 laptops each (fixed seed).
//   node bench/decisions.mjs [sizes=1000,100000,1000000] [--ops=200000] [--cedar=inline|child|off]
// Prints per-decision p50/p99 (ns, and the ratio to the Map floor) for:
//   - a JS Map<string,Set<string>> doing the same ownership (+ claim) check: the JS floor;
//   - pdp.evaluate (id-only fast path), pdp.evaluate with claims (JSON path),
//     pdp.evaluations batches of 100 (per decision);
//   - pdp.evaluate with a signed token (ES256, EdDSA; minted with node:crypto and verified by
//     the engine against its JWKS), uncached (more distinct tokens than the per-engine cache
//     holds) and cached (a few tokens reused);
//   - @cedar-policy/cedar-wasm (devDependency, pinned) on the same policy in Cedar, with the
//     per-request entity slice (principal + resource with its `owner`) built per call:
//     statefulIsAuthorized (policies preparsed once) and isAuthorized (policy text per call).
// and checks that Cedar, the package and the Map give the same answers on a sample.
// Also: load time (JSON batches, binary snapshot), wasm memory, the .wasm sizes.
//
// --cedar=child runs the Cedar part in a child process started with
// --no-turbo-inline-js-wasm-calls (Node 20's V8 can abort with a deoptimizer fatal error in
// hot JS->wasm loops into cedar-wasm); it regenerates the same graph from the same seed.
// The default (inline) keeps everything in one process.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const args = process.argv.slice(2);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const sizes = (args.find((a) => !a.startsWith("--")) ?? "1000,100000,1000000").split(",").map(Number);
const OPS = Number(opt("ops", 200_000));
const CEDAR = opt("cedar", "inline");
const CHILD = opt("cedar-child", null); // internal: this process is the Cedar child for size N

function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The graph (Capture batches, unless `batches` is false), the Map floor and the owner index. */
function generate(n, batchesToo = true) {
  const rand = rng(42);
  const owns = new Map();
  const ownerOf = new Map();
  const laptops = [];
  const batches = [];
  const CHUNK = 50_000;
  for (let start = 0; start < n; start += CHUNK) {
    const nodes = [];
    const relationships = [];
    for (let p = start; p < Math.min(n, start + CHUNK); p++) {
      const pid = `p${p}`;
      if (batchesToo) nodes.push({ external_id: pid, type: "Person", is_identity: true });
      const set = new Set();
      const k = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < k; i++) {
        const lid = `l${p}-${i}`;
        if (batchesToo) {
          nodes.push({ external_id: lid, type: "Laptop" });
          relationships.push({ type: "OWNS", source: { external_id: pid, type: "Person" }, target: { external_id: lid, type: "Laptop" } });
        }
        set.add(lid);
        ownerOf.set(lid, pid);
        laptops.push(lid);
      }
      owns.set(pid, set);
    }
    if (batchesToo) batches.push({ nodes, relationships });
  }
  return { batches, owns, ownerOf, laptops };
}

/** 4096 requests: half for an owned laptop, half for a random one (fixed seed). */
function requests(n, owns, laptops) {
  const rand = rng(7);
  return Array.from({ length: 4096 }, () => {
    const p = `p${Math.floor(rand() * n)}`;
    const own = [...owns.get(p)];
    const lid = rand() < 0.5 ? own[Math.floor(rand() * own.length)] : laptops[Math.floor(rand() * laptops.length)];
    return { subject: { type: "Person", id: p }, action: { name: "CAN_USE" }, resource: { type: "Laptop", id: lid } };
  });
}

const policies = [
  { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["CAN_USE"], resource: { type: "Laptop" },
    condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)" } },
  { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["CAN_SERVICE"], resource: { type: "Laptop" },
    condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)",
      filter: { attribute: "$token.acr", operator: "=", value: "mfa", advice: { error: "insufficient_user_authentication", acr_values: "mfa" } } } },
];

// The same policies in Cedar. Ownership is the laptop's `owner` attribute (the natural Cedar
// model of a to-one relationship); the verified token's claims go in `context.token`.
const CEDAR_POLICIES = `
permit (principal is Person, action == Action::"CAN_USE", resource is Laptop)
when { resource.owner == principal };
permit (principal is Person, action == Action::"CAN_SERVICE", resource is Laptop)
when { resource.owner == principal && context has token && context.token has acr && context.token.acr == "mfa" };
`;

/** The agreement sample: the first 1000 requests as CAN_USE, CAN_SERVICE+mfa, CAN_SERVICE+pwd. */
function sample(reqs) {
  const out = [];
  for (const r of reqs.slice(0, 1000)) {
    out.push({ r, acr: null });
    for (const acr of ["mfa", "pwd"]) out.push({ r: { ...r, action: { name: "CAN_SERVICE" } }, acr });
  }
  return out;
}

const hr = () => process.hrtime.bigint();
const BLOCK = 100; // time blocks of 100 decisions: single ops are below the timer's resolution

/** p50/p99 over blocks of BLOCK calls of f, in ns per decision (`per` decisions per call). */
function measure(label, calls, f, per = 1) {
  const block = Math.max(1, Math.round(BLOCK / per));
  // warm-up: up to 20000 calls or about half a second, whichever comes first
  const until = performance.now() + 500;
  for (let i = 0; i < Math.min(calls, 20000) && (i < 100 || (i & 63) !== 0 || performance.now() < until); i++) f(i);
  const blocks = Math.max(1, Math.floor(calls / block));
  const t = new Float64Array(blocks);
  let sink = 0;
  for (let b = 0, i = 0; b < blocks; b++) {
    const a = hr();
    for (let k = 0; k < block; k++, i++) sink += f(i) ? 1 : 0;
    t[b] = Number(hr() - a) / (block * per);
  }
  t.sort();
  return { label, p50: t[blocks >> 1], p99: t[Math.floor(blocks * 0.99)], sink };
}

/** The Cedar part for one size: timings and the sample's decisions as a "0101…" string. */
function cedarBench(reqs, ownerOf) {
  const cedar = createRequire(import.meta.url)("@cedar-policy/cedar-wasm/nodejs");
  const parsed = cedar.preparsePolicySet("kbac", { staticPolicies: CEDAR_POLICIES });
  if (parsed.type !== "success") throw new Error(`cedar: ${JSON.stringify(parsed)}`);
  const slice = (r) => [
    { uid: { type: "Person", id: r.subject.id }, attrs: {}, parents: [] },
    { uid: { type: "Laptop", id: r.resource.id }, attrs: { owner: { __entity: { type: "Person", id: ownerOf.get(r.resource.id) } } }, parents: [] },
  ];
  const call = (r, acr) => ({
    principal: { type: "Person", id: r.subject.id },
    action: { type: "Action", id: r.action.name },
    resource: { type: "Laptop", id: r.resource.id },
    context: acr === null ? {} : { token: { sub: r.subject.id, acr } },
    entities: slice(r),
  });
  const allow = (a) => {
    if (a.type !== "success") throw new Error(`cedar: ${JSON.stringify(a.errors)}`);
    return a.response.decision === "allow";
  };
  const stateful = (r, acr) => allow(cedar.statefulIsAuthorized({ ...call(r, acr), preparsedPolicySetId: "kbac" }));
  const decisions = sample(reqs).map(({ r, acr }) => (stateful(r, acr) ? "1" : "0")).join("");
  // the text interface must agree with the preparsed one
  for (const { r, acr } of sample(reqs).slice(0, 300)) {
    if (allow(cedar.isAuthorized({ ...call(r, acr), policies: { staticPolicies: CEDAR_POLICIES } })) !== stateful(r, acr)) throw new Error("cedar isAuthorized disagrees with statefulIsAuthorized");
  }
  const service = reqs.map((r) => ({ ...r, action: { name: "CAN_SERVICE" } }));
  const M = reqs.length - 1;
  const rows = [
    measure("cedar statefulIsAuthorized (ownership)", Math.min(OPS / 10, 20_000), (i) => stateful(reqs[i & M], null)),
    measure("cedar statefulIsAuthorized (ownership + acr)", Math.min(OPS / 10, 20_000), (i) => stateful(service[i & M], "mfa")),
    measure("cedar isAuthorized, policy text (own. + acr)", Math.min(OPS / 40, 5_000), (i) =>
      allow(cedar.isAuthorized({ ...call(service[i & M], "mfa"), policies: { staticPolicies: CEDAR_POLICIES } }))),
  ];
  return { rows, decisions, version: cedar.getCedarVersion() };
}

if (CHILD !== null) {
  // Cedar child: same graph and requests from the same seeds; answer on stdout as JSON.
  const n = Number(CHILD);
  const { owns, ownerOf, laptops } = generate(n, false);
  process.stdout.write(JSON.stringify(cedarBench(requests(n, owns, laptops), ownerOf)));
  process.exit(0);
}

function cedarInChild(n) {
  const flags = ["--no-turbo-inline-js-wasm-calls", ...process.execArgv.filter((a) => a.startsWith("--max-old-space-size"))];
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), `--cedar-child=${n}`, `--ops=${OPS}`], {
    stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20, encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`cedar child exited with ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout);
}

// ----- tokens: ES256 and EdDSA keys, JWTs minted with node:crypto ------------------------

const ISS = "https://as.example";
const AUD = "kbac-bench";
const b64u = (x) => Buffer.from(x).toString("base64url");

function signer(alg) {
  const { privateKey, publicKey } = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  const kid = `bench-${alg}`;
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg, use: "sig" };
  const mint = (claims) => {
    const input = `${b64u(JSON.stringify({ alg, kid, typ: "JWT" }))}.${b64u(JSON.stringify(claims))}`;
    const sig = alg === "ES256"
      ? sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" })
      : sign(null, Buffer.from(input), privateKey);
    return `${input}.${sig.toString("base64url")}`;
  };
  return { alg, jwk, mint };
}
const signers = [signer("ES256"), signer("EdDSA")];
const config = { token: { issuer: ISS, audience: AUD }, jwks: { keys: signers.map((s) => s.jwk) } };
const UNCACHED = 2048; // distinct tokens cycled: more than the per-engine cache holds (1024, FIFO)
const CACHED = 64; // distinct tokens cycled: all stay cached

// ----- the run -----------------------------------------------------------------------------

const { createEvaluator } = await import("kbac-wasm");
const rows = [];
const agreement = [];
let cedarVersion = null;
let cedarWhere = CEDAR;
for (const n of sizes) {
  const { batches, owns, ownerOf, laptops } = generate(n);
  const reqs = requests(n, owns, laptops);
  const service = reqs.map((r) => ({ ...r, action: { name: "CAN_SERVICE" } }));
  const claims = service.map((r) => ({ sub: r.subject.id, acr: "mfa" })); // verified claims of the subject

  // Load from JSON batches, take a snapshot, close, and run the decisions on the engine loaded
  // from the snapshot: the same state, and only one engine at a time in the wasm memory (it is
  // shared by all engines and never shrinks, so "memory" is the high-water mark so far).
  let t0 = performance.now();
  const fromJson = await createEvaluator({ graph: batches, policies, config });
  const loadJson = performance.now() - t0;
  if ("error" in fromJson) throw new Error(JSON.stringify(fromJson.error));
  const snap = fromJson.snapshot();
  fromJson.close();
  batches.length = 0;
  t0 = performance.now();
  const pdp = await createEvaluator({ snapshot: snap, config });
  const loadSnap = performance.now() - t0;
  if ("error" in pdp) throw new Error(JSON.stringify(pdp.error));
  const memory = pdp.stats().memoryBytes;

  // correctness against the Map floor
  for (const r of reqs.slice(0, 1000)) {
    const want = owns.get(r.subject.id).has(r.resource.id);
    if (pdp.evaluate(r).decision !== want) throw new Error(`mismatch for ${JSON.stringify(r)}`);
  }
  const M = reqs.length - 1;
  const mapOwns = (i) => { const r = reqs[i & M]; return owns.get(r.subject.id)?.has(r.resource.id) === true; };
  measure("warm-up", OPS, mapOwns); // the first timing after a load is disturbed by its garbage
  const res = [
    measure("Map<string,Set> (ownership)", OPS, mapOwns),
    measure("Map<string,Set> (ownership + acr claim)", OPS, (i) => { const r = reqs[i & M]; return owns.get(r.subject.id)?.has(r.resource.id) === true && claims[i & M].acr === "mfa"; }),
    measure("pdp.evaluate (id-only fast path)", OPS, (i) => pdp.evaluate(reqs[i & M]).decision),
    measure("pdp.evaluate + claims (JSON path)", Math.min(OPS, 100_000), (i) => pdp.evaluate(service[i & M], { claims: claims[i & M] }).decision),
  ];
  const batch = Array.from({ length: 64 }, (_, b) => ({ evaluations: reqs.slice(b * 64, b * 64 + 100) }));
  res.push(measure("pdp.evaluations, batch of 100 (per decision)", Math.min(OPS / 100, 5000), (i) => pdp.evaluations(batch[i & 63]).evaluations.length, 100));

  // token verification: the token's `sub` is the request's subject, `acr` satisfies CAN_SERVICE
  const iat = Math.floor(Date.now() / 1000);
  for (const s of signers) {
    const tokens = service.slice(0, UNCACHED).map((r, i) => s.mint({ iss: ISS, aud: AUD, sub: r.subject.id, acr: "mfa", iat, exp: iat + 3600, jti: `${n}-${i}` }));
    for (let i = 0; i < 200; i++) {
      const d = pdp.evaluate(service[i], { token: tokens[i] });
      if (d.decision !== owns.get(service[i].subject.id).has(service[i].resource.id)) throw new Error(`${s.alg} token: mismatch ${JSON.stringify(d)}`);
    }
    const U = UNCACHED - 1;
    const C = CACHED - 1;
    // a running index, also across the warm-up: each token comes back after UNCACHED others,
    // long after the FIFO cache dropped it, so every call verifies the signature
    let k = 200;
    res.push(measure(`pdp.evaluate + ${s.alg} token, verified (uncached)`, Math.min(OPS / 40, 5_000), () => { const j = k++ & U; return pdp.evaluate(service[j], { token: tokens[j] }).decision; }));
    res.push(measure(`pdp.evaluate + ${s.alg} token, cached`, Math.min(OPS, 100_000), (i) => pdp.evaluate(service[i & C], { token: tokens[i & C] }).decision));
  }

  // Cedar, and the agreement of the three answers on the sample
  if (CEDAR !== "off") {
    let c;
    try {
      c = CEDAR === "child" ? cedarInChild(n) : cedarBench(reqs, ownerOf);
    } catch (e) {
      if (e?.code === "MODULE_NOT_FOUND" || e?.code === "ERR_MODULE_NOT_FOUND") {
        console.log("(@cedar-policy/cedar-wasm is not installed: `cd pkg-tests && npm install`)");
        cedarWhere = "off";
      } else throw e;
    }
    if (c) {
      cedarVersion = c.version;
      res.push(...c.rows);
      const smp = sample(reqs);
      let agree = 0;
      smp.forEach(({ r, acr }, i) => {
        const ours = pdp.evaluate(r, acr === null ? undefined : { claims: { sub: r.subject.id, acr } }).decision;
        const map = owns.get(r.subject.id).has(r.resource.id) && (acr === null || acr === "mfa");
        if (ours !== map) throw new Error(`kbac disagrees with the Map on ${JSON.stringify({ r, acr })}`);
        if ((c.decisions[i] === "1") === ours) agree++;
      });
      agreement.push({ n, agree, total: smp.length, allow: [...c.decisions].filter((x) => x === "1").length });
      if (agree !== smp.length) throw new Error(`Cedar disagrees with kbac on ${smp.length - agree} of ${smp.length}`);
    }
  }

  const floor = res[0].p50;
  for (const r of res) rows.push({ n, ...r, ratio: r.p50 / floor });
  console.log(`\n${n} persons, ${laptops.length} laptops: load ${loadJson.toFixed(0)} ms (JSON batches), ${loadSnap.toFixed(0)} ms (snapshot, ${(snap.length / 1e6).toFixed(1)} MB); wasm memory ${(memory / 1048576).toFixed(1)} MiB after load`);
  console.log(`${"".padEnd(48)} ${"p50 ns".padStart(9)} ${"p99 ns".padStart(9)}  ×Map`);
  for (const r of res) console.log(`${r.label.padEnd(48)} ${r.p50.toFixed(0).padStart(9)} ${r.p99.toFixed(0).padStart(9)}  ${(r.p50 / floor).toFixed(1)}`);
  const us = (label) => (res.find((r) => r.label === label).p50 / 1000).toFixed(1);
  const fast = res.find((r) => r.label.startsWith("pdp.evaluate (id-only")).p50;
  console.log(`tokens: ${signers.map((s) => `${s.alg} ${us(`pdp.evaluate + ${s.alg} token, verified (uncached)`)} µs verified, ${us(`pdp.evaluate + ${s.alg} token, cached`)} µs cached`).join("; ")} per decision (no token: ${(fast / 1000).toFixed(1)} µs; target for the cached path: ≤ 2 µs)`);
  const a = agreement.find((x) => x.n === n);
  if (a) console.log(`Cedar agrees with kbac-wasm (and the Map) on ${a.agree}/${a.total} sampled decisions (${a.allow} allow)${cedarWhere === "child" ? "; Cedar ran in a child process with --no-turbo-inline-js-wasm-calls" : ""}`);
  pdp.close();
}

if (sizes.length > 1) {
  // summary: p50 per size (×Map)
  const labels = [...new Set(rows.map((r) => r.label))];
  console.log(`\np50 ns per decision (×Map)${" ".repeat(22)}${sizes.map((n) => String(n).padStart(20)).join("")}`);
  for (const l of labels) {
    const cells = sizes.map((n) => {
      const r = rows.find((x) => x.n === n && x.label === l);
      return (r ? `${r.p50.toFixed(0)} (${r.ratio.toFixed(1)})` : "-").padStart(20);
    });
    console.log(`${l.padEnd(48)}${cells.join("")}`);
  }
}

const sizesOf = async (label, files) => {
  for (const f of files) {
    try {
      const [spec, file] = f.split(" ");
      const b = await readFile(file ? new URL(file, import.meta.resolve(spec)) : fileURLToPath(import.meta.resolve(spec)));
      console.log(`${label}${f.split(/[ /]/).pop()}: ${b.length} bytes raw, ${zlib.gzipSync(b, { level: 9 }).length} gzip -9`);
    } catch {
      /* not built / not installed */
    }
  }
};
console.log("");
await sizesOf("", ["kbac-wasm/kbac_bg.wasm", "kbac-wasm/kbac_node.wasm"]);
if (cedarVersion) await sizesOf(`(cedar ${cedarVersion}) `, ["@cedar-policy/cedar-wasm/nodejs cedar_wasm_bg.wasm"]);
console.log(`(node ${process.version}; p50/p99 over blocks of ${BLOCK} decisions; Cedar's entity slice is built inside the timed call; token rows verify against an ES256 + EdDSA JWKS)`);
