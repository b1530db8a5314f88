// Bad input comes back as `{error:{code,…}}` data, never as an exception; misuse throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator, Engine } from "kbac-wasm";
import { scenario, scenarioInputs } from "./helpers.js";

const CODE = /^[a-z_]+(\.[a-z_]+)*$/;

function assertError(r, code) {
  assert.ok(r && typeof r === "object" && r.error, `expected an error, got ${JSON.stringify(r)}`);
  assert.match(r.error.code, CODE);
  assert.equal(typeof r.error.message, "string");
  if (code instanceof RegExp) assert.match(r.error.code, code);
  else if (code) assert.equal(r.error.code, code, r.error.message);
}

test("a garbage JSON graph is json.syntax with a position, not an exception", async () => {
  const r = await createEvaluator({ graph: "{garbage", policies: await scenario("policy.json") });
  assertError(r, "json.syntax");
  assert.equal(r.error.line, 1);
  assert.equal(r.error.source, "graph");
});

test("garbage bytes, invalid UTF-8 and truncated JSON are json.syntax", async () => {
  const policies = await scenario("policy.json");
  for (const graph of [new TextEncoder().encode('{"nodes":[{'), new Uint8Array([0xff, 0xfe, 0x7b]), "[{]", ""]) {
    assertError(await createEvaluator({ graph, policies }), "json.syntax");
  }
});

test("a graph of the wrong shape is a graph.* error", async () => {
  const policies = await scenario("policy.json");
  assertError(await createEvaluator({ graph: { nodes: [{ type: "Person" }] }, policies }), /^(graph|json)\./);
  assertError(await createEvaluator({ graph: { nodes: "x" }, policies }), /^(graph|json)\./);
  const dangling = {
    relationships: [{ type: "OWNS", source: { external_id: "a", type: "P" }, target: { external_id: "b", type: "Q" } }],
  };
  assertError(await createEvaluator({ graph: dangling, policies }), "graph.unknown_node");
});

test("the failing source is named in a list of sources", async () => {
  const { graph, policies } = await scenarioInputs();
  const r = await createEvaluator({ graph: [graph[0], "{nope"], policies });
  assertError(r, "json.syntax");
  assert.equal(r.error.source, "graph[1]");
});

test("bad policies are policy.* / cypher.* errors with a location", async () => {
  const { graph } = await scenarioInputs();
  const policy = await scenario("policy.json");
  assertError(await createEvaluator({ graph, policies: "{" }), "json.syntax");
  assertError(await createEvaluator({ graph, policies: { ...policy, meta: {} } }), "policy.version_missing");
  const badCypher = { ...policy, condition: { ...policy.condition, cypher: "MATCH (subject:Token)-[:X->(r)" } };
  const r = await createEvaluator({ graph, policies: badCypher });
  assertError(r, /^cypher\./);
  assert.equal(r.error.source, "policies");
  const mutating = { ...policy, condition: { ...policy.condition, cypher: "MATCH (subject)-[:OWNS]->(resource) DELETE resource" } };
  assertError(await createEvaluator({ graph, policies: mutating }), /^cypher\./);
});

test("bad requests are errors from evaluate, evaluations, explain and search", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  assertError(pdp.evaluate("{"), "json.syntax");
  assertError(pdp.evaluate({ subject: { type: "Token" } }), "request.invalid");
  assertError(pdp.evaluate({ subject: 1, action: [], resource: null }), "request.invalid");
  assertError(pdp.evaluations("[1,"), "json.syntax");
  assertError(pdp.explain({}), "request.invalid");
  assertError(pdp.searchResources("nope"), "json.syntax");
  assertError(pdp.searchSubjects({ subject: { type: "Person" }, action: { name: "CAN_SERVICE" }, resource: { type: "Laptop" } }), /^search\./);
  assertError(pdp.evaluate(await scenario("request.json"), { claims: "{not json" }), "json.syntax");
  // the evaluator still answers correctly afterwards
  assert.deepEqual(JSON.parse(JSON.stringify(pdp.evaluate(await scenario("request.json")))), await scenario("response-without-token.json"));
  pdp.close();
});

test("bad graph updates change nothing and are reported", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  const before = pdp.stats();
  assertError(pdp.upsertNodes("{"), "json.syntax");
  assertError(pdp.upsertRelationships({ relationships: [{ type: "OWNS", source: { external_id: "x", type: "Y" }, target: { external_id: "alice", type: "Person" } }] }), "graph.unknown_node");
  assert.deepEqual(pdp.stats(), before);
  const ok = pdp.upsertNodes({ nodes: [{ external_id: "bob", type: "Person", is_identity: true }] });
  assert.deepEqual(ok, { nodes: 1, relationships: 0 });
  pdp.close();
});

test("an invalid configuration is config.invalid data", async () => {
  const r = await createEvaluator({ ...(await scenarioInputs()), config: { maxPathLength: 0 } });
  assertError(r, "config.invalid");
});

test("unreachable URLs are fetch.failed", async () => {
  const r = await createEvaluator({ graph: "http://127.0.0.1:9/graph.json", policies: [] });
  assertError(r, "fetch.failed");
});

test("misuse throws", async () => {
  await assert.rejects(createEvaluator(), TypeError);
  await assert.rejects(createEvaluator({ policies: [] }), /graph/);
  await assert.rejects(createEvaluator({ graph: 42 }), TypeError);
  await assert.rejects(createEvaluator({ graph: {}, now: "later" }), TypeError);
  const pdp = await createEvaluator(await scenarioInputs());
  assert.throws(() => pdp.evaluate(42), TypeError);
  pdp.close();
  assert.throws(() => new Engine("{"), (e) => JSON.parse(e.message).error.code === "json.syntax");
});

test("config.limits reach the engine; an unknown limit is config.invalid", async () => {
  const { graph } = await scenarioInputs();
  const policy = structuredClone(await scenario("policy.json"));
  policy.condition.filter = { attribute: "$token.acr", operator: "IN", value: ["a", "b", "c", "d"] };
  assertError(await createEvaluator({ graph, policies: policy, config: { limits: { maxInList: 3 } } }), "limits.in_list");
  const ok = await createEvaluator({ graph, policies: policy, config: { limits: { maxInList: 4 } } });
  assert.ok(!("error" in ok), JSON.stringify(ok.error));
  ok.close();
  assertError(await createEvaluator({ graph, policies: policy, config: { limits: { maxInLists: 4 } } }), "config.invalid");
});
