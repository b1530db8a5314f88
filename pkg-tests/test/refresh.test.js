// Loading from URLs and atomic refresh (ETag / If-None-Match) against a local HTTP server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator } from "kbac-wasm";
import { scenario, serve, wire } from "./helpers.js";

/** A server whose documents can be swapped; counts requests and honours If-None-Match. */
async function docServer() {
  const docs = new Map(); // path -> {body, etag}
  const log = [];
  const server = await serve((req, res) => {
    const doc = docs.get(req.url);
    log.push({ url: req.url, ifNoneMatch: req.headers["if-none-match"] });
    if (!doc) {
      res.writeHead(404).end();
      return;
    }
    if (doc.etag && req.headers["if-none-match"] === doc.etag) {
      res.writeHead(304, { etag: doc.etag }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", ...(doc.etag ? { etag: doc.etag } : {}) }).end(doc.body);
  });
  let n = 0;
  const put = (p, body) => docs.set(p, { body: typeof body === "string" ? body : JSON.stringify(body), etag: `"v${++n}"` });
  return { ...server, put, log, docs };
}

test("graph and policies load from URLs; refresh is 304-aware and swaps atomically", async (t) => {
  const srv = await docServer();
  t.after(() => srv.close());
  const nodes = await scenario("nodes.json");
  const rels = await scenario("relationships.json");
  const request = await scenario("request.json");
  const denied = await scenario("response-without-token.json");
  srv.put("/nodes.json", nodes);
  srv.put("/relationships.json", rels);
  srv.put("/policy.json", await scenario("policy.json"));

  const pdp = await createEvaluator({
    graph: [srv.url("/nodes.json"), new URL(srv.url("/relationships.json"))],
    policies: srv.url("/policy.json"),
  });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  assert.deepEqual(wire(pdp.evaluate(request)), denied);
  const claims = { sub: "alice", exp: 1_775_490_150 };
  const now = 1_775_490_000;
  assert.equal(pdp.evaluate(request, { claims, now }).decision, true);

  // 1. nothing changed: every URL answers 304, nothing is rebuilt
  srv.log.length = 0;
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: false });
  assert.equal(srv.log.length, 3);
  assert.ok(srv.log.every((l) => /^"v\d+"$/.test(l.ifNoneMatch)), JSON.stringify(srv.log));

  // 2. the relationships document becomes corrupt: refresh fails, the old graph keeps answering
  srv.put("/relationships.json", '{"relationships":[{"type":"OWNS",');
  const bad = await pdp.refresh();
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, "json.syntax");
  assert.match(bad.error.source, /relationships\.json$/);
  assert.deepEqual(wire(pdp.evaluate(request)), denied);
  assert.equal(pdp.evaluate(request, { claims, now }).decision, true);

  // 3. a valid new graph where alice no longer owns the laptop: swapped in
  const withoutAlice = {
    relationships: rels.relationships.filter((r) => !(r.source.external_id === "alice" && r.type === "OWNS")),
  };
  srv.put("/relationships.json", withoutAlice);
  const good = await pdp.refresh();
  assert.deepEqual(good, { ok: true, changed: true });
  assert.equal(pdp.stats().relationships, withoutAlice.relationships.length);
  const after = pdp.evaluate(request, { claims, now });
  assert.equal(after.decision, false);

  // 4. the server goes away: refresh reports fetch.failed and the current state keeps serving
  srv.docs.delete("/policy.json");
  const gone = await pdp.refresh();
  assert.equal(gone.ok, false);
  assert.equal(gone.error.code, "fetch.failed");
  assert.equal(gone.error.status, 404);
  assert.equal(pdp.evaluate(request, { claims, now }).decision, false);
  assert.equal(pdp.stats().nodes, nodes.nodes.length);
  pdp.close();
});

test("a corrupt policy document on refresh keeps the old policies", async (t) => {
  const srv = await docServer();
  t.after(() => srv.close());
  const policy = await scenario("policy.json");
  srv.put("/policy.json", policy);
  const pdp = await createEvaluator({
    graph: [await scenario("nodes.json"), await scenario("relationships.json")],
    policies: [srv.url("/policy.json")],
  });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  srv.put("/policy.json", { ...policy, condition: { cypher: "MATCH (subject" } });
  const r = await pdp.refresh();
  assert.equal(r.ok, false);
  assert.match(r.error.code, /^(cypher|policy)\./);
  assert.equal(pdp.stats().policies, 1);
  assert.deepEqual(wire(pdp.evaluate(await scenario("request.json"))), await scenario("response-without-token.json"));
  pdp.close();
});

test("concurrent refreshes share one run; inline sources alone never refetch", async (t) => {
  const srv = await docServer();
  t.after(() => srv.close());
  srv.put("/nodes.json", await scenario("nodes.json"));
  const pdp = await createEvaluator({ graph: [srv.url("/nodes.json"), await scenario("relationships.json")] });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  srv.log.length = 0;
  const [a, b] = await Promise.all([pdp.refresh(), pdp.refresh()]);
  assert.deepEqual(a, b);
  assert.equal(srv.log.length, 1);
  const inline = await createEvaluator({ graph: await scenario("nodes.json") });
  assert.deepEqual(await inline.refresh(), { ok: true, changed: false });
  inline.close();
  pdp.close();
});
