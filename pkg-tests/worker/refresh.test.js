// Graph and policies fetched from URLs by the worker in workerd: loaded once and kept in
// memory, re-checked with ETag every second; a corrupt snapshot (bad JSON, bad binary)
// keeps the previous one serving; a good new one is swapped in. A source that is down at
// cold start answers 503 until it comes up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, post, serve, startWorkerd } from "./harness.js";

const POLICY = {
  meta: { policy_version: "2.0-kbac" },
  subject: { type: "Person" },
  actions: ["service"],
  resource: { type: "Laptop" },
  condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)" },
};
const graphOwnedBy = (owner) => ({
  nodes: [
    { external_id: "alice", type: "Person", is_identity: true },
    { external_id: "bob", type: "Person", is_identity: true },
    { external_id: "l1", type: "Laptop" },
  ],
  relationships: [{ type: "OWNS", source: { external_id: owner, type: "Person" }, target: { external_id: "l1", type: "Laptop" } }],
});

// What the snapshot server serves: {etag, body, status?}.
const files = {
  "/graph.json": { etag: '"g1"', body: JSON.stringify(graphOwnedBy("alice")) },
  "/policies.json": { etag: '"p1"', body: JSON.stringify(POLICY) },
  "/late/graph.json": { status: 503, body: "not yet" },
};
let server;
let wd;

before(async () => {
  server = await serve((req, res) => {
    const f = files[req.url];
    if (!f) {
      res.writeHead(404);
      return res.end();
    }
    if (f.status) {
      res.writeHead(f.status);
      return res.end(f.body);
    }
    if (req.headers["if-none-match"] === f.etag) {
      res.writeHead(304, { etag: f.etag });
      return res.end();
    }
    res.writeHead(200, { etag: f.etag, "content-type": "application/octet-stream" });
    res.end(f.body);
  });
  wd = await startWorkerd([
    { name: "remote", mode: "pdp", config: { graph: server.url("/graph.json"), policies: server.url("/policies.json"), refreshSeconds: 1 } },
    { name: "late", mode: "pdp", config: { graph: server.url("/late/graph.json"), policies: server.url("/policies.json"), retrySeconds: 1 } },
  ]);
});

after(async () => {
  await wd?.stop();
  await server?.close();
});

const ask = async (who) => {
  const r = await post(wd.url("remote", "/access/v1/evaluation"), { subject: { type: "Person", id: who }, action: { name: "service" }, resource: { type: "Laptop", id: "l1" } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.decision;
};
const status = async () => (await fetch(wd.url("remote", "/kbac/status"))).json();
const graphGets = () => server.requests.filter((q) => q.url === "/graph.json");

/** Poll the status (each poll may start a due refresh) until `pred(lastRefresh)` holds. */
const refreshed = (pred) =>
  eventually(async () => {
    const s = await status();
    return s.lastRefresh && pred(s.lastRefresh) ? s : null;
  });

test("loaded from the URLs once and kept in memory across requests", async () => {
  assert.equal(await ask("alice"), true);
  assert.equal(await ask("bob"), false);
  for (let i = 0; i < 20; i++) assert.equal(await ask("alice"), true);
  const full = graphGets().filter((q) => !q.headers["if-none-match"]);
  assert.equal(full.length, 1, "one full load; later checks are conditional");
  // unchanged sources: conditional checks answered 304, nothing reloaded
  const s = await refreshed((x) => x.ok && x.changed === false);
  assert.ok(s, "a conditional refresh answered 304");
  assert.ok(graphGets().some((q) => q.headers["if-none-match"] === '"g1"'));
});

test("a corrupt JSON snapshot is refused and the previous one keeps serving", async () => {
  const before = (await status()).stats;
  files["/graph.json"] = { etag: '"g2"', body: '{"nodes":[{"external_id":"alice","type":"Per' };
  const s = await refreshed((x) => !x.ok);
  assert.ok(s, "the refresh failed");
  assert.equal(s.lastRefresh.error.code, "json.syntax");
  assert.equal(await ask("alice"), true);
  assert.equal(await ask("bob"), false);
  assert.deepEqual((await status()).stats, before);
});

test("a corrupt binary snapshot (KBACSNAP header, garbage body) is refused too", async () => {
  files["/graph.json"] = { etag: '"g3"', body: Buffer.concat([Buffer.from("KBACSNAP"), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 9, 9, 9])]) };
  const s = await refreshed((x) => !x.ok && /^snapshot\./.test(x.error.code));
  assert.ok(s, "the refresh failed with a snapshot error");
  assert.equal(await ask("alice"), true);
});

test("a good new snapshot is swapped in on the next refresh", async () => {
  files["/graph.json"] = { etag: '"g4"', body: JSON.stringify(graphOwnedBy("bob")) };
  const swapped = await eventually(async () => (await ask("bob")) === true);
  assert.ok(swapped, "bob's laptop after the refresh");
  assert.equal(await ask("alice"), false);
});

test("a source that is down at cold start: 503 with Retry-After, then served once it is up", async () => {
  const req = { subject: { type: "Person", id: "alice" }, action: { name: "service" }, resource: { type: "Laptop", id: "l1" } };
  let r = await post(wd.url("late", "/access/v1/evaluation"), req, { "x-request-id": "late-1" });
  assert.equal(r.status, 503);
  assert.equal(r.body.error.code, "pdp.unavailable");
  assert.equal(r.body.error.cause, "fetch.failed");
  assert.equal(r.headers.get("x-request-id"), "late-1");
  assert.ok(r.headers.get("retry-after"));
  files["/late/graph.json"] = { etag: '"late"', body: JSON.stringify(graphOwnedBy("alice")) };
  const up = await eventually(async () => (await post(wd.url("late", "/access/v1/evaluation"), req)).status === 200);
  assert.ok(up);
  r = await post(wd.url("late", "/access/v1/evaluation"), req);
  assert.deepEqual(r.body, { decision: true });
});
