// kbac-wasm/worker: the package as an edge worker (workerd / Cloudflare Workers, ES module
// format). Two modes:
//
//   pdp  an AuthZEN 1.0 PDP over HTTPS JSON: GET /.well-known/authzen-configuration,
//        POST /access/v1/evaluation, /evaluations, /search/{subject,resource,action}
//   pep  a gateway: configured routes (method + path template) -> an AuthZEN request with
//        the bearer token (verified by the engine); permit -> forwarded to the upstream,
//        step-up advice -> 401 with the RFC 9470 challenge, otherwise 403
//
// Configuration comes from `createWorker(bundled)` (graph/policies/config bundled with the
// worker) and from bindings: KBAC_MODE (text), KBAC_CONFIG (JSON object or text),
// KBAC_GRAPH, KBAC_POLICIES (bundled sources), KBAC_API_KEY (text, a secret), UPSTREAM
// (service binding, PEP mode). Graph, policies and JWKS may be URLs: loaded on the first
// request, kept in memory across requests, re-checked with ETag every `refreshSeconds`
// (a failed refresh keeps serving what was loaded). The wasm is instantiated once per
// isolate. Errors are JSON `{"error":{code,message,…}}`.

import { createEvaluator, metadata } from "./workerd.js";

const WELL_KNOWN = "/.well-known/authzen-configuration";
const ENDPOINTS = {
  "/access/v1/evaluation": "evaluate",
  "/access/v1/evaluations": "evaluations",
  "/access/v1/search/subject": "searchSubjects",
  "/access/v1/search/resource": "searchResources",
  "/access/v1/search/action": "searchActions",
};
const DEFAULTS = {
  maxBodyBytes: 1 << 20, // the engine's own request limit
  refreshSeconds: 60,
  retrySeconds: 5,
  realm: "kbac",
  statusPath: "/kbac/status",
};
const STEP_UP = "insufficient_user_authentication";
const utf8 = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------
// Small helpers.

function err(code, message, extra) {
  return { error: { code, message, ...extra } };
}

function parseMaybeJson(v, what) {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch (e) {
    throw new Error(`kbac-wasm/worker: ${what} is not valid JSON: ${e.message}`);
  }
}

function isUrlLike(x) {
  if (x instanceof URL) return true;
  if (typeof x !== "string") return false;
  const c = x.trimStart()[0];
  return c !== undefined && c !== "{" && c !== "[";
}

function hasUrl(src) {
  return Array.isArray(src) ? src.some(isUrlLike) : isUrlLike(src);
}

function quote(v) {
  // eslint-disable-next-line no-control-regex
  return `"${String(v).replace(/[\u0000-\u001f\u007f]/g, "").replace(/[\\"]/g, "\\$&")}"`;
}

/** Constant-time string comparison (length still leaks, as with any bearer key). */
function sameKey(a, b) {
  if (typeof a !== "string" || typeof b !== "string" || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

function bearer(request) {
  const h = request.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(h);
  return m ? m[1] : "";
}

function requestId(request) {
  return request.headers.get("x-request-id") || crypto.randomUUID();
}

function respond(status, body, rid, headers) {
  // `headers` members are lowercase; they win over the defaults.
  const h = { "content-type": "application/json", "cache-control": "no-store", ...headers, "x-request-id": rid };
  return new Response(body === null || typeof body === "string" ? body : JSON.stringify(body), { status, headers: h });
}

/** HTTP status for an engine error answer. */
function statusOf(code) {
  if (code === "input.too_large") return 413;
  if (/^(json|request|search)\./.test(code)) return 400;
  return 500;
}

/** The JSON payload of a compact JWS, unverified (the engine verifies), or null. */
function tokenClaims(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims = JSON.parse(utf8.decode(bytes));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

/**
 * Read a request body as UTF-8 text within `max` bytes: checks Content-Length first, then
 * the bytes actually received (chunked bodies are read incrementally and cut off).
 * Returns the text, or `{status, body}` for 413 / 400.
 */
async function readBody(request, max) {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    return { status: 413, body: err("input.too_large", `request body of ${declared} bytes exceeds the limit of ${max} bytes`) };
  }
  let bytes;
  if (declared !== null) {
    bytes = await request.arrayBuffer();
  } else if (request.body) {
    const reader = request.body.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
    }
    bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
  } else {
    bytes = new ArrayBuffer(0);
  }
  if (bytes.byteLength > max) {
    return { status: 413, body: err("input.too_large", `request body exceeds the limit of ${max} bytes`) };
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return { status: 400, body: err("json.syntax", "request body is not valid UTF-8") };
  }
}

function isJsonType(ct) {
  if (!ct) return false;
  const mime = ct.split(";")[0].trim().toLowerCase();
  return mime === "application/json";
}

// ---------------------------------------------------------------------------------------
// Settings: bundled values, then bindings, then KBAC_CONFIG members.

function settingsOf(env, bundled) {
  const cfg = { ...parseMaybeJson(env.KBAC_CONFIG ?? {}, "KBAC_CONFIG"), ...parseMaybeJson(bundled.config ?? {}, "config") };
  const pick = (...xs) => xs.find((x) => x !== undefined && x !== null);
  const s = { ...DEFAULTS, ...cfg };
  s.mode = String(pick(bundled.mode, env.KBAC_MODE, cfg.mode, "pdp")).toLowerCase();
  if (s.mode !== "pdp" && s.mode !== "pep") throw new Error(`kbac-wasm/worker: unknown mode \`${s.mode}\` (pdp or pep)`);
  s.graph = pick(bundled.graph, bundled.snapshot, env.KBAC_GRAPH, cfg.graph, cfg.snapshot, cfg.graphUrl, cfg.snapshotUrl);
  s.policies = pick(bundled.policies, env.KBAC_POLICIES, cfg.policies, cfg.policiesUrl);
  if (s.graph === undefined) throw new Error("kbac-wasm/worker: no graph (bundle one, bind KBAC_GRAPH, or set `graph` to a URL)");
  s.engine = parseMaybeJson(pick(bundled.engine, cfg.engine, {}), "engine");
  s.jwksUrl = pick(cfg.jwksUrl);
  const key = pick(env.KBAC_API_KEY, cfg.apiKey);
  s.apiKeys = key === undefined ? [] : (Array.isArray(key) ? key : [key]).map(String).filter(Boolean);
  s.upstream = pick(env.KBAC_UPSTREAM, cfg.upstream);
  s.upstreamService = env.UPSTREAM && typeof env.UPSTREAM.fetch === "function" ? env.UPSTREAM : null;
  if (s.mode === "pep") {
    if (!s.upstream && !s.upstreamService) throw new Error("kbac-wasm/worker: pep mode needs `upstream` (a URL) or an UPSTREAM service binding");
    s.routes = (cfg.routes ?? []).map((r, i) => compileRoute(r, i, cfg));
  }
  s.basePath = "";
  if (s.baseUrl) {
    const u = new URL(s.baseUrl);
    s.baseUrl = u.origin + u.pathname.replace(/\/+$/, "");
    s.basePath = u.pathname.replace(/\/+$/, "");
  }
  s.remote = hasUrl(s.graph) || (s.policies !== undefined && hasUrl(s.policies)) || Boolean(s.jwksUrl);
  return s;
}

// ---------------------------------------------------------------------------------------
// PEP routes: `{method, path: "/todos/{todoId}", action?, resource?, subject?}`; values are
// templates: `{name}` / `{path.name}` (path parameter), `{token.claim}`, `{header.name}`,
// `{query.name}`, `{method}`, `{route}` (the template), `{path}`. An `id` may be a list of
// templates: the first that resolves wins.

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileRoute(r, i, cfg) {
  if (!r || typeof r.path !== "string" || !r.path.startsWith("/")) {
    throw new Error(`kbac-wasm/worker: routes[${i}].path must be a path template starting with /`);
  }
  const names = [];
  const re = r.path
    .split(/(\{[^{}]+\})/)
    .map((part) => {
      if (part.startsWith("{") && part.endsWith("}")) {
        names.push(part.slice(1, -1));
        return "([^/]+)";
      }
      return escapeRe(part);
    })
    .join("");
  const methods = r.method === undefined || r.method === "*" ? null : (Array.isArray(r.method) ? r.method : [r.method]).map((m) => String(m).toUpperCase());
  return {
    template: r.path,
    re: new RegExp(`^${re}$`),
    names,
    methods,
    action: r.action ?? cfg.action ?? { name: "{method}" },
    resource: r.resource ?? cfg.resource ?? { type: "route", id: "{route}" },
    subject: r.subject ?? cfg.subject ?? { type: "identity", id: "{token.sub}" },
    context: r.context ?? cfg.context,
  };
}

const UNRESOLVED = Symbol("unresolved");

function lookup(name, vars) {
  const dot = name.indexOf(".");
  if (dot < 0) return vars.special[name] ?? vars.path[name];
  const ns = name.slice(0, dot);
  const key = name.slice(dot + 1);
  if (ns === "path") return vars.path[key];
  if (ns === "token") {
    const v = vars.claims?.[key];
    return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
  }
  if (ns === "header") return vars.request.headers.get(key) ?? undefined;
  if (ns === "query") return vars.url.searchParams.get(key) ?? undefined;
  return undefined;
}

function fill(template, vars) {
  if (Array.isArray(template)) {
    for (const t of template) {
      const v = fill(t, vars);
      if (v !== UNRESOLVED) return v;
    }
    return UNRESOLVED;
  }
  if (typeof template !== "string") return template;
  let missing = false;
  const out = template.replace(/\{([^{}]+)\}/g, (_, name) => {
    const v = lookup(name, vars);
    if (v === undefined || v === "") missing = true;
    return v ?? "";
  });
  return missing ? UNRESOLVED : out;
}

/** Fill every string of an entity/object template; unresolved members are left out. */
function fillObject(t, vars) {
  if (t === undefined || t === null) return t;
  if (typeof t === "string" || Array.isArray(t)) return fill(t, vars);
  if (typeof t !== "object") return t;
  const out = {};
  for (const [k, v] of Object.entries(t)) {
    const f = v !== null && typeof v === "object" && !Array.isArray(v) ? fillObject(v, vars) : fill(v, vars);
    if (f !== UNRESOLVED) out[k] = f;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// One instance per worker environment: the evaluator, refresh bookkeeping, JWKS.

class Instance {
  constructor(env, bundled) {
    this.s = settingsOf(env, bundled);
    this.pdp = null;
    this.starting = null;
    this.failed = null; // {error, at}
    this.refreshing = null;
    this.lastCheck = 0;
    this.jwks = null; // {etag, body, keys}
    this.startedAt = Date.now();
    this.loadMs = null;
    this.requests = 0;
    this.lastRefresh = null;
  }

  engineConfig() {
    const c = { ...this.s.engine };
    if (this.jwks) c.jwks = this.jwks.keys;
    return c;
  }

  async loadJwks(conditional) {
    const headers = {};
    if (conditional && this.jwks?.etag) headers["if-none-match"] = this.jwks.etag;
    let res;
    try {
      res = await fetch(this.s.jwksUrl, { headers });
    } catch (e) {
      return err("fetch.failed", `loading \`${this.s.jwksUrl}\` failed: ${e?.message ?? e}`, { source: this.s.jwksUrl });
    }
    if (res.status === 304 && this.jwks) return { changed: false };
    if (!res.ok) return err("fetch.failed", `loading \`${this.s.jwksUrl}\` answered HTTP ${res.status}`, { source: this.s.jwksUrl, status: res.status });
    let keys;
    try {
      keys = JSON.parse(await res.text());
    } catch (e) {
      return err("jwks.invalid", `\`${this.s.jwksUrl}\` is not valid JSON: ${e.message}`, { source: this.s.jwksUrl });
    }
    const etag = res.headers.get("etag") ?? undefined;
    return { changed: true, next: { etag, keys } };
  }

  async build() {
    return createEvaluator({ graph: this.s.graph, policies: this.s.policies, config: this.engineConfig() });
  }

  /** The evaluator, loading it on first use (shared by concurrent first requests). */
  ready(ctx) {
    if (this.pdp) return this.pdp;
    if (this.failed && Date.now() - this.failed.at < this.s.retrySeconds * 1000) return this.failed;
    if (!this.starting) {
      const t0 = Date.now();
      this.starting = (async () => {
        if (this.s.jwksUrl) {
          const j = await this.loadJwks(false);
          if (j.error) return j;
          this.jwks = j.next;
        }
        const pdp = await this.build();
        if (pdp.error) return pdp;
        return pdp;
      })()
        .catch((e) => err("pdp.unavailable", `loading failed: ${e?.message ?? e}`))
        .then((r) => {
          this.starting = null;
          if (r.error) {
            this.failed = { ...r, at: Date.now() };
            return this.failed;
          }
          this.failed = null;
          this.pdp = r;
          this.loadMs = Date.now() - t0;
          this.lastCheck = Date.now();
          return r;
        });
      // Keep the request that started loading alive until it is done, so concurrent
      // requests awaiting the same promise are not cancelled with it.
      ctx?.waitUntil?.(this.starting);
    }
    return this.starting;
  }

  /** Start a background refresh when one is due (URL sources only). */
  maybeRefresh(ctx) {
    const every = Number(this.s.refreshSeconds) * 1000;
    if (!this.s.remote || !this.pdp || !(every > 0) || this.refreshing) return;
    const now = Date.now();
    if (now - this.lastCheck < every) return;
    this.lastCheck = now;
    this.refreshing = this.refresh()
      .catch((e) => ({ ok: false, error: { code: "fetch.failed", message: String(e?.message ?? e) } }))
      .then((r) => {
        this.lastRefresh = { ...r, at: new Date().toISOString() };
        this.refreshing = null;
        return r;
      });
    ctx?.waitUntil?.(this.refreshing);
  }

  async refresh() {
    if (!this.pdp) return { ok: false, error: { code: "pdp.unavailable", message: "nothing loaded yet" } };
    if (this.s.jwksUrl) {
      const j = await this.loadJwks(true);
      if (j.error) return { ok: false, error: j.error };
      if (j.changed) {
        // New keys: a new evaluator with the new configuration, swapped in when it loaded.
        const prev = this.jwks;
        this.jwks = j.next;
        const pdp = await this.build();
        if (pdp.error) {
          this.jwks = prev;
          return { ok: false, error: pdp.error };
        }
        const old = this.pdp;
        this.pdp = pdp;
        old.close();
        return { ok: true, changed: true };
      }
    }
    if (!hasUrl(this.s.graph) && !(this.s.policies !== undefined && hasUrl(this.s.policies))) return { ok: true, changed: false };
    return this.pdp.refresh();
  }

  status() {
    return {
      mode: this.s.mode,
      loaded: Boolean(this.pdp),
      stats: this.pdp ? this.pdp.stats() : null,
      loadMs: this.loadMs,
      error: this.failed ? this.failed.error : null,
      lastRefresh: this.lastRefresh,
      requests: this.requests,
      isolateStartedAt: new Date(this.startedAt).toISOString(),
    };
  }
}

// ---------------------------------------------------------------------------------------
// PDP mode.

function methodNotAllowed(allow, rid) {
  return respond(405, err("http.method_not_allowed", `use ${allow}`), rid, { allow });
}

/** 401 unless the PEP-to-PDP bearer key matches (when one is configured). */
function checkKey(inst, request, rid) {
  if (inst.s.apiKeys.length === 0) return null;
  const got = bearer(request);
  if (got === null) {
    return respond(401, err("auth.credential_missing", "this PDP needs `Authorization: Bearer <key>`"), rid, {
      "www-authenticate": `Bearer realm=${quote(inst.s.realm)}`,
    });
  }
  if (!inst.s.apiKeys.some((k) => sameKey(k, got))) {
    return respond(401, err("auth.credential_invalid", "the bearer key is not accepted"), rid, {
      "www-authenticate": `Bearer realm=${quote(inst.s.realm)}, error="invalid_token"`,
    });
  }
  return null;
}

async function servePdp(inst, request, ctx, url, rid) {
  const s = inst.s;
  let path = url.pathname;
  if (path === WELL_KNOWN + s.basePath || path === `${WELL_KNOWN + s.basePath}/`) {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed("GET, HEAD", rid);
    const body = JSON.stringify(metadata(s.baseUrl || url.origin));
    return respond(200, request.method === "HEAD" ? null : body, rid, { "cache-control": "public, max-age=300" });
  }
  if (s.basePath) {
    if (!path.startsWith(`${s.basePath}/`)) return notFound(rid, path);
    path = path.slice(s.basePath.length);
  }
  if (path === s.statusPath) return serveStatus(inst, request, ctx, rid);
  const op = Object.hasOwn(ENDPOINTS, path) ? ENDPOINTS[path] : undefined;
  if (!op) return notFound(rid, url.pathname);
  if (request.method !== "POST") return methodNotAllowed("POST", rid);
  const denied = checkKey(inst, request, rid);
  if (denied) return denied;
  if (!isJsonType(request.headers.get("content-type"))) {
    return respond(415, err("http.unsupported_media_type", "send the request as `Content-Type: application/json`"), rid, { accept: "application/json" });
  }
  const text = await readBody(request, s.maxBodyBytes);
  if (typeof text !== "string") return respond(text.status, text.body, rid);
  const pdp = inst.pdp ?? (await inst.ready(ctx));
  if (pdp.error) return unavailable(pdp, rid);
  inst.maybeRefresh(ctx);
  // An id-only evaluation takes the evaluator's fast path as an object; everything else
  // goes to the engine as the text received (parsed once, typed errors with line/column).
  let input = text;
  if (op === "evaluate") {
    try {
      const v = JSON.parse(text);
      if (idsOnly(v)) input = v;
    } catch {
      /* the engine reports the syntax error */
    }
  }
  const result = pdp[op](input);
  if (result && result.error) return respond(statusOf(result.error.code), result, rid);
  return respond(200, result, rid);
}

const isStr = (x) => typeof x === "string";

/** `{subject:{type,id}, action:{name}, resource:{type,id}}` and nothing else. */
function idsOnly(r) {
  if (r === null || typeof r !== "object" || Array.isArray(r)) return false;
  const { subject: s, action: a, resource: o } = r;
  return (
    Object.keys(r).length === 3 &&
    s !== null && typeof s === "object" && isStr(s.type) && isStr(s.id) && Object.keys(s).length === 2 &&
    a !== null && typeof a === "object" && isStr(a.name) && Object.keys(a).length === 1 &&
    o !== null && typeof o === "object" && isStr(o.type) && isStr(o.id) && Object.keys(o).length === 2
  );
}

function notFound(rid, path) {
  return respond(404, err("http.not_found", `no endpoint at \`${path}\``), rid);
}

function unavailable(failure, rid) {
  return respond(503, err("pdp.unavailable", failure.error.message, { cause: failure.error.code }), rid, { "retry-after": "5" });
}

async function serveStatus(inst, request, ctx, rid) {
  if (request.method !== "GET") return methodNotAllowed("GET", rid);
  const denied = checkKey(inst, request, rid);
  if (denied) return denied;
  const pdp = inst.pdp ?? (await inst.ready(ctx));
  inst.maybeRefresh(ctx);
  return respond(pdp.error ? 503 : 200, inst.status(), rid);
}

// ---------------------------------------------------------------------------------------
// PEP mode.

async function servePep(inst, request, ctx, url, rid) {
  const s = inst.s;
  if (s.statusPath && url.pathname === s.statusPath) return serveStatus(inst, request, ctx, rid);
  let route = null;
  let match = null;
  const allowed = new Set();
  for (const r of s.routes) {
    const m = r.re.exec(url.pathname);
    if (!m) continue;
    if (r.methods && !r.methods.includes(request.method)) {
      r.methods.forEach((x) => allowed.add(x));
      continue;
    }
    route = r;
    match = m;
    break;
  }
  if (!route) {
    if (allowed.size) return methodNotAllowed([...allowed].join(", "), rid);
    return notFound(rid, url.pathname);
  }
  const token = bearer(request);
  const realm = `realm=${quote(s.realm)}`;
  if (token === "") {
    return respond(401, err("token.malformed", "the Authorization header is not a bearer token"), rid, {
      "www-authenticate": `Bearer ${realm}, error="invalid_request"`,
    });
  }
  const claims = token ? tokenClaims(token) : null;
  if (token && !claims) {
    return respond(401, err("token.malformed", "the bearer token is not a compact JWS with a JSON payload"), rid, {
      "www-authenticate": `Bearer ${realm}, error="invalid_token"`,
    });
  }
  const path = {};
  route.names.forEach((n, i) => {
    try {
      path[n] = decodeURIComponent(match[i + 1]);
    } catch {
      path[n] = match[i + 1];
    }
  });
  const vars = { path, claims, request, url, special: { method: request.method, route: route.template, path: url.pathname } };
  const subject = fillObject(route.subject, vars);
  if (!subject.id || !subject.type) {
    // Nobody to ask about: RFC 6750 §3.1, no error code when no credentials were sent.
    return respond(401, err("token.missing", "this route needs a bearer token"), rid, { "www-authenticate": `Bearer ${realm}` });
  }
  const req = { subject, action: fillObject(route.action, vars), resource: fillObject(route.resource, vars) };
  if (route.context !== undefined) req.context = fillObject(route.context, vars);
  if (!req.resource.id || !req.resource.type || !req.action.name) {
    return respond(500, err("route.invalid", `route \`${route.template}\` does not resolve to a complete request`), rid);
  }
  const pdp = inst.pdp ?? (await inst.ready(ctx));
  if (pdp.error) return unavailable(pdp, rid);
  inst.maybeRefresh(ctx);
  const result = pdp.evaluate(req, token ? { token } : undefined);
  if (result.error) return respond(500, result, rid);
  if (result.decision === true) return forward(s, request, url, rid);
  const challenge = pdp.challenge(result);
  if (challenge) {
    const scope = challenge.startsWith('Bearer error="insufficient_scope"');
    const description = result.stepUp?.description ?? (scope ? "the token lacks a required scope" : "stronger or more recent authentication is needed");
    return respond(scope ? 403 : 401, err(scope ? "insufficient_scope" : STEP_UP, description), rid, { "www-authenticate": challenge });
  }
  const reason = result.context?.reason;
  if (token && typeof reason === "string" && reason.startsWith("token.")) {
    return respond(401, err(reason, "the bearer token is not accepted"), rid, {
      "www-authenticate": `Bearer ${realm}, error="invalid_token", error_description=${quote(reason)}`,
    });
  }
  return respond(403, err("access.denied", "access denied"), rid);
}

async function forward(s, request, url, rid) {
  const target = s.upstreamService ? url.pathname + url.search : `${String(s.upstream).replace(/\/+$/, "")}${url.pathname}${url.search}`;
  const headers = new Headers(request.headers);
  headers.set("x-request-id", rid);
  const init = { method: request.method, headers, redirect: "manual" };
  if (request.method !== "GET" && request.method !== "HEAD") init.body = request.body;
  let res;
  try {
    res = s.upstreamService
      ? await s.upstreamService.fetch(new Request(new URL(target, url.origin), init))
      : await fetch(target, init);
  } catch (e) {
    return respond(502, err("upstream.failed", `the upstream did not answer: ${e?.message ?? e}`), rid);
  }
  const out = new Response(res.body, res);
  out.headers.set("x-request-id", rid);
  return out;
}

// ---------------------------------------------------------------------------------------
// The worker.

/**
 * A worker (`{fetch, scheduled}`) with optional bundled inputs:
 * `{graph?, snapshot?, policies?, config?, engine?, mode?}`; bindings fill in the rest.
 */
export function createWorker(bundled = {}) {
  const instances = new WeakMap();
  const instance = (env) => {
    let inst = instances.get(env);
    if (!inst) {
      inst = new Instance(env, bundled);
      instances.set(env, inst);
    }
    return inst;
  };
  return {
    async fetch(request, env, ctx) {
      const rid = requestId(request);
      let inst;
      try {
        inst = instance(env ?? {});
      } catch (e) {
        return respond(500, err("config.invalid", String(e?.message ?? e)), rid);
      }
      inst.requests++;
      const url = new URL(request.url);
      try {
        return inst.s.mode === "pep" ? await servePep(inst, request, ctx, url, rid) : await servePdp(inst, request, ctx, url, rid);
      } catch (e) {
        return respond(500, err("internal", String(e?.message ?? e)), rid);
      }
    },

    /** Cron trigger: refresh URL sources now. */
    async scheduled(event, env, ctx) {
      const inst = instance(env ?? {});
      const pdp = inst.pdp ?? (await inst.ready(ctx));
      if (pdp.error) return;
      inst.lastCheck = 0;
      inst.maybeRefresh(ctx);
      await inst.refreshing;
    },
  };
}

export default createWorker();
