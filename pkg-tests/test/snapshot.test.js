// Binary snapshots (`KBACSNAP…`) through the package: round trip, corruption as data,
// loading over HTTP and refresh that keeps serving when a new snapshot is corrupt.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createEvaluator } from "kbac-wasm";
import { scenario, scenarioInputs, serve, wire } from "./helpers.js";

test("snapshot round trip: graph and policies come back from the bytes alone", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  const bytes = pdp.snapshot();
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "KBACSNAP");
  const copy = await createEvaluator({ snapshot: bytes });
  assert.ok(!("error" in copy), JSON.stringify(copy.error));
  const { memoryBytes: _a, ...s1 } = pdp.stats();
  const { memoryBytes: _b, ...s2 } = copy.stats();
  assert.deepEqual(s2, s1);
  const request = await scenario("request.json");
  assert.deepEqual(wire(copy.evaluate(request)), await scenario("response-without-token.json"));
  const claims = { sub: "alice", exp: 1_775_490_150 };
  assert.equal(copy.evaluate(request, { claims, now: 1_775_490_000 }).decision, true);
  // ArrayBuffer works too
  const fromBuffer = await createEvaluator({ graph: bytes.slice().buffer });
  assert.ok(!("error" in fromBuffer), JSON.stringify(fromBuffer.error));
  pdp.close();
  copy.close();
  fromBuffer.close();
});

test("corrupt and truncated snapshots are snapshot.* errors, never exceptions", async () => {
  const pdp = await createEvaluator(await scenarioInputs());
  const bytes = pdp.snapshot();
  const flipped = bytes.slice();
  flipped[flipped.length - 3] ^= 0xff;
  for (const bad of [flipped, bytes.slice(0, 20), bytes.slice(0, 8), bytes.slice(0, bytes.length - 1)]) {
    const r = await createEvaluator({ snapshot: bad });
    assert.ok(r.error, `expected an error for ${bad.length} bytes`);
    assert.match(r.error.code, /^snapshot\./);
  }
  const version = bytes.slice();
  version[8] = 0xee;
  const r = await createEvaluator({ snapshot: version });
  assert.match(r.error?.code ?? "", /^snapshot\./);
  pdp.close();
});

test("a snapshot URL refreshes atomically", async (t) => {
  const base = await createEvaluator(await scenarioInputs());
  const good = base.snapshot();
  let body = good;
  let etag = '"1"';
  const srv = await serve((req, res) => {
    if (req.headers["if-none-match"] === etag) return res.writeHead(304, { etag }).end();
    res.writeHead(200, { "content-type": "application/octet-stream", etag }).end(Buffer.from(body));
  });
  t.after(() => srv.close());
  const pdp = await createEvaluator({ snapshot: srv.url("/graph.kbacsnap") });
  assert.ok(!("error" in pdp), JSON.stringify(pdp.error));
  assert.deepEqual(await pdp.refresh(), { ok: true, changed: false });
  body = good.slice(0, good.length - 10);
  etag = '"2"';
  const r = await pdp.refresh();
  assert.equal(r.ok, false);
  assert.match(r.error.code, /^snapshot\./);
  assert.deepEqual(wire(pdp.evaluate(await scenario("request.json"))), await scenario("response-without-token.json"));
  pdp.close();
  base.close();
});
