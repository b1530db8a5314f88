// Wasm memory stays flat: after a warm-up, 1,000,000 evaluations and 10,000 graph updates
// must not grow the linear memory (which can only grow, so any leak shows).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator } from "kbac-wasm";
import { scenario, scenarioInputs } from "./helpers.js";

const EVALUATIONS = Number(process.env.KBAC_MEMORY_EVALS ?? 1_000_000);
const UPDATES = Number(process.env.KBAC_MEMORY_UPDATES ?? 10_000);

test(`memory is flat over ${EVALUATIONS} evaluations and ${UPDATES} graph updates`, { timeout: 600_000 }, async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  const request = await scenario("request.json");
  const karel = { ...request, subject: { type: "Token", id: "karel" } };
  const withContext = { ...request, context: { input_params: { x: 1 } } };
  const claims = { sub: "alice", exp: 1_775_490_150 };
  const now = 1_775_490_000;

  let k = 0;
  const update = () => {
    const step = k % 4;
    const i = Math.floor(k / 4) % 50;
    k++;
    let r;
    if (step === 0) {
      r = pdp.upsertNodes({ nodes: [{ external_id: `dev-${i}`, type: "Laptop", properties: [{ type: "serial", value: `s-${k}` }] }] });
    } else if (step === 1) {
      r = pdp.upsertRelationships({ relationships: [{ type: "OWNS", source: { external_id: "karel", type: "Person" }, target: { external_id: `dev-${i}`, type: "Laptop" } }] });
    } else if (step === 2) {
      r = pdp.deleteRelationships({ relationships: [{ type: "OWNS", source: { external_id: "karel", type: "Person" }, target: { external_id: `dev-${i}`, type: "Laptop" } }] });
    } else {
      r = pdp.upsertNodes({ nodes: [{ external_id: `dev-${i}`, type: "Laptop", properties: [{ type: "serial", value: `t-${k}` }] }] });
    }
    assert.ok(!("error" in r), JSON.stringify(r));
  };
  let decisions = 0;
  const evaluate = (n) => {
    const m = n % 4;
    const r =
      m === 0 ? pdp.evaluate(request) :
      m === 1 ? pdp.evaluate(request, { claims, now }) :
      m === 2 ? pdp.evaluate(karel, { claims: { ...claims, sub: "karel" }, now }) :
      pdp.evaluate(withContext);
    if (r.decision) decisions++;
  };
  const run = (evals, updates) => {
    const every = Math.max(1, Math.floor(evals / Math.max(1, updates)));
    for (let n = 0, u = 0; n < evals; n++) {
      evaluate(n);
      if (n % every === 0 && u < updates) {
        update();
        u++;
      }
    }
  };

  // warm-up: at least one full cycle of the 50 devices x 4 update kinds, so every node exists
  run(Math.ceil(EVALUATIONS / 10), Math.max(200, Math.ceil(UPDATES / 10)));
  const base = pdp.stats();
  const t0 = performance.now();
  run(EVALUATIONS, UPDATES);
  const ms = performance.now() - t0;
  const end = pdp.stats();
  console.log(`memory: ${base.memoryBytes} -> ${end.memoryBytes} bytes; ${EVALUATIONS} evaluations + ${UPDATES} updates in ${ms.toFixed(0)} ms`);
  assert.ok(decisions > 0);
  assert.equal(end.nodes, base.nodes);
  assert.equal(end.memoryBytes, base.memoryBytes, "wasm memory grew after warm-up");
  pdp.close();
});
