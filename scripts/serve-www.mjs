#!/usr/bin/env node
// A tiny static file server for the demo page (no dependencies): serves www/ (or the
// directory given as the first argument) on 127.0.0.1, port $PORT or a free one, and prints
// the URL as its first line of output. Stops on SIGINT / SIGTERM.
//
//   node scripts/serve-www.mjs [dir]        PORT=8080 node scripts/serve-www.mjs
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL("../www/", import.meta.url)));
const HOST = "127.0.0.1";
const port = process.env.PORT === undefined || process.env.PORT === "" ? 0 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve-www: PORT must be a port number, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

function send(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "method not allowed\n");
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url, "http://x").pathname);
  } catch {
    return send(res, 400, "bad request\n");
  }
  if (pathname.includes("\0")) return send(res, 400, "bad request\n");
  let file = path.resolve(root, `.${pathname}`);
  if (file !== root && !file.startsWith(root + path.sep)) return send(res, 403, "forbidden\n");
  let st = await stat(file).catch(() => null);
  if (st?.isDirectory()) {
    file = path.join(file, "index.html");
    st = await stat(file).catch(() => null);
  }
  if (!st?.isFile()) return send(res, 404, "not found\n");
  res.writeHead(200, {
    "content-type": MIME[path.extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": st.size,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") return res.end();
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) send(res, 500, "internal error\n");
    else res.destroy();
  });
});
server.on("error", (e) => {
  const hint = e.code === "EADDRINUSE" ? " (set PORT to another port, or PORT=0 for a free one)" : "";
  console.error(`serve-www: cannot listen on ${HOST}:${port}: ${e.message}${hint}`);
  process.exit(1);
});
server.listen(port, HOST, () => {
  const { port: bound } = server.address();
  console.log(`http://${HOST}:${bound}/`);
  console.log(`serve-www: serving ${root} (Ctrl+C stops)`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
