// Which JS<->wasm crossing is fastest for a single evaluation?
//   (a) JSON strings in/out       Engine#evaluate(JSON.stringify(req)) + JSON.parse
//   (b) objects (serde-wasm-bindgen): measured slowest (2-3x (a)) and removed from the binding
//   (c) typed id-only call        Engine#evaluateIds("st\0sid\0act\0rt\0rid", now) -> 0/1/2 (+ lastResult)
//   (s) the shim's default        pdp.evaluate(req)
// on the reference scenario (alice: advice; karel with claims: allow) and on a cheap
// "no applicable policy" answer. Usage: node bench/crossing.mjs [scenario-dir]
// KBAC_PKG=/path/to/pkg/node.js selects another build (default: the package by name).
import { readFile } from "node:fs/promises";
import path from "node:path";

const mod = await import(process.env.KBAC_PKG ?? "kbac-wasm");
const { createEvaluator, Engine, initWasm } = mod;
await initWasm();
const dir = process.argv[2] ?? path.resolve(import.meta.dirname ?? ".", "../../../shared/scenarios/step-up-laptop");
const j = async (f) => JSON.parse(await readFile(path.join(dir, f), "utf8"));
const nodes = await j("nodes.json");
const rels = await j("relationships.json");
// plus a filter-less policy so that a plain `{"decision":true}` answer can be measured
const policy = [
  await j("policy.json"),
  { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["OWNS_IT"], resource: { type: "Laptop" },
    condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource)" } },
];

const engine = new Engine();
engine.loadGraph(JSON.stringify(nodes));
engine.loadGraph(JSON.stringify(rels));
engine.setPolicies(JSON.stringify(policy));
const pdp = await createEvaluator({ graph: [nodes, rels], policies: policy });

const N = Number(process.env.N ?? 200_000);
const now = 1_775_490_000;
function bench(name, f) {
  for (let i = 0; i < 20_000; i++) f(i);
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < N; i++) f(i);
    runs.push(((performance.now() - t) * 1000) / N);
  }
  runs.sort((x, y) => x - y);
  console.log(`${name.padEnd(52)} ${runs[2].toFixed(3)} µs/op (median of 5 × ${N})`);
}

const cases = {
  "allow, plain answer (karel owns it)": { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, resource: { type: "Laptop", id: "airbook-xyz" } },
  "advice (alice, no token)": await j("request.json"),
  "no applicable policy": { subject: { type: "Token", id: "alice" }, action: { name: "NOPE" }, resource: { type: "Laptop", id: "airbook-xyz" } },
  "deny, plain answer (stranger)": { subject: { type: "Person", id: "satchmo" }, action: { name: "OWNS_IT" }, resource: { type: "Laptop", id: "airbook-xyz" } },
};
for (const [label, req] of Object.entries(cases)) {
  console.log(`\n${label}: ${JSON.stringify(pdp.evaluate(req))}`);
  bench("(a) JSON strings in/out", () => JSON.parse(engine.evaluate(JSON.stringify(req), now)));
  bench("(c) ids -> code (+ lastResult JSON when not plain)", () => {
    const ids = `${req.subject.type}\0${req.subject.id}\0${req.action.name}\0${req.resource.type}\0${req.resource.id}`;
    const c = engine.evaluateIds(ids, now);
    return c === 2 ? JSON.parse(engine.lastResult()) : c;
  });
  bench("(s) shim pdp.evaluate(req)", () => pdp.evaluate(req, { now }));
  bench("(s) shim pdp.evaluate(req) as JSON text", () => pdp.evaluate(JSON.stringify(req), { now }));
}
bench("\ncrossing floor: Engine.version() (string out)", () => Engine.version());
bench("crossing floor: stats() (string out + JSON.parse)", () => JSON.parse(engine.stats()));
