// The AuthZEN interop files over HTTP against the edge worker in workerd (PDP mode), judged
// as the official runners judge (see tests/interop.rs); any error answer fails a case.
// Graphs/policies: tests/interop/<scenario>/; cases: ../shared/conformance/authzen/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CONFORMANCE, INTEROP, post, startWorkerd } from "./harness.js";

const SCENARIOS = ["todo", "gateway", "search", "idp"];
let wd;

before(async () => {
  wd = await startWorkerd(
    SCENARIOS.map((name) => ({
      name,
      mode: "pdp",
      graph: path.join(INTEROP, name, "graph.json"),
      policies: path.join(INTEROP, name, "policies.json"),
    })),
  );
});

after(async () => {
  await wd?.stop();
});

async function conformance(file) {
  return JSON.parse(await readFile(path.join(CONFORMANCE, file), "utf8"));
}

function report(t, file, passed, total, failures, detail = "") {
  t.diagnostic(`${file}: ${passed}/${total} over HTTP${detail}`);
  assert.equal(failures.length, 0, `${file}: ${failures.length} failing case(s):\n${failures.slice(0, 10).join("\n")}`);
  assert.equal(passed, total);
}

async function singles(scenario, cases, failures, file) {
  let passed = 0;
  for (const [i, c] of cases.entries()) {
    const r = await post(wd.url(scenario, "/access/v1/evaluation"), c.request);
    const decision = r.body?.decision ?? false;
    if (r.status === 200 && !r.body?.error && decision === c.expected) passed++;
    else failures.push(`${file} evaluation[${i}]: expected ${c.expected}, got ${r.status} ${JSON.stringify(r.body)}`);
  }
  return passed;
}

for (const file of [
  "todo_decisions.json",
  "todo_decisions-authorization-api-1_0-00.json",
  "todo_decisions-authorization-api-1_0-01.json",
  "todo_decisions-authorization-api-1_0-02.json",
]) {
  test(`Todo interop over HTTP: ${file}`, async (t) => {
    const data = await conformance(file);
    const cases = data.decisions ?? data.evaluation;
    assert.equal(cases.length, 40);
    const failures = [];
    const sp = await singles("todo", cases, failures, file);
    const batch = data.evaluations ?? [];
    let bp = 0;
    for (const [i, c] of batch.entries()) {
      const r = await post(wd.url("todo", "/access/v1/evaluations"), c.request);
      if (r.status === 200 && JSON.stringify(r.body?.evaluations) === JSON.stringify(c.expected)) bp++;
      else failures.push(`${file} evaluations[${i}]: expected ${JSON.stringify(c.expected)}, got ${r.status} ${JSON.stringify(r.body)}`);
    }
    const detail = batch.length ? ` (${sp}/${cases.length} single, ${bp}/${batch.length} batch)` : "";
    report(t, file, sp + bp, cases.length + batch.length, failures, detail);
  });
}

test("API gateway interop over HTTP: api-gateway_decisions.json", async (t) => {
  const file = "api-gateway_decisions.json";
  const cases = (await conformance(file)).evaluation;
  assert.equal(cases.length, 25);
  const failures = [];
  const passed = await singles("gateway", cases, failures, file);
  report(t, file, passed, cases.length, failures);
});

// Search: results sorted by (type, id, name), null members dropped, each object compared
// with exactly the expected members. `exactOrder` also compares the member order, as the
// official search runner does (it compares JSON.stringify text).
function canon(o, exactOrder) {
  const entries = Object.entries(o).filter(([, v]) => v !== null);
  if (!exactOrder) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(entries));
}
function sorted(results, exactOrder = false) {
  if (!Array.isArray(results)) return null;
  const key = (o) => [o.type ?? "", o.id ?? "", o.name ?? ""].join("\u0000");
  return [...results].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((o) => canon(o, exactOrder));
}

for (const [file, scenario, top, endpoint, count] of [
  ["search-subject_results.json", "search", "evaluation", "subject", 60],
  ["search-resource_results.json", "search", "evaluation", "resource", 18],
  ["search-action_results.json", "search", "evaluation", "action", 120],
  ["idp_results.json", "idp", "search", "resource", 6],
]) {
  test(`Search interop over HTTP: ${file}`, async (t) => {
    const cases = (await conformance(file))[top];
    assert.equal(cases.length, count);
    const failures = [];
    let passed = 0;
    for (const [i, c] of cases.entries()) {
      const r = await post(wd.url(scenario, `/access/v1/search/${endpoint}`), c.request);
      const got = r.status === 200 ? sorted(r.body?.results) : null;
      if (got && JSON.stringify(got) === JSON.stringify(sorted(c.expected.results))) passed++;
      else failures.push(`${file} search[${i}]: expected ${JSON.stringify(c.expected)}, got ${r.status} ${JSON.stringify(r.body)}`);
    }
    report(t, file, passed, cases.length, failures);
  });
}

// The official search runner compares JSON text, so `{"type","id"}` must come in that member
// order.
test(
  "search results keep the member order the official runner compares ({type, id})",
  async () => {
    const r = await post(wd.url("search", "/access/v1/search/resource"), {
      subject: { type: "user", id: "alice" },
      action: { name: "delete" },
      resource: { type: "record" },
    });
    assert.equal(r.status, 200);
    for (const o of r.body.results) assert.deepEqual(Object.keys(o), ["type", "id"]);
  },
);
