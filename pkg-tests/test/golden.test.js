// Parity with the Rust golden cases (tests/golden.rs): every `tests/cases/<case>/`
// (format in tests/cases/README.md) re-run through the package must give the same answer.
// Same rules as the Rust runner: `context.reason_admin` is prose and compared for presence
// only; requests listed in tests/cases/KNOWN_FAILURES.md are skipped (and fail once they
// pass); the same `golden: N cases, M requests` line is printed so the counts can be compared.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createEvaluator } from "kbac-wasm";
import { caseDirs, exists, readJson, wire, CASES } from "./helpers.js";

async function knownFailures() {
  const file = path.join(CASES, "KNOWN_FAILURES.md");
  if (!(await exists(file))) return new Set();
  const keys = new Set();
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const m = /^\s*- `([^`]*)`/.exec(line);
    if (m) keys.add(m[1]);
  }
  return keys;
}

function normalise(v) {
  const out = wire(v);
  if (out?.context && typeof out.context === "object" && "reason_admin" in out.context) out.context.reason_admin = "<present>";
  return out;
}

const dirs = await caseDirs();
const known = await knownFailures();
const loaded = [];
let requests = 0;
for (const dir of dirs) {
  const items = await readJson(path.join(dir, "requests.json"));
  requests += Array.isArray(items) ? items.length : 0;
  loaded.push([dir, items]);
}
console.log(`golden: ${dirs.length} cases, ${requests} requests (${CASES})`);

if (dirs.length === 0) {
  test("golden cases", { skip: `no cases in ${CASES} yet` }, () => {});
}

const seen = new Set();
for (const [dir, items] of loaded) {
  const name = path.basename(dir);
  seen.add(name);
  for (const [i, item] of (Array.isArray(items) ? items : []).entries()) seen.add(`${name}/${item?.name ?? `#${i}`}`);
  test(`golden: ${name}`, async (t) => {
    assert.ok(Array.isArray(items), "requests.json must be an array");
    const file = async (f) => ((await exists(path.join(dir, f))) ? readJson(path.join(dir, f)) : undefined);
    const pdp = await createEvaluator({ graph: await file("graph.json"), policies: await file("policies.json"), config: await file("config.json") });
    assert.ok(!("error" in pdp), `cannot load: ${JSON.stringify(pdp.error)}`);
    // The Rust runner evaluates without a clock unless the case sets `now`.
    pdp.now = () => undefined;
    for (const [i, item] of items.entries()) {
      const key = `${name}/${item.name ?? `#${i}`}`;
      const listed = known.has(key) || known.has(name);
      await t.test(item.name ?? `#${i}`, (tt) => {
        const extra = Object.keys(item).find((k) => !["name", "request", "options", "expected"].includes(k));
        assert.equal(extra, undefined, `unknown member \`${extra}\``);
        const o = item.options ?? {};
        const opts = { now: o.now, claims: o.claims };
        const got = pdp.evaluate(item.request, opts);
        // the JSON-text path must agree with the object (fast id-only) path
        assert.deepEqual(wire(pdp.evaluate(JSON.stringify(item.request), opts)), wire(got));
        let ok = true;
        try {
          assert.deepEqual(normalise(got), normalise(item.expected));
        } catch (e) {
          ok = false;
          if (!listed) throw e;
        }
        if (listed && !ok) tt.skip("listed in KNOWN_FAILURES.md");
        if (known.has(key) && ok) assert.fail(`${key}: listed in KNOWN_FAILURES.md but passes now; remove the entry`);
      });
    }
    pdp.close();
  });
}

test("KNOWN_FAILURES.md names only existing cases and requests", () => {
  for (const k of known) assert.ok(seen.has(k), `KNOWN_FAILURES.md names \`${k}\`, which is no case or request`);
});
