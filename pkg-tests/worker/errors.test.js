// PDP mode in workerd: every bad request gets its HTTP status and a JSON error body with a
// code (400/401/404/405/413/415), X-Request-ID is echoed (or minted) on every answer, a deny
// is 200, and the discovery document names the configured PDP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { INTEROP, answer, post, startWorkerd } from "./harness.js";

const KEY = "pep-to-pdp-test-key";
const MAX = 2048;
let wd;
const auth = { authorization: `Bearer ${KEY}` };
const allow = { subject: { type: "user", id: "rick@the-citadel.com" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "todo-1" } };
const deny = { subject: { type: "user", id: "beth@the-smiths.com" }, action: { name: "can_create_todo" }, resource: { type: "todo", id: "todo-1" } };

before(async () => {
  wd = await startWorkerd([
    {
      name: "pdp",
      mode: "pdp",
      graph: path.join(INTEROP, "todo", "graph.json"),
      policies: path.join(INTEROP, "todo", "policies.json"),
      apiKey: KEY,
      config: { maxBodyBytes: MAX, baseUrl: "https://pdp.example.test", realm: "kbac-test" },
    },
  ]);
});

after(async () => {
  await wd?.stop();
});

const u = (p) => wd.url("pdp", p);

/** A raw HTTP request (for chunked bodies and exact headers). */
function raw(method, p, headers, chunks) {
  return new Promise((resolve, reject) => {
    const req = http.request(u(p), { method, headers }, (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString();
        let body = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* text */
        }
        resolve({ status: res.statusCode, headers: res.headers, body });
      });
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

function isError(r, status, code) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(typeof r.body?.error?.message, "string", JSON.stringify(r.body));
  if (code) assert.equal(r.body.error.code, code, JSON.stringify(r.body));
}

test("with the key: permit and deny are both 200 with a decision; X-Request-ID is echoed", async () => {
  let r = await post(u("/access/v1/evaluation"), allow, { ...auth, "x-request-id": "req-allow-1" });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { decision: true });
  assert.equal(r.headers.get("x-request-id"), "req-allow-1");
  assert.match(r.headers.get("content-type"), /^application\/json/);
  r = await post(u("/access/v1/evaluation"), deny, { ...auth, "x-request-id": "req-deny-1" });
  assert.equal(r.status, 200);
  assert.equal(r.body.decision, false);
  assert.equal(r.headers.get("x-request-id"), "req-deny-1");
  // minted when absent
  r = await post(u("/access/v1/evaluation"), allow, auth);
  assert.match(r.headers.get("x-request-id"), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test("401 without the PEP-to-PDP key or with a wrong one, with WWW-Authenticate", async () => {
  let r = await post(u("/access/v1/evaluation"), allow, { "x-request-id": "no-key" });
  isError(r, 401, "auth.credential_missing");
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="kbac-test"');
  assert.equal(r.headers.get("x-request-id"), "no-key");
  r = await post(u("/access/v1/evaluations"), allow, { authorization: "Bearer wrong-key", "x-request-id": "bad-key" });
  isError(r, 401, "auth.credential_invalid");
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="kbac-test", error="invalid_token"');
  assert.equal(r.headers.get("x-request-id"), "bad-key");
  r = await post(u("/access/v1/search/subject"), allow, { authorization: `Basic ${btoa(KEY)}` });
  isError(r, 401);
});

test("400 for malformed JSON, wrong shapes, non-objects, empty bodies and invalid UTF-8", async () => {
  const cases = [
    ['{"subject":', "json.syntax"],
    ["", "json.syntax"],
    ["[]", "request.invalid"],
    ["42", "request.invalid"],
    ["null", "request.invalid"],
    ['{"subject":{"type":"user","id":"x"},"action":{"name":"a"}}', "request.invalid"],
    ['{"subject":"alice","action":{"name":"a"},"resource":{"type":"t","id":"1"}}', "request.invalid"],
    ['{"subject":{"type":"user","id":"x"},"action":{"name":7},"resource":{"type":"t","id":"1"}}', "request.invalid"],
  ];
  for (const [body, code] of cases) {
    const r = await post(u("/access/v1/evaluation"), body, { ...auth, "x-request-id": `bad-${code}` });
    isError(r, 400, code);
    assert.equal(r.headers.get("x-request-id"), `bad-${code}`);
  }
  const syntax = await post(u("/access/v1/evaluation"), '{\n  "subject": ]', auth);
  assert.equal(syntax.body.error.line, 2, JSON.stringify(syntax.body));
  // search: the input entity needs an id
  const s = await post(u("/access/v1/search/resource"), { subject: { type: "user" }, action: { name: "can_read_todos" }, resource: { type: "todo" } }, auth);
  isError(s, 400, "search.invalid");
  // batch: unknown semantic
  const b = await post(u("/access/v1/evaluations"), { ...allow, options: { evaluations_semantic: "whatever" }, evaluations: [{}] }, auth);
  isError(b, 400, "request.evaluations_semantic");
  // invalid UTF-8
  const bad = await raw("POST", "/access/v1/evaluation", { ...auth, "content-type": "application/json" }, [Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]);
  isError(bad, 400, "json.syntax");
});

test("415 for a missing or wrong content type; charset parameters are fine", async () => {
  let r = await post(u("/access/v1/evaluation"), allow, { ...auth, "content-type": "text/plain", "x-request-id": "ct-1" });
  isError(r, 415, "http.unsupported_media_type");
  assert.equal(r.headers.get("x-request-id"), "ct-1");
  r = await raw("POST", "/access/v1/evaluation", auth, [JSON.stringify(allow)]);
  isError(r, 415, "http.unsupported_media_type");
  r = await post(u("/access/v1/evaluation"), allow, { ...auth, "content-type": "application/x-www-form-urlencoded" });
  isError(r, 415);
  r = await post(u("/access/v1/evaluation"), allow, { ...auth, "content-type": "application/json; charset=utf-8" });
  assert.equal(r.status, 200);
});

test("413 over the body limit: by Content-Length and by the bytes of a chunked body", async () => {
  const big = JSON.stringify({ ...allow, context: { pad: "x".repeat(MAX) } });
  let r = await post(u("/access/v1/evaluation"), big, { ...auth, "x-request-id": "big-1" });
  isError(r, 413, "input.too_large");
  assert.equal(r.headers.get("x-request-id"), "big-1");
  // no Content-Length: Transfer-Encoding chunked, cut off at the limit
  const chunk = "x".repeat(512);
  r = await raw("POST", "/access/v1/evaluation", { ...auth, "content-type": "application/json", "x-request-id": "big-2" }, [
    '{"context":{"pad":"',
    ...Array.from({ length: 8 }, () => chunk),
    '"}}',
  ]);
  isError(r, 413, "input.too_large");
  assert.equal(r.headers["x-request-id"], "big-2");
  // just under the limit is fine
  const fits = JSON.stringify({ ...allow, context: { pad: "x".repeat(MAX - 200) } });
  r = await post(u("/access/v1/evaluation"), fits, auth);
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test("405 with Allow for wrong methods, 404 for unknown paths", async () => {
  let r = await fetch(u("/access/v1/evaluation"), { headers: { ...auth, "x-request-id": "m-1" } }).then(answer);
  isError(r, 405, "http.method_not_allowed");
  assert.equal(r.headers.get("allow"), "POST");
  assert.equal(r.headers.get("x-request-id"), "m-1");
  r = await fetch(u("/access/v1/search/action"), { method: "PUT", headers: auth, body: "{}" }).then(answer);
  isError(r, 405);
  assert.equal(r.headers.get("allow"), "POST");
  r = await fetch(u("/.well-known/authzen-configuration"), { method: "POST", body: "{}" }).then(answer);
  isError(r, 405);
  assert.equal(r.headers.get("allow"), "GET, HEAD");
  r = await post(u("/access/v2/evaluation"), allow, { ...auth, "x-request-id": "nf-1" });
  isError(r, 404, "http.not_found");
  assert.equal(r.headers.get("x-request-id"), "nf-1");
  r = await fetch(u("/")).then(answer);
  isError(r, 404);
});

test("discovery: GET /.well-known/authzen-configuration names the configured PDP", async () => {
  const r = await fetch(u("/.well-known/authzen-configuration"), { headers: { "x-request-id": "wk-1" } }).then(answer);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-request-id"), "wk-1");
  const base = "https://pdp.example.test";
  assert.deepEqual(r.body, {
    policy_decision_point: base,
    access_evaluation_endpoint: `${base}/access/v1/evaluation`,
    access_evaluations_endpoint: `${base}/access/v1/evaluations`,
    search_subject_endpoint: `${base}/access/v1/search/subject`,
    search_resource_endpoint: `${base}/access/v1/search/resource`,
    search_action_endpoint: `${base}/access/v1/search/action`,
  });
  const head = await fetch(u("/.well-known/authzen-configuration"), { method: "HEAD" });
  assert.equal(head.status, 200);
});

test("the status endpoint needs the key and reports what is loaded", async () => {
  let r = await fetch(u("/kbac/status")).then(answer);
  isError(r, 401);
  r = await fetch(u("/kbac/status"), { headers: auth }).then(answer);
  assert.equal(r.status, 200);
  assert.equal(r.body.mode, "pdp");
  assert.equal(r.body.loaded, true);
  assert.ok(r.body.stats.nodes > 0 && r.body.stats.policies > 0, JSON.stringify(r.body));
  assert.ok(r.body.requests > 1, "one instance serves every request of the isolate");
});
