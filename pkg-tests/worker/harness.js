// Harness of the edge-worker suites: writes a workerd config for the built package
// (scripts/workerd-config.mjs), starts the real `workerd` binary (npm `workerd`) on
// 127.0.0.1 with free ports, waits until every socket answers, and stops it by PID.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import workerd from "workerd";

export const PKG_TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = path.resolve(PKG_TESTS, "..");
export const CONFORMANCE = path.resolve(REPO, "../shared/conformance/authzen");
export const INTEROP = path.resolve(REPO, "tests/interop");
export const SCENARIO = process.env.KBAC_SCENARIO_DIR ?? path.resolve(REPO, "../shared/scenarios/step-up-laptop");
/** The built package (pkg-tests depends on it by name; KBAC_PKG_DIR overrides). */
export const PKG_DIR = process.env.KBAC_PKG_DIR ?? path.dirname(fileURLToPath(import.meta.resolve("kbac-wasm/package.json")));

/** Path of the workerd binary (the npm package's CommonJS default export). */
export const WORKERD_BIN = typeof workerd === "string" ? workerd : workerd.default;

const { writeWorkerdConfig } = await import(path.join(REPO, "scripts/workerd-config.mjs"));

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start one workerd process serving `workers` (see writeWorkerdConfig; `port` is assigned).
 * Returns `{url(name, path), pid, log(), stop()}`.
 */
export async function startWorkerd(workers, { allowLocal = true, readyTimeoutMs = 30000 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kbac-workerd-"));
  const ports = {};
  for (const w of workers) ports[w.name] = await freePort();
  const config = writeWorkerdConfig({
    outDir: dir,
    pkgDir: PKG_DIR,
    allowLocal,
    workers: workers.map((w) => ({ ...w, port: ports[w.name] })),
  });
  const child = spawn(WORKERD_BIN, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let dead = null;
  exited.then((x) => (dead = x));
  const url = (name, p = "/") => `http://127.0.0.1:${ports[name]}${p}`;
  const stop = async () => {
    if (!dead) {
      process.kill(child.pid, "SIGTERM");
      const t = await Promise.race([exited, sleep(5000).then(() => null)]);
      if (!t) {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready = every socket answers HTTP (any status).
  const deadline = Date.now() + readyTimeoutMs;
  for (const w of workers) {
    for (;;) {
      if (dead) {
        await stop();
        throw new Error(`workerd exited (${JSON.stringify(dead)}):\n${log}`);
      }
      try {
        const r = await fetch(url(w.name, "/kbac/status"), { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        break;
      } catch {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`workerd did not answer on ${url(w.name)} within ${readyTimeoutMs} ms:\n${log}`);
        }
        await sleep(50);
      }
    }
  }
  return { url, pid: child.pid, log: () => log, stop, dir };
}

/** POST JSON text/object; returns `{status, headers, body (parsed or text)}`. */
export async function post(u, body, headers = {}) {
  const res = await fetch(u, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return answer(res);
}

export async function answer(res) {
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * An HTTP server on 127.0.0.1 (free port). `handler(req, res, body)` gets the whole body.
 * Returns `{url(path), requests, close()}`; `requests` records `{method, url, headers}`.
 */
export async function serve(handler) {
  const sockets = new Set();
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers });
      handler(req, res, Buffer.concat(chunks));
    });
  });
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
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---- ES256 tokens signed with Node crypto ------------------------------------------------

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** A P-256 key pair: `{kid, jwk (public, for the JWKS), sign(claims) -> compact JWS}`. */
export function es256Key(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" };
  const sign = (claims, header = {}) => {
    const head = b64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid, ...header }));
    const body = b64url(JSON.stringify(claims));
    const sig = crypto.sign("sha256", Buffer.from(`${head}.${body}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
    return `${head}.${body}.${b64url(sig)}`;
  };
  return { kid, jwk, sign };
}

export const nowSecs = () => Math.floor(Date.now() / 1000);

/** Poll `check()` until truthy, at most `tries` times `everyMs` apart; returns its value. */
export async function eventually(check, { tries = 60, everyMs = 250 } = {}) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await check();
    if (last) return last;
    await sleep(everyMs);
  }
  return last;
}
