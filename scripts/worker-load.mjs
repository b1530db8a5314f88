#!/usr/bin/env node
// Load and cold start of the edge worker in workerd (a README command, not a test):
//
//   node scripts/worker-load.mjs [--persons 100000] [--duration 10] [--connections 16]
//        [--batch 1] [--client wrk|autocannon] [--seed 42] [--pin] [--snapshot] [--json FILE]
//
// 1. Generates a graph with a fixed seed: persons p0..p{N-1}, each OWNS 1–3 laptops
//    (l{i}-0, l{i}-1, …); policy `MATCH (subject:Person)-[:OWNS]->(resource:Laptop)` for
//    action `service`. `--snapshot` converts it to a binary snapshot with the native CLI
//    (target/release/kbac snapshot), when the package can load snapshots.
// 2. Writes a workerd config bundling graph + policies (scripts/workerd-config.mjs) and
//    starts `workerd` (npm, from pkg-tests/node_modules) on 127.0.0.1, a free port.
// 3. Cold start = from spawning the process to the first correct decision (the first
//    request loads the snapshot into the engine).
// 4. A bounded load run (loopback only, fixed duration; `wrk` from Debian when installed,
//    else npm autocannon; `--client` picks) against POST
//    /access/v1/evaluation (`--batch N`: /access/v1/evaluations with N items per request):
//    4096 fixed requests, half about an owned laptop, half about someone else's, each
//    checked over HTTP before and after the run. Reports requests/s (and evaluations/s),
//    latency p50/p99, errors (HTTP errors, timeouts, non-2xx, wrong answers), the CPU time
//    workerd spent per request (capacity of one core, robust on a shared machine), and the
//    RSS of the workerd PID before and after. `--pin` runs workerd on CPU 0 and the load
//    generator on CPU 1 (taskset).
// 5. Stops workerd by its PID and removes the temporary files.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeWorkerdConfig } from "./workerd-config.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const requireFromTests = createRequire(path.join(ROOT, "pkg-tests/package.json"));

function args(argv) {
  const a = { persons: 100000, duration: 10, connections: 16, batch: 1, seed: 42, pin: false, snapshot: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === "--persons") a.persons = Number(v());
    else if (k === "--duration") a.duration = Number(v());
    else if (k === "--connections") a.connections = Number(v());
    else if (k === "--batch") a.batch = Number(v());
    else if (k === "--seed") a.seed = Number(v());
    else if (k === "--pin") a.pin = true;
    else if (k === "--snapshot") a.snapshot = true;
    else if (k === "--json") a.json = v();
    else if (k === "--client") a.client = v();
    else throw new Error(`unknown argument \`${k}\``);
  }
  if (a.client === undefined) {
    try {
      execFileSync("wrk", ["--version"], { stdio: "ignore" });
      a.client = "wrk";
    } catch (e) {
      a.client = e.code === "ENOENT" ? "autocannon" : "wrk"; // `wrk --version` exits 1
    }
  }
  if (a.client !== "wrk" && a.client !== "autocannon") throw new Error("--client is wrk or autocannon");
  if (!(Number.isInteger(a.batch) && a.batch >= 1 && a.batch <= 1000)) throw new Error("--batch is 1..1000 evaluations per request");
  if (!(a.persons > 1) || !(a.duration > 0 && a.duration <= 120) || !(a.connections > 0 && a.connections <= 256)) {
    throw new Error("--persons > 1, --duration in (0, 120] s, --connections in (0, 256]");
  }
  return a;
}

/** mulberry32: a small seeded PRNG (the graph and the request mix are reproducible). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateGraph(persons, seed) {
  const rand = rng(seed);
  const nodes = [];
  const relationships = [];
  const owned = new Uint8Array(persons);
  for (let i = 0; i < persons; i++) {
    nodes.push(`{"external_id":"p${i}","type":"Person","is_identity":true}`);
    const n = 1 + Math.floor(rand() * 3);
    owned[i] = n;
    for (let k = 0; k < n; k++) {
      nodes.push(`{"external_id":"l${i}-${k}","type":"Laptop"}`);
      relationships.push(`{"type":"OWNS","source":{"external_id":"p${i}","type":"Person"},"target":{"external_id":"l${i}-${k}","type":"Laptop"}}`);
    }
  }
  const text = `{"nodes":[${nodes.join(",")}],"relationships":[${relationships.join(",")}]}`;
  return { text, nodes: nodes.length, relationships: relationships.length, owned };
}

export const POLICY = {
  meta: { policy_version: "2.0-kbac" },
  subject: { type: "Person" },
  actions: ["service"],
  resource: { type: "Laptop" },
  condition: { cypher: "MATCH (subject:Person)-[:OWNS]->(resource:Laptop)" },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function rssKiB(pid) {
  // workerd runs as one process; its RSS covers the isolate, the wasm memory and the runtime.
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : null;
}

/**
 * The same run with wrk (Debian `wrk`, a C load generator that costs the machine far less
 * than autocannon): a Lua script cycles through the request bodies and prints a summary
 * shaped like autocannon's result.
 */
function runWrk(a, target, requests, dir) {
  const lua = path.join(dir, "load.lua");
  const bodies = requests.map((r) => `[==[${r.body}]==]`).join(",\n");
  writeFileSync(
    lua,
    `local bodies = {\n${bodies}\n}\nlocal n = 0\n` +
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n` +
      `request = function() n = n % #bodies + 1; return wrk.format(nil, nil, nil, bodies[n]) end\n` +
      `done = function(s, lat, req)\n` +
      `  io.write(string.format('{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',\n` +
      `    s.requests, s.duration, s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout,\n` +
      `    lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max))\nend\n`,
  );
  const cmd = ["wrk", "-t1", `-c${a.connections}`, `-d${a.duration}s`, "--timeout", "10s", "-s", lua, target];
  const full = a.pin ? ["taskset", ["-c", "1", ...cmd]] : [cmd[0], cmd.slice(1)];
  const text = execFileSync(full[0], full[1], { encoding: "utf8" });
  const line = text.split("\n").find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no summary:\n${text}`);
  const w = JSON.parse(line);
  const ms = (us) => Number((us / 1000).toFixed(2));
  return {
    requests: { total: w.requests, average: w.requests / (w.durationUs / 1e6) },
    latency: { p50: ms(w.p50), p90: ms(w.p90), p99: ms(w.p99), max: ms(w.max) },
    errors: w.connect + w.read + w.write,
    timeouts: w.timeout,
    non2xx: w.status,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

async function main() {
  const a = args(process.argv.slice(2));
  const workerdBin = requireFromTests("workerd").default;
  const autocannon = requireFromTests("autocannon");
  const pkgDir = process.env.KBAC_PKG_DIR ?? path.join(ROOT, "pkg");
  const dir = mkdtempSync(path.join(os.tmpdir(), "kbac-load-"));
  let child = null;
  try {
    // 1. graph
    let t = performance.now();
    const g = generateGraph(a.persons, a.seed);
    const graphFile = path.join(dir, "graph.json");
    writeFileSync(graphFile, g.text);
    const policiesFile = path.join(dir, "policies.json");
    writeFileSync(policiesFile, JSON.stringify(POLICY));
    let bundleFile = graphFile;
    console.log(`graph: ${a.persons} persons, ${g.nodes - a.persons} laptops, ${g.relationships} relationships, ` +
      `${(g.text.length / 1e6).toFixed(1)} MB JSON (seed ${a.seed}, ${(performance.now() - t).toFixed(0)} ms)`);
    if (a.snapshot) {
      const cli = path.join(ROOT, "target/release/kbac");
      if (!existsSync(cli)) throw new Error("--snapshot needs the native CLI: cargo build --release --bin kbac");
      bundleFile = path.join(dir, "graph.snap");
      execFileSync(cli, ["snapshot", "--graph", graphFile, "--policies", policiesFile, "--out", bundleFile], { stdio: "inherit" });
      console.log(`snapshot: ${(statSync(bundleFile).size / 1e6).toFixed(1)} MB binary`);
    }

    // 2. workerd
    const port = await freePort();
    const config = writeWorkerdConfig({
      outDir: path.join(dir, "workerd"),
      pkgDir,
      workers: [{ name: "kbac", mode: "pdp", port, graph: bundleFile, policies: policiesFile }],
    });
    const url = `http://127.0.0.1:${port}/access/v1/evaluation`;
    const cmd = a.pin ? ["taskset", ["-c", "0", workerdBin, "serve", config]] : [workerdBin, ["serve", config]];
    let log = "";
    const t0 = performance.now();
    child = spawn(cmd[0], cmd[1], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    let exited = false;
    child.once("exit", () => (exited = true));

    // 3. cold start: first correct decision (p0 owns l0-0)
    const first = JSON.stringify({ subject: { type: "Person", id: "p0" }, action: { name: "service" }, resource: { type: "Laptop", id: "l0-0" } });
    // when the socket accepts (workerd parsed its config, compiled the worker)
    let listenMs = null;
    for (let i = 0; i < 3000 && listenMs === null; i++) {
      if (exited) throw new Error(`workerd exited:\n${log}`);
      listenMs = await new Promise((resolve) => {
        const c = net.connect(port, "127.0.0.1");
        c.once("connect", () => {
          c.destroy();
          resolve(performance.now() - t0);
        });
        c.once("error", () => setTimeout(() => resolve(null), 2));
      });
    }
    let coldMs = null;
    for (let i = 0; i < 3000 && coldMs === null; i++) {
      if (exited) throw new Error(`workerd exited:\n${log}`);
      try {
        const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: first, signal: AbortSignal.timeout(30000) });
        const body = await r.json();
        if (r.status === 200 && body.decision === true) coldMs = performance.now() - t0;
        else if (r.status !== 200) throw new Error(`first answer ${r.status}: ${JSON.stringify(body)}`);
      } catch (e) {
        if (!/fetch failed|ECONNREFUSED/.test(String(e?.cause?.code ?? e?.message))) throw e;
        await sleep(2);
      }
    }
    if (coldMs === null) throw new Error(`no decision within the bounded wait:\n${log}`);
    const status = await (await fetch(`http://127.0.0.1:${port}/kbac/status`)).json();
    console.log(`cold start: ${coldMs.toFixed(0)} ms from process start to the first correct decision ` +
      `(workerd listening after ${listenMs.toFixed(0)} ms; snapshot load in the worker: ${status.loadMs} ms; engine: ${status.stats.nodes} nodes, ${status.stats.relationships} relationships, ` +
      `wasm memory ${(status.stats.memoryBytes / 1048576).toFixed(1)} MiB)`);

    // 4. load: 4096 fixed requests (half about an owned laptop), cycled by autocannon;
    //    every one of them is checked over HTTP before and after the run.
    const rand = rng(a.seed + 1);
    const items = [];
    for (let i = 0; i < 4096 * a.batch; i++) {
      const p = Math.floor(rand() * a.persons);
      const own = rand() < 0.5;
      let q = own ? p : Math.floor(rand() * a.persons);
      if (!own && q === p) q = (p + 1) % a.persons;
      const k = Math.floor(rand() * g.owned[q]);
      items.push({ req: { subject: { type: "Person", id: `p${p}` }, action: { name: "service" }, resource: { type: "Laptop", id: `l${q}-${k}` } }, want: p === q });
    }
    const requests = [];
    for (let i = 0; i < 4096; i++) {
      const chunk = items.slice(i * a.batch, (i + 1) * a.batch);
      requests.push(
        a.batch === 1
          ? { body: JSON.stringify(chunk[0].req), expected: JSON.stringify({ decision: chunk[0].want }) }
          : { body: JSON.stringify({ evaluations: chunk.map((x) => x.req) }), expected: JSON.stringify({ evaluations: chunk.map((x) => ({ decision: x.want })) }) },
      );
    }
    const target = `http://127.0.0.1:${port}/access/v1/${a.batch === 1 ? "evaluation" : "evaluations"}`;
    const verify = async () => {
      let wrong = 0;
      for (const r of requests) {
        const res = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: r.body });
        if (res.status !== 200 || (await res.text()) !== r.expected) wrong++;
      }
      return wrong;
    };
    const wrongBefore = await verify();
    const cpuTicks = () => {
      const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime
    };
    const rssBefore = rssKiB(child.pid);
    if (a.pin) {
      try {
        execFileSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" });
      } catch {
        /* not pinned */
      }
    }
    const hz = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    const cpu0 = cpuTicks();
    const result = a.client === "wrk" ? runWrk(a, target, requests, dir) : await autocannon({
      url: target,
      method: "POST",
      connections: a.connections,
      duration: a.duration,
      headers: { "content-type": "application/json" },
      requests: requests.map((r) => ({ body: r.body })),
    });
    const cpuS = (cpuTicks() - cpu0) / hz;
    const rssAfter = rssKiB(child.pid);
    const wrongAfter = await verify();
    const wrong = wrongBefore + wrongAfter;
    const errors = result.errors + result.timeouts + result.non2xx + wrong;
    const total = result.requests.total;
    const out = {
      persons: a.persons,
      laptops: g.nodes - a.persons,
      relationships: g.relationships,
      bundle: a.snapshot ? "binary snapshot" : "JSON",
      coldStartMs: Math.round(coldMs),
      listeningMs: Math.round(listenMs),
      loadMs: status.loadMs,
      endpoint: a.batch === 1 ? "/access/v1/evaluation" : `/access/v1/evaluations (${a.batch} per request)`,
      durationS: a.duration,
      connections: a.connections,
      requests: total,
      requestsPerSec: Math.round(result.requests.average),
      evaluationsPerSec: Math.round(result.requests.average * a.batch),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      workerdCpuSeconds: Number(cpuS.toFixed(2)),
      workerdCpuUsPerRequest: total ? Math.round((cpuS * 1e6) / total) : null,
      evaluationsPerWorkerdCpuSecond: cpuS ? Math.round((total * a.batch) / cpuS) : null,
      errors: { total: errors, http: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, wrongDecisions: wrong, checked: 2 * requests.length * a.batch },
      rssKiB: { before: rssBefore, after: rssAfter },
      pinned: a.pin,
      client: a.client,
      workerd: requireFromTests("workerd/package.json").version,
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
    console.log(`load (${a.client}): ${a.duration} s, ${a.connections} connections, POST ${out.endpoint}: ${total} requests, ` +
      `${out.requestsPerSec} req/s = ${out.evaluationsPerSec} evaluations/s, latency p50 ${out.latencyMs.p50} ms, p99 ${out.latencyMs.p99} ms, max ${out.latencyMs.max} ms`);
    console.log(`workerd CPU: ${out.workerdCpuSeconds} s for ${total} requests = ${out.workerdCpuUsPerRequest} µs per request, ` +
      `${out.evaluationsPerWorkerdCpuSecond} evaluations per CPU-second (one core)`);
    console.log(`errors: ${errors} (http ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, ` +
      `wrong answers ${wrong} of ${out.errors.checked} decisions checked before and after)`);
    console.log(`workerd RSS: ${mib(rssBefore)} before, ${mib(rssAfter)} after; load average ${out.loadAverage.join(" ")}`);
    if (a.json) writeFileSync(a.json, `${JSON.stringify(out, null, 2)}\n`);
    if (errors !== 0) process.exitCode = 1;
  } finally {
    if (child && child.exitCode === null) {
      process.kill(child.pid, "SIGTERM");
      for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  });
}
