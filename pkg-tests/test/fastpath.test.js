// The id-only fast path of `evaluate` (packed ids -> small code) answers exactly what the
// JSON path answers for the same request, including validation errors and odd ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator } from "kbac-wasm";
import { scenarioInputs, wire } from "./helpers.js";

const req = (st, sid, action, rt, rid) => ({ subject: { type: st, id: sid }, action: { name: action }, resource: { type: rt, id: rid } });

test("fast path and JSON path agree", async () => {
  const { graph, policies } = await scenarioInputs();
  const owns = { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["OWNS_IT"], resource: { type: "Laptop" }, condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource)" } };
  const pdp = await createEvaluator({ graph, policies: [policies, owns] });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  const requests = [
    req("Person", "karel", "OWNS_IT", "Laptop", "airbook-xyz"), // plain true
    req("Person", "satchmo", "OWNS_IT", "Laptop", "airbook-xyz"), // plain false
    req("Token", "alice", "CAN_SERVICE", "Laptop", "airbook-xyz"), // advice
    req("Token", "alice", "NOPE", "Laptop", "airbook-xyz"), // reason
    req("Person", "karel", "OWNS_IT", "Laptop", "not-in-graph"), // transient resource
    req("Person", "", "OWNS_IT", "Laptop", "airbook-xyz"), // validation error
    req("", "karel", "OWNS_IT", "Laptop", "airbook-xyz"),
    req("Person", "kar\0el", "OWNS_IT", "Laptop", "airbook-xyz"), // NUL: falls back
    req("Person", "karel", "OWNS_IT", "Laptop", "\0"),
    req("Person", "ka\"rel\\\u2028😀", "OWNS_IT", "Laptop", "airbook-xyz"),
    req("Person", "x".repeat(400_000), "OWNS_IT", "Laptop", "airbook-xyz"), // near/over the size limit
  ];
  for (const r of requests) {
    for (const o of [undefined, { token: "not.a.jwt" }, { now: 1_775_490_000 }]) {
      const fast = pdp.evaluate(r, o);
      const slow = pdp.evaluate(JSON.stringify(r), o);
      assert.deepEqual(wire(fast), wire(slow), `${JSON.stringify(r).slice(0, 120)} ${JSON.stringify(o)}`);
      assert.deepEqual(fast.stepUp, slow.stepUp);
    }
  }
  assert.equal(pdp.evaluate(requests[0]).decision, true);
  assert.ok(pdp.evaluate(requests[2]).stepUp);
  pdp.close();
});
