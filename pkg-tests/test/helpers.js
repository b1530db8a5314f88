// Shared helpers of the pkg-tests suites (paths, fixture loading, a local HTTP server).
// Tests import the package by its name only (never ../src or ../pkg).
import { readFile, readdir, stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PKG_TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = path.resolve(PKG_TESTS, "..");
export const SCENARIO = process.env.KBAC_SCENARIO_DIR ?? path.resolve(REPO, "../shared/scenarios/step-up-laptop");
export const CASES = path.resolve(REPO, "tests/cases");

export async function readJson(file) {
  return JSON.parse(await readFile(file, "utf8"));
}

export async function exists(p) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function scenario(file) {
  return readJson(path.join(SCENARIO, file));
}

/** The reference scenario's graph (nodes, then relationships) and policy. */
export async function scenarioInputs() {
  return {
    graph: [await scenario("nodes.json"), await scenario("relationships.json")],
    policies: await scenario("policy.json"),
  };
}

export async function caseDirs() {
  if (!(await exists(CASES))) return [];
  const out = [];
  for (const name of (await readdir(CASES)).sort()) {
    const dir = path.join(CASES, name);
    if ((await stat(dir)).isDirectory() && (await exists(path.join(dir, "requests.json")))) out.push(dir);
  }
  return out;
}

/** A copy of an answer without the non-enumerable extras (plain JSON). */
export function wire(x) {
  return JSON.parse(JSON.stringify(x));
}

/**
 * Start an HTTP server on 127.0.0.1 (free port). `handler(req, res)`; returns
 * `{url(path), close()}`. Connections are tracked so `close()` never hangs.
 */
export async function serve(handler) {
  const sockets = new Set();
  const server = http.createServer(handler);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
