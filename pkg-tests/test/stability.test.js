// Node 20 stability: ≥5,000,000 evaluate calls with allocation pressure (forcing GCs) in a
// child process under Node's DEFAULT flags must exit cleanly (no V8 fatal error / abort).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { PKG_TESTS, SCENARIO } from "./helpers.js";

const CALLS = Number(process.env.KBAC_STABILITY_CALLS ?? 5_000_000);

test(`${CALLS} hot evaluate calls under GC pressure exit cleanly (node ${process.version}, default flags)`, { timeout: 900_000 }, async () => {
  const script = path.join(PKG_TESTS, "fixtures/hot-loop.mjs");
  // default flags: no --no-turbo-inline-js-wasm-calls, no --expose-gc; drop inherited NODE_OPTIONS
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [script, SCENARIO, String(CALLS)], { cwd: PKG_TESTS, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const [code, signal] = await new Promise((resolve) => child.on("exit", (c, s) => resolve([c, s])));
  console.log(`stability: ${out.trim()}`);
  assert.equal(signal, null, `killed by ${signal}\n${err}`);
  assert.equal(code, 0, `exit ${code}\n${err.slice(-4000)}`);
  assert.match(out, new RegExp(`^done ${CALLS} calls`));
});
