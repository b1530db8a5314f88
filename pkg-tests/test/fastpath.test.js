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

test("batch fast path and JSON path agree", async () => {
  const { graph, policies } = await scenarioInputs();
  const owns = { meta: { policy_version: "2.0-kbac" }, subject: { type: "Person" }, actions: ["OWNS_IT"], resource: { type: "Laptop" }, condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource)" } };
  const pdp = await createEvaluator({ graph, policies: [policies, owns] });
  const laptop = { type: "Laptop", id: "airbook-xyz" };
  const batches = [
    { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, evaluations: [{ resource: laptop }, { resource: { type: "Laptop", id: "nope" } }, { subject: { type: "Person", id: "satchmo" }, resource: laptop }] },
    { evaluations: [
      { subject: { type: "Token", id: "alice" }, action: { name: "CAN_SERVICE" }, resource: laptop }, // advice
      { subject: { type: "Token", id: "alice" }, action: { name: "NOPE" }, resource: laptop }, // reason
      { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, resource: laptop }, // true
      { subject: { type: "Token", id: "alice" }, action: { name: "CAN_SERVICE" }, resource: { type: "Laptop", id: "x" } },
    ] },
    { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, evaluations: [{ resource: laptop }, { subject: null, resource: laptop }] }, // null replaces
    { subject: { type: "Person", id: "" }, action: { name: "OWNS_IT" }, evaluations: [{ resource: laptop }] }, // empty id
    { subject: { type: "Person", id: "ka\0rel" }, action: { name: "OWNS_IT" }, evaluations: [{ resource: laptop }, { resource: { type: "L\0\0\0\0", id: "x" } }] },
    { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, evaluations: Array.from({ length: 10_001 }, () => ({ resource: laptop })) }, // over the limit
    { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, resource: laptop, evaluations: [] }, // single
    { subject: { type: "Person", id: "karel" }, action: { name: "OWNS_IT" }, options: { evaluations_semantic: "deny_on_first_deny" }, evaluations: [{ resource: { type: "Laptop", id: "x" } }, { resource: laptop }] },
  ];
  for (const b of batches) {
    for (const o of [undefined, { token: "not.a.jwt" }]) {
      const fast = pdp.evaluations(b, o);
      const slow = pdp.evaluations(JSON.stringify(b), o);
      assert.deepEqual(wire(fast), wire(slow), JSON.stringify(b).slice(0, 160));
      if (Array.isArray(fast.evaluations)) fast.evaluations.forEach((e, i) => assert.deepEqual(e.stepUp, slow.evaluations[i].stepUp));
    }
  }
  assert.equal(pdp.evaluations(batches[1]).evaluations[0].stepUp.acrValues.length, 0);
  pdp.close();
});
