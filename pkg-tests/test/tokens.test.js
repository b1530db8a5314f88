// Tokens through the package: tokens signed by an independent JWT library (`jose`) verify,
// the JWT attack corpus is refused with each code, the top-level token options
// (`jwks`, `jwksUrl`, `issuer`, `audience`, `leeway`, `assurance`), key rotation from a
// `jwksUrl` (background refresh on an unknown `kid`, rate-limited), and `metadata()`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { base64url, CompactSign, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT } from "jose";
import { createEvaluator, metadata } from "kbac-wasm";
import { REPO, readJson, scenario, scenarioInputs, serve, wire } from "./helpers.js";

/** The scenario clock: before the policy's fixed instant 1775490149 (as tests/token_flow.rs). */
const NOW = 1_775_490_000;
const ISS = "https://as.example";
const AUD = "kbac";
const FIXTURES = path.join(REPO, "tests/fixtures/tokens");

// --- keys and minting --------------------------------------------------------------------

/** Fresh key pairs made by jose (WebCrypto), with their public JWKs. */
async function makeKeys() {
  const keys = {};
  for (const [name, alg] of [["ec", "ES256"], ["rsa", "RS256"], ["ed", "EdDSA"]]) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    keys[name] = { privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid: `${name}-jose`, use: "sig" } };
  }
  // WebCrypto ties a key to one RSA scheme: the same RSA key material, imported for PS256
  keys.pss = { ...keys.rsa, privateKey: await importJWK(await exportJWK(keys.rsa.privateKey), "PS256") };
  return keys;
}

const KEYS = await makeKeys();
const JWKS = { keys: [KEYS.ec.jwk, KEYS.rsa.jwk, KEYS.ed.jwk] };
/** Which key signs each algorithm (RS256 and PS256 share the RSA key, `rsa-jose`). */
const SIGNERS = { ES256: "ec", RS256: "rsa", PS256: "pss", EdDSA: "ed" };
const kidOf = (key) => `${key === "pss" ? "rsa" : key}-jose`;

/** Claims valid at NOW for `sub`, with `extra` merged in (`null` removes a claim). */
function claims(sub = "alice", extra = {}) {
  const c = { iss: ISS, aud: AUD, sub, iat: NOW - 60, exp: NOW + 3600 };
  for (const [k, v] of Object.entries(extra)) {
    if (v === null) delete c[k];
    else c[k] = v;
  }
  return c;
}

/** A token signed by jose with the header as given (so attacks can put anything in it). */
function sign(header, payload, privateKey) {
  return new SignJWT(payload).setProtectedHeader(header).sign(privateKey);
}

function es256(payload, kid = "ec-jose") {
  return sign({ alg: "ES256", kid, typ: "JWT" }, payload, KEYS.ec.privateKey);
}

const b64 = (x) => base64url.encode(typeof x === "string" ? x : JSON.stringify(x));

/** A token from raw parts: header and payload JSON (or text), signature given verbatim. */
function raw(header, payload, signature = "") {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

/** The same token with one character of its signature changed (in the middle: every bit counts). */
function flipSignature(token) {
  const [h, p, s] = token.split(".");
  const mid = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`;
}

/** The same token with another payload and the original signature. */
function swapPayload(token, payload) {
  const [h, , s] = token.split(".");
  return `${h}.${b64(payload)}.${s}`;
}

// --- evaluators -------------------------------------------------------------------------

const REQUEST = await scenario("request.json");
const NO_TOKEN = await scenario("response-without-token.json");
const WITH_MFA = await scenario("response-with-mfa-token.json");

async function pdpWith(options = {}) {
  const pdp = await createEvaluator({ ...(await scenarioInputs()), jwks: JWKS, issuer: ISS, audience: AUD, now: NOW, ...options });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  return pdp;
}

/**
 * A refusal with exactly this reason: `false`, `reason` + `reason_admin`, and the advice
 * only when expected (as `assert_denied` in tests/token_flow.rs).
 */
function assertDenied(r, code, advice) {
  const w = wire(r);
  assert.equal(w.decision, false, JSON.stringify(w));
  assert.equal(w.context?.reason, code, JSON.stringify(w));
  assert.ok(typeof w.context.reason_admin?.en === "string" && w.context.reason_admin.en.length > 0, JSON.stringify(w));
  assert.deepEqual(w.context.advice, advice, JSON.stringify(w));
  assert.deepEqual(Object.keys(w.context).sort(), advice ? ["advice", "reason", "reason_admin"] : ["reason", "reason_admin"]);
}

// --- cross-check: jose signs, the package verifies ----------------------------------------

test("tokens signed by jose (ES256, RS256, PS256, EdDSA) verify in the reference scenario", async () => {
  const pdp = await pdpWith();
  // As the reference answer: an MFA token whose exp is after the policy's instant is allowed.
  const c = claims("alice", { exp: 1_775_490_150, acr: "mfa" });
  for (const [alg, key] of Object.entries(SIGNERS)) {
    const token = await sign({ alg, kid: kidOf(key) }, c, KEYS[key].privateKey);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA, alg);
    // the JSON path (a string request) and the batch answer the same
    assert.deepEqual(wire(pdp.evaluate(JSON.stringify(REQUEST), { token })), WITH_MFA, alg);
    assert.deepEqual(wire(pdp.evaluations({ ...REQUEST, evaluations: [{}] }, { token })), { evaluations: [WITH_MFA] }, alg);
    // kid-less: the key is found by its type
    const kidless = await sign({ alg }, c, KEYS[key].privateKey);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: kidless })), WITH_MFA, `${alg} without kid`);
    // a valid token whose exp is not after the policy's instant gets the reference advice
    const early = await sign({ alg, kid: kidOf(key) }, claims("alice", { exp: 1_775_490_149 }), KEYS[key].privateKey);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: early })), NO_TOKEN, alg);
  }
  // and without a token, exactly the reference answer
  assert.deepEqual(wire(pdp.evaluate(REQUEST)), NO_TOKEN);
  pdp.close();
});

test("tokens jose signs with the repository's fixture keys verify against its fixture JWKS", async () => {
  const privates = await readJson(path.join(FIXTURES, "private.jwks.json"));
  const pdp = await pdpWith({ jwks: await readFile(path.join(FIXTURES, "jwks.json"), "utf8") });
  const c = claims("alice", { exp: 1_775_490_150 });
  for (const jwk of privates.keys) {
    const algs = jwk.kty === "RSA" ? ["RS256", "PS256"] : jwk.kty === "EC" ? ["ES256"] : ["EdDSA"];
    for (const alg of algs) {
      const token = await sign({ alg, kid: jwk.kid }, c, await importJWK(jwk, alg));
      assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA, `${alg} ${jwk.kid}`);
    }
  }
  pdp.close();
});

test("tampered tokens of every algorithm fail with token.signature", async () => {
  const pdp = await pdpWith();
  for (const [alg, key] of Object.entries(SIGNERS)) {
    const good = await sign({ alg, kid: kidOf(key) }, claims(), KEYS[key].privateKey);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: good })), WITH_MFA, alg);
    assertDenied(pdp.evaluate(REQUEST, { token: swapPayload(good, claims("alice", { acr: "phr" })) }), "token.signature");
    assertDenied(pdp.evaluate(REQUEST, { token: flipSignature(good) }), "token.signature");
    // another identity's token with alice's payload pasted in
    const bob = await sign({ alg, kid: kidOf(key) }, claims("knightrider"), KEYS[key].privateKey);
    assertDenied(pdp.evaluate(REQUEST, { token: swapPayload(bob, claims("alice")) }), "token.signature");
  }
  pdp.close();
});

// --- the JWT attack corpus ----------------------------------------------------------------

test("the JWT attack corpus is refused through the package, each with its code", async () => {
  const pdp = await pdpWith();
  const good = await es256(claims());
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: good })), WITH_MFA);
  const [h, p, s] = good.split(".");
  const rsaPem = new TextEncoder().encode(await exportSPKI(KEYS.rsa.publicKey));
  const hmacWithRsaKey = (header) => sign(header, claims(), rsaPem);
  const attacks = [
    ["alg none, no signature", raw({ alg: "none" }, claims()), "token.alg_not_allowed"],
    ["alg None with a signature", `${b64({ alg: "None", kid: "ec-jose" })}.${p}.${s}`, "token.alg_not_allowed"],
    ["HS256 with the RSA public key as secret", await hmacWithRsaKey({ alg: "HS256", kid: "rsa-jose" }), "token.alg_not_allowed"],
    ["HS256 with the RSA public key, no kid", await hmacWithRsaKey({ alg: "HS256" }), "token.alg_not_allowed"],
    ["ES256 header on the RSA key", await sign({ alg: "ES256", kid: "rsa-jose" }, claims(), KEYS.ec.privateKey), "token.key_mismatch"],
    ["RS256 header on the EC key", await sign({ alg: "RS256", kid: "ec-jose" }, claims(), KEYS.rsa.privateKey), "token.key_mismatch"],
    ["EdDSA header on the EC key", await sign({ alg: "EdDSA", kid: "ec-jose" }, claims(), KEYS.ed.privateKey), "token.key_mismatch"],
    ["unknown kid", await es256(claims(), "rotated-away"), "token.unknown_kid"],
    ["tampered payload", swapPayload(good, claims("mallory")), "token.signature"],
    ["tampered signature", flipSignature(good), "token.signature"],
    ["empty signature", `${h}.${p}.`, "token.signature"],
    ["wrong iss", await es256(claims("alice", { iss: "https://evil.example" })), "token.issuer"],
    ["no iss", await es256(claims("alice", { iss: null })), "token.issuer"],
    ["wrong aud", await es256(claims("alice", { aud: "another-api" })), "token.audience"],
    ["nbf in the future", await es256(claims("alice", { nbf: NOW + 3600 })), "token.not_yet_valid"],
    ["malformed base64", `${h}.${p}*.${s}`, "token.malformed"],
    ["standard base64 alphabet", `${h}.${p}+/.${s}`, "token.malformed"],
    ["three dots", `${h}.${p}.${s}.${s}`, "token.malformed"],
    ["one dot", `${h}.${p}`, "token.malformed"],
    ["non-JSON header", `${b64("not json")}.${p}.${s}`, "token.malformed"],
    ["non-JSON payload", await new CompactSign(new TextEncoder().encode("not json")).setProtectedHeader({ alg: "ES256", kid: "ec-jose" }).sign(KEYS.ec.privateKey), "token.malformed"],
    ["payload not an object", await new CompactSign(new TextEncoder().encode("[1,2]")).setProtectedHeader({ alg: "ES256", kid: "ec-jose" }).sign(KEYS.ec.privateKey), "token.malformed"],
    ["oversized", await es256(claims("alice", { pad: "p".repeat(20_000) })), "token.too_large"],
    ["oversized garbage", "x".repeat(100_000), "token.too_large"],
  ];
  for (const [name, token, code] of attacks) {
    const r = pdp.evaluate(REQUEST, { token });
    assert.equal(wire(r).context?.reason, code, `${name}: ${JSON.stringify(r)}`);
    assertDenied(r, code);
    // the same on the JSON path and as a batch item
    assert.deepEqual(wire(pdp.evaluate(JSON.stringify(REQUEST), { token })), wire(r), name);
    assert.deepEqual(wire(pdp.evaluations({ ...REQUEST, evaluations: [{}] }, { token })).evaluations[0], wire(r), name);
  }
  pdp.close();
});

test("a token expired beyond the leeway counts as no token: the step-up advice, reason token.expired", async () => {
  const pdp = await pdpWith();
  const advice = NO_TOKEN.context.advice;
  // the default leeway is 60 s: expired 61 s ago is expired, 30 s ago is not
  const r = pdp.evaluate(REQUEST, { token: await es256(claims("alice", { exp: NOW - 61 })) });
  assertDenied(r, "token.expired", advice);
  assert.equal(r.stepUp?.description, "Authentication is expired");
  // expired and for another subject: ignored like an absent token (the pin needs verified claims)
  assertDenied(pdp.evaluate(REQUEST, { token: await es256(claims("knightrider", { exp: NOW - 61 })) }), "token.expired", advice);
  // within the leeway the token is valid, but its exp is before the policy's instant
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: await es256(claims("alice", { exp: NOW - 30 })) })), NO_TOKEN);
  // expired and forged is a signature error, never merely expired
  const forged = await sign({ alg: "ES256", kid: "ec-jose" }, claims("alice", { exp: NOW - 61 }), (await generateKeyPair("ES256")).privateKey);
  assertDenied(pdp.evaluate(REQUEST, { token: forged }), "token.signature");
  pdp.close();

  // `leeway` as a top-level option: 0 makes one second too late
  const strict = await pdpWith({ leeway: 0 });
  assertDenied(strict.evaluate(REQUEST, { token: await es256(claims("alice", { exp: NOW - 1 })) }), "token.expired", advice);
  strict.close();
});

test("a JWKS with one malformed key keeps the others usable and reports the skipped key", async () => {
  const broken = { kty: "RSA", kid: "broken", n: "!!!", e: "AQAB" };
  const pdp = await pdpWith({ jwks: { keys: [KEYS.ec.jwk, broken, KEYS.rsa.jwk, KEYS.ed.jwk] } });
  const status = pdp.jwksStatus();
  assert.equal(status.source, "jwks");
  assert.equal(status.keys, 3);
  assert.deepEqual(status.kids, ["ec-jose", "rsa-jose", "ed-jose"]);
  assert.equal(status.skipped.length, 1);
  assert.equal(status.skipped[0].code, "jwks.invalid");
  assert.equal(status.skipped[0].path, "keys[1]");
  assert.match(status.skipped[0].message, /`broken`/);
  for (const [alg, key] of Object.entries(SIGNERS)) {
    const token = await sign({ alg, kid: kidOf(key) }, claims(), KEYS[key].privateKey);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA, alg);
  }
  assertDenied(pdp.evaluate(REQUEST, { token: await sign({ alg: "RS256", kid: "broken" }, claims(), KEYS.rsa.privateKey) }), "token.unknown_kid");
  pdp.close();
});

// --- the token options --------------------------------------------------------------------

test("issuer and audience options are enforced; the same settings inside config work alike", async () => {
  const viaConfig = await createEvaluator({
    ...(await scenarioInputs()),
    now: NOW,
    config: { token: { issuer: ISS, audience: [AUD, "other"] }, jwks: JWKS },
  });
  const viaOptions = await pdpWith({ audience: [AUD, "other"] });
  for (const pdp of [viaConfig, viaOptions]) {
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: await es256(claims()) })), WITH_MFA);
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: await es256(claims("alice", { aud: "other" })) })), WITH_MFA);
    assertDenied(pdp.evaluate(REQUEST, { token: await es256(claims("alice", { iss: "https://as.example/" })) }), "token.issuer");
    assertDenied(pdp.evaluate(REQUEST, { token: await es256(claims("alice", { aud: "third" })) }), "token.audience");
    pdp.close();
  }
  // no keys at all: a token is an error reason, never a pass
  const bare = await createEvaluator({ ...(await scenarioInputs()), now: NOW, issuer: ISS });
  assertDenied(bare.evaluate(REQUEST, { token: await es256(claims()) }), "token.no_verifier");
  bare.close();
});

test("assurance levels as an option feed $auth.level", async () => {
  const policy = {
    meta: { policy_version: "2.0-kbac" },
    subject: { type: "Token" },
    actions: ["CAN_SERVICE"],
    resource: { type: "Laptop" },
    condition: {
      cypher: "MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:OWNS]->(resource)",
      filter: { attribute: "$auth.level", operator: ">=", value: 1, advice: { error: "insufficient_user_authentication", acr_values: "mfa" } },
    },
  };
  const pdp = await pdpWith({ policies: policy, assurance: { levels: ["pwd", "mfa", "phr"] } });
  const withAcr = async (acr) => pdp.evaluate(REQUEST, { token: await es256(claims("alice", { acr })) });
  const pwd = await withAcr("pwd");
  assert.deepEqual(wire(pwd), { decision: false, context: { advice: [{ acr_values: "mfa", error: "insufficient_user_authentication" }] } });
  assert.deepEqual(pwd.stepUp, { acrValues: ["mfa"] });
  assert.equal(pdp.challenge(pwd), 'Bearer error="insufficient_user_authentication", acr_values="mfa"');
  assert.deepEqual(wire(await withAcr("mfa")), { decision: true });
  assert.deepEqual(wire(await withAcr("phr")), { decision: true });
  assert.equal(wire(await withAcr("unknown")).decision, false);
  pdp.close();
  // without the hierarchy no acr has a level
  const flat = await pdpWith({ policies: policy });
  assert.equal(wire(flat.evaluate(REQUEST, { token: await es256(claims("alice", { acr: "phr" })) })).decision, false);
  flat.close();
});

test("an option given both at the top level and in config is a clear config.invalid", async () => {
  const inputs = await scenarioInputs();
  const cases = [
    [{ issuer: ISS, config: { token: { issuer: ISS } } }, "issuer", /config\.token\.issuer/],
    [{ audience: AUD, config: { token: { audience: "x" } } }, "audience", /config\.token\.audience/],
    [{ leeway: 5, config: { token: { leeway: 5 } } }, "leeway", /config\.token\.leeway/],
    [{ jwks: JWKS, config: { jwks: JWKS } }, "jwks", /config\.jwks/],
    [{ jwksUrl: "http://127.0.0.1:9/jwks.json", config: { jwks: JWKS } }, "jwksUrl", /config\.jwks/],
    [{ jwks: JWKS, jwksUrl: "http://127.0.0.1:9/jwks.json" }, "jwksUrl", /not both/],
    [{ assurance: { levels: ["pwd"] }, config: { assuranceLevels: ["pwd"] } }, "assurance", /config\.assuranceLevels/],
    [{ assurance: ["pwd", "mfa"] }, "assurance.levels", /levels/],
  ];
  for (const [options, where, message] of cases) {
    const r = await createEvaluator({ ...inputs, ...options });
    assert.equal(r.error?.code, "config.invalid", JSON.stringify(options));
    assert.equal(r.error.path, where);
    assert.match(r.error.message, message);
  }
  // the engine checks the values themselves
  const bad = await createEvaluator({ ...inputs, issuer: 7 });
  assert.equal(bad.error?.code, "config.invalid");
  assert.equal(bad.error.path, "token.issuer");
  assert.equal((await createEvaluator({ ...inputs, assurance: { levels: "pwd mfa" } })).error?.code, "config.invalid");
  assert.equal((await createEvaluator({ ...inputs, jwks: "{\"keys\":7}" })).error?.code, "jwks.invalid");
  assert.equal((await createEvaluator({ ...inputs, jwks: "{not json" })).error?.code, "jwks.invalid");
  // misuse throws
  await assert.rejects(createEvaluator({ ...inputs, jwks: "https://as.example/jwks.json" }), TypeError);
  await assert.rejects(createEvaluator({ ...inputs, jwksUrl: { href: "x" } }), TypeError);
  await assert.rejects(createEvaluator({ ...inputs, jwksUrl: "http://127.0.0.1:9/", jwksMinRefreshSeconds: -1 }), TypeError);
  await assert.rejects(createEvaluator({ ...inputs, onJwksRefresh: "yes" }), TypeError);
});

test("setJwks rotates keys on a live evaluator and keeps them on errors and refreshes", async () => {
  const pdp = await createEvaluator({ ...(await scenarioInputs()), issuer: ISS, audience: AUD, now: NOW });
  const token = await es256(claims());
  assert.equal(pdp.jwksStatus(), null);
  assertDenied(pdp.evaluate(REQUEST, { token }), "token.no_verifier");
  assert.deepEqual(pdp.setJwks(JWKS), { keys: 3, kids: ["ec-jose", "rsa-jose", "ed-jose"], skipped: [] });
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA);
  // the issuer configured at creation still applies to the new keys
  assertDenied(pdp.evaluate(REQUEST, { token: await es256(claims("alice", { iss: "https://evil.example" })) }), "token.issuer");
  // invalid documents change nothing
  for (const bad of ["garbage", "{\"keys\":7}", { keys: [{ kty: "RSA", kid: "x", n: "!!!", e: "AQAB" }] }]) {
    const r = pdp.setJwks(bad);
    assert.equal(r.error?.code, "jwks.invalid", JSON.stringify(bad));
    assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA, JSON.stringify(bad));
  }
  assert.throws(() => pdp.setJwks(42), TypeError);
  // a rotation: only the Ed25519 key is left
  assert.equal(pdp.setJwks(JSON.stringify({ keys: [KEYS.ed.jwk] })).keys, 1);
  assertDenied(pdp.evaluate(REQUEST, { token }), "token.unknown_kid");
  const ed = await sign({ alg: "EdDSA", kid: "ed-jose" }, claims(), KEYS.ed.privateKey);
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: ed })), WITH_MFA);
  assert.deepEqual(pdp.jwksStatus().kids, ["ed-jose"]);
  // refreshJwks without a jwksUrl is a clear error, not a fetch
  assert.equal((await pdp.refreshJwks()).error.code, "config.invalid");
  pdp.close();
  assert.throws(() => pdp.setJwks(JWKS), /after close/);
});

test("keys set with setJwks survive a refresh() that rebuilds the engine", async (t) => {
  const srv = await jwksServer();
  t.after(() => srv.close());
  srv.put("/nodes.json", await scenario("nodes.json"));
  srv.put("/relationships.json", await scenario("relationships.json"));
  const pdp = await createEvaluator({
    graph: [srv.url("/nodes.json"), srv.url("/relationships.json")],
    policies: await scenario("policy.json"),
    issuer: ISS,
    audience: AUD,
    now: NOW,
  });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  pdp.setJwks({ keys: [KEYS.ec.jwk] });
  const token = await es256(claims());
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA);
  // the graph changes on the server: a new engine is built and swapped in
  const rels = await scenario("relationships.json");
  srv.put("/relationships.json", { relationships: rels.relationships.filter((r) => r.source.external_id !== "alice") });
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: true });
  assert.equal(wire(pdp.evaluate(REQUEST, { token })).decision, false);
  srv.put("/relationships.json", rels);
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: true });
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA);
  assert.deepEqual(pdp.jwksStatus().kids, ["ec-jose"]);
  pdp.close();
});

// --- jwksUrl --------------------------------------------------------------------------------

/** A local server of swappable documents; counts requests and honours If-None-Match. */
async function jwksServer() {
  const docs = new Map(); // path -> {body, etag, status}
  const log = [];
  const server = await serve((req, res) => {
    log.push({ url: req.url, ifNoneMatch: req.headers["if-none-match"] });
    const doc = docs.get(req.url);
    if (!doc) {
      res.writeHead(404).end();
      return;
    }
    if (doc.status) {
      res.writeHead(doc.status).end();
      return;
    }
    if (req.headers["if-none-match"] === doc.etag) {
      res.writeHead(304, { etag: doc.etag }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", etag: doc.etag }).end(doc.body);
  });
  let n = 0;
  const put = (p, body) => docs.set(p, { body: typeof body === "string" ? body : JSON.stringify(body), etag: `"v${++n}"` });
  const fail = (p, status) => docs.set(p, { status, etag: `"v${++n}"` });
  const hits = (p) => log.filter((l) => l.url === p).length;
  return { ...server, put, fail, hits, log };
}

/** Resolves with the next `onJwksRefresh` result. */
function refreshes() {
  const waiting = [];
  const done = [];
  return {
    onJwksRefresh: (r) => {
      done.push(r);
      waiting.shift()?.(r);
    },
    next: () => new Promise((resolve) => waiting.push(resolve)),
    done,
  };
}

test("jwksUrl: rotated keys are fetched in the background on an unknown kid; the retry passes", async (t) => {
  const srv = await jwksServer();
  t.after(() => srv.close());
  const ec2 = await generateKeyPair("ES256");
  const ec2Jwk = { ...(await exportJWK(ec2.publicKey)), kid: "ec-2" };
  srv.put("/jwks.json", { keys: [KEYS.ec.jwk] });
  const events = refreshes();
  const pdp = await pdpWith({ jwks: undefined, jwksUrl: srv.url("/jwks.json"), onJwksRefresh: events.onJwksRefresh });
  assert.equal(srv.hits("/jwks.json"), 1);
  assert.deepEqual(pdp.jwksStatus().kids, ["ec-jose"]);
  assert.equal(pdp.jwksStatus().source, srv.url("/jwks.json"));
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: await es256(claims()) })), WITH_MFA);

  // the authorization server rotates: the old key is gone, a new one signs
  srv.put("/jwks.json", { keys: [ec2Jwk] });
  const fresh = await sign({ alg: "ES256", kid: "ec-2" }, claims(), ec2.privateKey);
  const next = events.next();
  // evaluation stays synchronous: this answer is the unknown kid, a refresh starts behind it
  assertDenied(pdp.evaluate(REQUEST, { token: fresh }), "token.unknown_kid");
  const r = await next;
  assert.deepEqual(r, { ok: true, changed: true, keys: 1, skipped: [] });
  assert.equal(srv.hits("/jwks.json"), 2);
  assert.equal(srv.log.at(-1).ifNoneMatch, '"v1"', "the refresh is conditional on the last ETag");
  // the retry passes; the rotated-away key no longer verifies
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: fresh })), WITH_MFA);
  assertDenied(pdp.evaluate(REQUEST, { token: await es256(claims()) }), "token.unknown_kid");
  assert.deepEqual(pdp.jwksStatus().kids, ["ec-2"]);
  assert.equal(pdp.jwksStatus().lastRefresh.ok, true);
  pdp.close();
});

test("jwksUrl: background refreshes are rate-limited (counted at the server), explicit ones are not", async (t) => {
  const srv = await jwksServer();
  t.after(() => srv.close());
  srv.put("/jwks.json", JWKS);
  const events = refreshes();
  const pdp = await pdpWith({ jwks: undefined, jwksUrl: srv.url("/jwks.json"), onJwksRefresh: events.onJwksRefresh });
  assert.equal(srv.hits("/jwks.json"), 1);
  const stranger = await es256(claims(), "nobody-has-this");

  // a flood of unknown kids: one background fetch (304: nothing changed), then none for 60 s
  for (let i = 0; i < 50; i++) assertDenied(pdp.evaluate(REQUEST, { token: stranger }), "token.unknown_kid");
  assert.deepEqual(await events.next(), { ok: true, changed: false });
  for (let i = 0; i < 50; i++) {
    assertDenied(pdp.evaluate(REQUEST, { token: stranger }), "token.unknown_kid");
    pdp.evaluations({ ...REQUEST, evaluations: [{}, {}] }, { token: stranger });
    pdp.searchResources({ subject: REQUEST.subject, action: REQUEST.action, resource: { type: "Laptop" } }, { token: stranger });
  }
  await sleep(100);
  assert.equal(srv.hits("/jwks.json"), 2);
  assert.equal(events.done.length, 1);
  // known kids and other failures never fetch
  pdp.evaluate(REQUEST, { token: await es256(claims()) });
  pdp.evaluate(REQUEST, { token: "not.a.token" });
  await sleep(20);
  assert.equal(srv.hits("/jwks.json"), 2);

  // explicit refreshes are the caller's choice: no rate limit, and concurrent calls share one fetch
  const [a, b] = await Promise.all([pdp.refreshJwks(), pdp.refreshJwks()]);
  assert.deepEqual(a, { ok: true, changed: false });
  assert.equal(a, b);
  assert.equal(srv.hits("/jwks.json"), 3);
  pdp.close();

  // a shorter interval (1 s): a second background fetch once it has passed
  const quick = await pdpWith({ jwks: undefined, jwksUrl: srv.url("/jwks.json"), jwksMinRefreshSeconds: 1, onJwksRefresh: events.onJwksRefresh });
  const before = srv.hits("/jwks.json");
  let done = events.next();
  quick.evaluate(REQUEST, { token: stranger });
  quick.evaluate(REQUEST, { token: stranger });
  await done;
  await sleep(50);
  quick.evaluate(REQUEST, { token: stranger });
  await sleep(20);
  assert.equal(srv.hits("/jwks.json"), before + 1);
  await sleep(1000);
  done = events.next();
  quick.evaluate(REQUEST, { token: stranger });
  await done;
  assert.equal(srv.hits("/jwks.json"), before + 2);
  quick.close();
});

test("jwksUrl: garbage, errors and unusable keys from the server keep the old keys and report the error", async (t) => {
  const srv = await jwksServer();
  t.after(() => srv.close());
  srv.put("/jwks.json", JWKS);
  const events = refreshes();
  const pdp = await pdpWith({ jwks: undefined, jwksUrl: new URL(srv.url("/jwks.json")), onJwksRefresh: events.onJwksRefresh });
  const token = await es256(claims());
  const check = () => assert.deepEqual(wire(pdp.evaluate(REQUEST, { token })), WITH_MFA);
  check();

  srv.put("/jwks.json", "<html>oops</html>");
  let r = await pdp.refreshJwks();
  assert.equal(r.ok, false);
  assert.equal(r.error.code, "jwks.invalid");
  assert.equal(r.error.source, srv.url("/jwks.json"));
  check();
  assert.equal(pdp.jwksStatus().lastRefresh.error.code, "jwks.invalid");
  assert.deepEqual(pdp.jwksStatus().kids, ["ec-jose", "rsa-jose", "ed-jose"]);

  // the conditional request still names the last good version
  srv.put("/jwks.json", { keys: [{ kty: "EC", kid: "bad", crv: "P-256", x: "AA", y: "AA" }] });
  r = await pdp.refreshJwks();
  assert.equal(r.error.code, "jwks.invalid");
  assert.match(r.error.message, /no key of the JWKS is usable/);
  assert.equal(srv.log.at(-1).ifNoneMatch, '"v1"');
  check();

  srv.fail("/jwks.json", 500);
  r = await pdp.refreshJwks();
  assert.deepEqual([r.ok, r.error.code, r.error.status], [false, "fetch.failed", 500]);
  check();

  // in the background, on an unknown kid: the same, reported through onJwksRefresh
  srv.put("/jwks.json", "{\"keys\":");
  const next = events.next();
  pdp.evaluate(REQUEST, { token: await es256(claims(), "new-key") });
  assert.equal((await next).error.code, "jwks.invalid");
  check();

  // refresh() re-checks the keys too and reports their failure; the server goes away
  await srv.close();
  r = await pdp.refresh();
  assert.equal(r.ok, false);
  assert.equal(r.error.code, "fetch.failed");
  check();
  pdp.close();
});

test("jwksUrl: refresh() picks up new keys; creation fails cleanly when the keys cannot load", async (t) => {
  const srv = await jwksServer();
  t.after(() => srv.close());
  srv.put("/jwks.json", { keys: [KEYS.ec.jwk] });
  const pdp = await pdpWith({ jwks: undefined, jwksUrl: srv.url("/jwks.json") });
  const ed = await sign({ alg: "EdDSA", kid: "ed-jose" }, claims(), KEYS.ed.privateKey);
  srv.put("/jwks.json", { keys: [KEYS.ec.jwk, KEYS.ed.jwk] });
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: true });
  assert.equal(srv.log.at(-1).ifNoneMatch, '"v1"');
  assert.deepEqual(wire(pdp.evaluate(REQUEST, { token: ed })), WITH_MFA);
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: false });
  pdp.close();

  const inputs = await scenarioInputs();
  const missing = await createEvaluator({ ...inputs, jwksUrl: srv.url("/nope.json") });
  assert.deepEqual([missing.error?.code, missing.error?.status, missing.error?.source], ["fetch.failed", 404, srv.url("/nope.json")]);
  srv.put("/garbage.json", "garbage");
  assert.equal((await createEvaluator({ ...inputs, jwksUrl: srv.url("/garbage.json") })).error?.code, "jwks.invalid");
  // the evaluator's own fetch is used
  const seen = [];
  const viaFetch = await createEvaluator({
    ...inputs,
    now: NOW,
    jwksUrl: "https://as.example/jwks",
    fetch: async (url) => {
      seen.push(String(url));
      return new Response(JSON.stringify(JWKS), { headers: { etag: '"x"' } });
    },
  });
  assert.deepEqual(seen, ["https://as.example/jwks"]);
  assert.deepEqual(wire(viaFetch.evaluate(REQUEST, { token: await es256(claims()) })), WITH_MFA);
  viaFetch.close();
});

// --- metadata ---------------------------------------------------------------------------------

test("metadata(baseUrl) is the AuthZEN discovery document the edge worker serves", async () => {
  const expected = (base) => ({
    policy_decision_point: base,
    access_evaluation_endpoint: `${base}/access/v1/evaluation`,
    access_evaluations_endpoint: `${base}/access/v1/evaluations`,
    search_subject_endpoint: `${base}/access/v1/search/subject`,
    search_resource_endpoint: `${base}/access/v1/search/resource`,
    search_action_endpoint: `${base}/access/v1/search/action`,
  });
  const pdp = await pdpWith();
  const doc = pdp.metadata("https://pdp.example.com");
  assert.deepEqual(doc, expected("https://pdp.example.com"));
  // member order as the worker serves it (JSON.stringify of the same literal)
  assert.equal(JSON.stringify(doc), JSON.stringify(expected("https://pdp.example.com")));
  assert.deepEqual(metadata("https://pdp.example.com/"), expected("https://pdp.example.com"));
  assert.deepEqual(metadata(new URL("https://PDP.example.com:443/authz//?x=1#y")), expected("https://pdp.example.com/authz"));
  assert.deepEqual(metadata("http://127.0.0.1:8787"), expected("http://127.0.0.1:8787"));
  for (const bad of ["/relative", "not a url", "file:///etc/passwd", undefined]) assert.throws(() => metadata(bad), TypeError, String(bad));

  pdp.close();
});

// --- tokens cross into wasm once per engine (slots) ---------------------------------------

test("tokens passed by slot answer as tokens passed as text, past the 256-slot limit", async () => {
  const pdp = await pdpWith();
  const good = await es256(claims("alice", { exp: 1_775_490_150, acr: "mfa" }));
  const other = await es256(claims("knightrider", { exp: 1_775_490_150 }));
  const asText = (token) => wire(pdp.evaluate(JSON.stringify(REQUEST), { token })); // JSON path: the token crosses as text
  const bySlot = (token) => wire(pdp.evaluate(REQUEST, { token })); // id-only fast path: by slot
  assert.deepEqual(bySlot(good), WITH_MFA);
  assert.equal(bySlot(other).context.reason, "token_subject_mismatch");
  // 600 distinct tokens (the engine keeps 256 and starts over), interleaved with the two above:
  // a stale slot would answer for the wrong token.
  const many = await Promise.all(Array.from({ length: 600 }, (_, i) => es256(claims(i % 2 ? "alice" : "satchmo", { exp: 1_775_490_150, acr: "mfa", jti: `t${i}` }))));
  for (const [i, token] of many.entries()) {
    assert.deepEqual(bySlot(token), asText(token), `token ${i}`);
    if (i % 50 === 0) {
      assert.deepEqual(bySlot(good), WITH_MFA, `good after ${i}`);
      assert.equal(bySlot(other).context.reason, "token_subject_mismatch", `other after ${i}`);
    }
  }
  assert.ok(many.some((t) => bySlot(t).decision === true) && many.some((t) => bySlot(t).decision === false));
  // new keys keep the slots (verification happens per call, through the engine's cache)
  pdp.setJwks(JWKS);
  assert.deepEqual(bySlot(good), WITH_MFA);
  pdp.close();
});
