// The reference step-up scenario through the package, imported by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator } from "kbac-wasm";
import { scenario, scenarioInputs, wire } from "./helpers.js";

test("without a token Alice gets step-up advice exactly as the reference answer", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  const r = pdp.evaluate(await scenario("request.json"));
  assert.deepEqual(wire(r), await scenario("response-without-token.json"));
  // the JS extra: what a page needs to open its MFA prompt, and the RFC 9470 challenge
  assert.deepEqual(r.stepUp, { acrValues: [], description: "Authentication is expired" });
  assert.equal(
    pdp.challenge(r),
    'Bearer error="insufficient_user_authentication", error_description="Authentication is expired"',
  );
  pdp.close();
});

test("the policy as a Config API record gives the same answer", async () => {
  const inputs = await scenarioInputs();
  const pdp = await createEvaluator({ ...inputs, policies: await scenario("policy-record.json") });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  assert.deepEqual(wire(pdp.evaluate(await scenario("request.json"))), await scenario("response-without-token.json"));
  pdp.close();
});

test("the same request as a JSON string, through evaluations and explain", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  const request = await scenario("request.json");
  const expected = await scenario("response-without-token.json");
  assert.deepEqual(wire(pdp.evaluate(JSON.stringify(request))), expected);
  const batch = pdp.evaluations({ ...request, evaluations: [{}, { resource: { type: "Laptop", id: "nope" } }] });
  assert.ok(Array.isArray(batch.evaluations), JSON.stringify(batch));
  assert.deepEqual(wire(batch.evaluations[0]), expected);
  assert.equal(batch.evaluations[0].stepUp.description, "Authentication is expired");
  const ex = pdp.explain(request);
  assert.equal(ex.decision, false);
  pdp.close();
});

test("stats count the scenario and report wasm memory", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  const s = pdp.stats();
  assert.equal(s.nodes, (await scenario("nodes.json")).nodes.length);
  assert.equal(s.relationships, (await scenario("relationships.json")).relationships.length);
  assert.equal(s.policies, 1);
  assert.ok(s.memoryBytes >= 65536 && s.memoryBytes % 65536 === 0, String(s.memoryBytes));
  pdp.close();
  assert.throws(() => pdp.evaluate({}), /after close/);
});

test("the package resolves to its Node entry by name", async () => {
  assert.match(import.meta.resolve("kbac-wasm"), /\/node\.js$/);
});
