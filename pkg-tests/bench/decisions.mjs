// Decision benchmark (issue 3, item 5; cedar-wasm comparison still to come), in ONE process
// on the same generated graph: persons N owning 1-3 laptops each (fixed seed).
//   node bench/decisions.mjs [sizes=1000,100000] [--ops=200000]
// Prints per-decision p50/p99 for: pdp.evaluate (id-only fast path), pdp.evaluate with
// claims (JSON path), pdp.evaluations batches of 100 (per decision), a JS Map<string,Set>
// doing the same ownership (+ claim) check; load time (JSON batches, binary snapshot),
// wasm memory, and the .wasm sizes.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { createEvaluator } from "kbac-wasm";

const args = process.argv.slice(2);
const sizes = (args.find((a) => !a.startsWith("--")) ?? "1000,100000").split(",").map(Number);
const OPS = Number(args.find((a) => a.startsWith("--ops="))?.slice(6) ?? 200_000);

function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(n) {
  const rand = rng(42);
  const owns = new Map();
  const laptops = [];
  const batches = [];
  const CHUNK = 50_000;
  for (let start = 0; start < n; start += CHUNK) {
    const nodes = [];
    const relationships = [];
    for (let p = start; p < Math.min(n, start + CHUNK); p++) {
      const pid = `p${p}`;
      nodes.push({ external_id: pid, type: "Person", is_identity: true });
      const set = new Set();
      const k = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < k; i++) {
        const lid = `l${p}-${i}`;
        nodes.push({ external_id: lid, type: "Laptop" });
        relationships.push({ type: "OWNS", source: { external_id: pid, type: "Person" }, target: { external_id: lid, type: "Laptop" } });
        set.add(lid);
        laptops.push(lid);
      }
      owns.set(pid, set);
    }
    batches.push({ nodes, relationships });
  }
  return { batches, owns, laptops };
}

const policies = [
  { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["CAN_USE"], resource: { type: "Laptop" },
    condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)" } },
  { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["CAN_SERVICE"], resource: { type: "Laptop" },
    condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)",
      filter: { attribute: "$token.acr", operator: "=", value: "mfa", advice: { error: "insufficient_user_authentication", acr_values: "mfa" } } } },
];

const hr = () => process.hrtime.bigint();
const BLOCK = 100; // time blocks of 100 decisions: single ops are below the timer's resolution

/** p50/p99 over blocks of BLOCK calls of f, in ns per decision (`per` decisions per call). */
function measure(label, calls, f, per = 1) {
  const block = Math.max(1, Math.round(BLOCK / per));
  for (let i = 0; i < Math.min(calls, 20000); i++) f(i);
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

const rows = [];
for (const n of sizes) {
  const { batches, owns, laptops } = generate(n);
  const rand = rng(7);
  const reqs = Array.from({ length: 4096 }, () => {
    const p = `p${Math.floor(rand() * n)}`;
    const own = [...owns.get(p)];
    const lid = rand() < 0.5 ? own[Math.floor(rand() * own.length)] : laptops[Math.floor(rand() * laptops.length)];
    return { subject: { type: "Person", id: p }, action: { name: "CAN_USE" }, resource: { type: "Laptop", id: lid } };
  });
  const service = reqs.map((r) => ({ ...r, action: { name: "CAN_SERVICE" } }));
  const claims = { sub: "x", acr: "mfa" };

  let t0 = performance.now();
  const pdp = await createEvaluator({ graph: batches, policies });
  const loadJson = performance.now() - t0;
  if ("error" in pdp) throw new Error(JSON.stringify(pdp.error));
  const snap = pdp.snapshot();
  t0 = performance.now();
  const fromSnap = await createEvaluator({ snapshot: snap });
  const loadSnap = performance.now() - t0;
  fromSnap.close?.();

  // correctness against the Map floor
  for (const r of reqs.slice(0, 1000)) {
    const want = owns.get(r.subject.id).has(r.resource.id);
    if (pdp.evaluate(r).decision !== want) throw new Error(`mismatch for ${JSON.stringify(r)}`);
  }
  const M = reqs.length - 1;
  const res = [
    measure("Map<string,Set> (ownership)", OPS, (i) => { const r = reqs[i & M]; return owns.get(r.subject.id)?.has(r.resource.id) === true; }),
    measure("Map<string,Set> (ownership + acr claim)", OPS, (i) => { const r = reqs[i & M]; return owns.get(r.subject.id)?.has(r.resource.id) === true && claims.acr === "mfa"; }),
    measure("pdp.evaluate (id-only fast path)", OPS, (i) => pdp.evaluate(reqs[i & M]).decision),
    measure("pdp.evaluate + claims (JSON path)", Math.min(OPS, 100_000), (i) => pdp.evaluate(service[i & M], { claims }).decision),
  ];
  const batch = Array.from({ length: 64 }, (_, b) => ({ evaluations: reqs.slice(b * 64, b * 64 + 100) }));
  res.push(measure("pdp.evaluations, batch of 100 (per decision)", Math.min(OPS / 100, 5000), (i) => pdp.evaluations(batch[i & 63]).evaluations.length, 100));
  const floor = res[0].p50;
  for (const r of res) rows.push({ n, ...r, ratio: r.p50 / floor });
  console.log(`\n${n} persons, ${laptops.length} laptops: load ${loadJson.toFixed(0)} ms (JSON batches), ${loadSnap.toFixed(0)} ms (snapshot, ${(snap.length / 1e6).toFixed(1)} MB); wasm memory ${(pdp.stats().memoryBytes / 1048576).toFixed(1)} MiB`);
  console.log(`${"".padEnd(48)} ${"p50 ns".padStart(9)} ${"p99 ns".padStart(9)}  ×Map`);
  for (const r of res) console.log(`${r.label.padEnd(48)} ${r.p50.toFixed(0).padStart(9)} ${r.p99.toFixed(0).padStart(9)}  ${(r.p50 / floor).toFixed(1)}`);
  pdp.close();
}

for (const f of ["kbac_bg.wasm", "kbac_node.wasm"]) {
  try {
    const b = await readFile(fileURLToPath(import.meta.resolve(`kbac-wasm/${f}`)));
    console.log(`\n${f}: ${b.length} bytes raw, ${zlib.gzipSync(b, { level: 9 }).length} gzip -9`);
  } catch {
    /* not built */
  }
}
console.log(`(node ${process.version}; p50/p99 over blocks of ${BLOCK} decisions)`);
