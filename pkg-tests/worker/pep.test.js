// PEP gateway mode in workerd: the reference step-up flow (no token -> 401 with the exact
// RFC 9470 challenge; an MFA token signed ES256 here -> 200 from a stub upstream), the
// AuthZEN API-gateway decisions as real routed requests, and a JWKS URL with key rotation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CONFORMANCE, INTEROP, SCENARIO, answer, eventually, es256Key, nowSecs, serve, startWorkerd } from "./harness.js";

const ISSUER = "https://idp.example.test";
const AUDIENCE = "https://laptops.example.test";
const CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="Authentication is expired"';
const SERVICE_ROUTE = {
  method: "POST",
  path: "/people/{person}/laptops/{laptop}/service",
  action: { name: "CAN_SERVICE" },
  // the token's subject when a token is sent, else the person in the path
  subject: { type: "Token", id: ["{token.sub}", "{person}"] },
  resource: { type: "Laptop", id: "{laptop}" },
};
// The API-gateway scenario's routes: action = HTTP method, resource = the route template.
const GATEWAY_ROUTES = [
  { method: "GET", path: "/users/{userId}" },
  { method: ["GET", "POST"], path: "/todos" },
  { method: ["PUT", "DELETE"], path: "/todos/{todoId}" },
];

const key = es256Key("worker-test-1");
const rotated = es256Key("worker-test-2");
let upstream;
let jwksServer;
let jwksDoc = { keys: [key.jwk] };
let wd;
let tmpFiles;

function mfaToken(k, claims = {}) {
  const now = nowSecs();
  return k.sign({ iss: ISSUER, aud: AUDIENCE, sub: "alice", iat: now, auth_time: now, acr: "mfa", amr: ["pwd", "otp"], exp: now + 3600, ...claims });
}

before(async () => {
  upstream = await serve((req, res, body) => {
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "stub" });
    res.end(JSON.stringify({ upstream: true, method: req.method, url: req.url, requestId: req.headers["x-request-id"], body: body.toString() }));
  });
  jwksServer = await serve((req, res) => {
    const text = JSON.stringify(jwksDoc);
    const etag = `"${createHash("sha256").update(text).digest("base64url").slice(0, 16)}"`;
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag });
      return res.end();
    }
    res.writeHead(200, { "content-type": "application/json", etag });
    res.end(text);
  });
  const graph = [JSON.parse(await readFile(path.join(SCENARIO, "nodes.json"), "utf8")), JSON.parse(await readFile(path.join(SCENARIO, "relationships.json"), "utf8"))];
  const dir = mkdtempSync(path.join(os.tmpdir(), "kbac-pep-"));
  const graphFile = path.join(dir, "graph.json");
  writeFileSync(graphFile, JSON.stringify(graph));
  tmpFiles = dir;
  const token = { issuer: ISSUER, audience: AUDIENCE, leeway: 5 };
  wd = await startWorkerd([
    {
      name: "stepup",
      mode: "pep",
      graph: graphFile,
      policies: path.join(SCENARIO, "policy.json"),
      config: {
        upstream: upstream.url(""),
        routes: [SERVICE_ROUTE],
        engine: { jwks: { keys: [key.jwk] }, token, assuranceLevels: ["pwd", "mfa"] },
      },
    },
    {
      name: "gateway",
      mode: "pep",
      graph: path.join(INTEROP, "gateway", "graph.json"),
      policies: path.join(INTEROP, "gateway", "policies.json"),
      config: {
        upstream: upstream.url("/api"),
        routes: GATEWAY_ROUTES,
        subject: { type: "identity", id: "{token.sub}" },
        engine: { jwks: { keys: [key.jwk] }, token },
      },
    },
    {
      name: "rotating",
      mode: "pep",
      graph: graphFile,
      policies: path.join(SCENARIO, "policy.json"),
      config: {
        upstream: upstream.url(""),
        routes: [SERVICE_ROUTE],
        jwksUrl: jwksServer.url("/jwks.json"),
        refreshSeconds: 1,
        engine: { token },
      },
    },
  ]);
});

after(async () => {
  await wd?.stop();
  await upstream?.close();
  await jwksServer?.close();
  if (tmpFiles) rmSync(tmpFiles, { recursive: true, force: true });
});

const service = (name, headers = {}, person = "alice") =>
  fetch(wd.url(name, `/people/${person}/laptops/airbook-xyz/service`), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"note":"battery"}' }).then(answer);

test("reference step-up flow: no token -> 401 with the exact RFC 9470 challenge", async () => {
  const r = await service("stepup", { "x-request-id": "step-1" });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), CHALLENGE);
  assert.equal(r.headers.get("x-request-id"), "step-1");
  assert.equal(r.body.error.code, "insufficient_user_authentication");
  assert.equal(upstream.requests.length, 0, "nothing reached the upstream");
});

test("reference step-up flow: MFA token (ES256) -> 200 from the upstream, request forwarded as sent", async () => {
  const r = await service("stepup", { authorization: `Bearer ${mfaToken(key)}`, "x-request-id": "step-2" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.headers.get("x-upstream"), "stub");
  assert.equal(r.headers.get("x-request-id"), "step-2");
  assert.deepEqual(r.body, { upstream: true, method: "POST", url: "/people/alice/laptops/airbook-xyz/service", requestId: "step-2", body: '{"note":"battery"}' });
});

test("step-up PEP: bad, foreign, expired and wrong-subject tokens", async () => {
  // signed by a key the worker does not trust
  let r = await service("stepup", { authorization: `Bearer ${mfaToken(rotated)}` });
  assert.equal(r.status, 401);
  assert.match(r.headers.get("www-authenticate"), /^Bearer realm="kbac", error="invalid_token"/);
  // wrong audience
  r = await service("stepup", { authorization: `Bearer ${mfaToken(key, { aud: "https://other.example" })}` });
  assert.equal(r.status, 401);
  assert.match(r.headers.get("www-authenticate"), /error="invalid_token", error_description="token\.audience"/);
  // expired: the policy's advice asks to authenticate again
  r = await service("stepup", { authorization: `Bearer ${mfaToken(key, { exp: nowSecs() - 600, iat: nowSecs() - 4000 })}` });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), CHALLENGE);
  // not a JWS at all
  r = await service("stepup", { authorization: "Bearer not-a-token" });
  assert.equal(r.status, 401);
  assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/);
  // a valid token of someone who does not own the laptop: plain 403
  r = await service("stepup", { authorization: `Bearer ${mfaToken(key, { sub: "knightrider" })}` }, "knightrider");
  assert.equal(r.status, 403);
  assert.equal(r.headers.get("www-authenticate"), null);
  assert.equal(r.body.error.code, "access.denied");
  // unknown route and wrong method
  r = await fetch(wd.url("stepup", "/people/alice/laptops")).then(answer);
  assert.equal(r.status, 404);
  r = await fetch(wd.url("stepup", "/people/alice/laptops/airbook-xyz/service")).then(answer);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "POST");
  assert.equal(upstream.requests.filter((q) => q.headers["x-request-id"] !== "step-2").length, 0);
});

test("API gateway scenario through the PEP: 25 routed requests, permit -> upstream, deny -> 403", async (t) => {
  const cases = JSON.parse(await readFile(path.join(CONFORMANCE, "api-gateway_decisions.json"), "utf8")).evaluation;
  let passed = 0;
  const failures = [];
  for (const c of cases) {
    const { subject, action, resource } = c.request;
    const concrete = resource.id.replace("{userId}", "rick%40the-citadel.com").replace("{todoId}", "7240d0db-8ff0-41ec-98b2-34a096273b91");
    const before = upstream.requests.length;
    const r = await fetch(wd.url("gateway", concrete), {
      method: action.name,
      headers: { authorization: `Bearer ${key.sign({ iss: ISSUER, aud: AUDIENCE, sub: subject.id, exp: nowSecs() + 600 })}`, "content-type": "application/json" },
      body: action.name === "GET" ? undefined : "{}",
    }).then(answer);
    const forwarded = upstream.requests.length === before + 1 && upstream.requests.at(-1).url === `/api${concrete}`;
    const ok = c.expected ? r.status === 200 && forwarded : r.status === 403 && !forwarded;
    if (ok) passed++;
    else failures.push(`${action.name} ${concrete} as ${subject.id}: expected ${c.expected}, got ${r.status} ${JSON.stringify(r.body)}`);
  }
  t.diagnostic(`api-gateway_decisions.json through the PEP: ${passed}/${cases.length}`);
  assert.deepEqual(failures, []);
});

test("JWKS from a URL: keys are rotated in on refresh (ETag), old keys stop working", async () => {
  let r = await service("rotating", { authorization: `Bearer ${mfaToken(key)}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await service("rotating", { authorization: `Bearer ${mfaToken(rotated)}` });
  assert.equal(r.status, 401);
  const seen = jwksServer.requests.length;
  jwksDoc = { keys: [rotated.jwk] };
  const swapped = await eventually(async () => {
    const x = await service("rotating", { authorization: `Bearer ${mfaToken(rotated)}` });
    return x.status === 200;
  });
  assert.ok(swapped, "the rotated key was picked up");
  assert.ok(jwksServer.requests.slice(seen).some((q) => q.headers["if-none-match"]), "refreshes are conditional");
  r = await service("rotating", { authorization: `Bearer ${mfaToken(key)}` });
  assert.equal(r.status, 401);
});
