// Parity with the Rust golden cases: every `tests/cases/<case>/` (graph.json, policies.json,
// requests.json = [{name, request, options?:{now, claims, token}, op?, expected}]) re-run
// through the package must give the identical answer. The count is printed so it can be
// compared with the Rust runner's.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { createEvaluator } from "kbac-wasm";
import { caseDirs, exists, readJson, wire, CASES } from "./helpers.js";

const dirs = await caseDirs();
let requests = 0;
for (const dir of dirs) requests += (await readJson(path.join(dir, "requests.json"))).length;
console.log(`golden cases: ${dirs.length} case dirs, ${requests} requests (${CASES})`);

const OPS = new Set(["evaluate", "evaluations", "explain", "searchSubjects", "searchResources", "searchActions"]);

if (dirs.length === 0) {
  test("golden cases", { skip: `no cases in ${CASES} yet` }, () => {});
}

for (const dir of dirs) {
  test(`golden: ${path.basename(dir)}`, async (t) => {
    const file = async (f, dflt) => ((await exists(path.join(dir, f))) ? readJson(path.join(dir, f)) : dflt);
    const config = await file("config.json", undefined);
    const pdp = await createEvaluator({
      graph: await file("graph.json", {}),
      policies: await file("policies.json", undefined),
      config,
    });
    assert.ok(!("error" in pdp), `${dir}: ${JSON.stringify(pdp.error)}`);
    // Rust evaluates without a clock unless the case sets `now`; so does this runner.
    pdp.now = () => undefined;
    const cases = await readJson(path.join(dir, "requests.json"));
    for (const c of cases) {
      await t.test(c.name ?? JSON.stringify(c.request), () => {
        const op = c.op ?? "evaluate";
        assert.ok(OPS.has(op), `unknown op ${op}`);
        const o = c.options ?? {};
        const got = pdp[op](c.request, { now: o.now, claims: o.claims, token: o.token });
        assert.deepEqual(wire(got), c.expected);
      });
    }
    pdp.close();
  });
}
