// kbac-wasm: the hand-written JS entry point (browsers, workers, bundlers; `node.js` and
// `workerd.js` re-export it with their own default way of obtaining the `.wasm`).
//
// Bad input and domain outcomes are returned as data (`{error:{code,message,…}}`);
// exceptions are thrown only for misuse (missing `graph`, wrong argument types, use
// after `close()`).

import initGlue, { Engine } from "./kbac.js";

export { Engine };

// ---------------------------------------------------------------------------------------
// wasm instantiation: once per module, whatever the number of evaluators.

let defaultWasmSource = () => new URL("./kbac_bg.wasm", import.meta.url);
let fileLoader = null;
let initPromise = null;

/** @internal Used by the Node and workerd entry points. */
export function __setPlatform({ wasmSource, loadFile } = {}) {
  if (wasmSource) defaultWasmSource = wasmSource;
  if (loadFile) fileLoader = loadFile;
}

/**
 * Instantiate the WebAssembly module (once; later calls return the same promise).
 * `wasm` may be a `WebAssembly.Module`, bytes, a `Response`, or a URL; by default the
 * `.wasm` next to this module is fetched (Node: read from disk).
 */
export function initWasm(wasm) {
  if (!initPromise) {
    initPromise = (async () => {
      const source = wasm ?? (await defaultWasmSource());
      await initGlue({ module_or_path: source });
    })();
    // A failed instantiation may be retried (e.g. with an explicit `wasm` option).
    initPromise.catch(() => {
      initPromise = null;
    });
  }
  return initPromise;
}

// ---------------------------------------------------------------------------------------
// Errors as data.

function err(code, message, extra) {
  return { error: { code, message, ...extra } };
}

function isError(x) {
  return x !== null && typeof x === "object" && "error" in x && x.error !== undefined;
}

function parseWire(text) {
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------
// Sources: objects, JSON strings, bytes, or URLs (fetched; ETag-aware for `refresh()`).

const SNAPSHOT_MAGIC = "KBACSNAP";
const utf8 = new TextDecoder("utf-8", { fatal: true });

function isUrlLike(x) {
  if (typeof URL === "function" && x instanceof URL) return true;
  if (typeof x !== "string") return false;
  // JSON documents start with `{` or `[`; an empty string is (invalid) JSON, not a URL.
  const c = x.trimStart()[0];
  return c !== undefined && c !== "{" && c !== "[";
}

function isBytes(x) {
  return x instanceof Uint8Array || x instanceof ArrayBuffer;
}

function hasSnapshotMagic(bytes) {
  if (bytes.length < SNAPSHOT_MAGIC.length) return false;
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) {
    if (bytes[i] !== SNAPSHOT_MAGIC.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Turn raw content (string/bytes/object) into a list of parts: `{text}` (JSON text for the
 * engine) or `{snapshot}` (binary snapshot bytes), or an `{error}`.
 */
function contentParts(content, label) {
  if (isBytes(content)) {
    const bytes = content instanceof Uint8Array ? content : new Uint8Array(content);
    if (hasSnapshotMagic(bytes)) return [{ snapshot: bytes, label }];
    try {
      content = utf8.decode(bytes);
    } catch {
      return err("json.syntax", `${label} is not valid UTF-8`, { source: label });
    }
  }
  if (typeof content === "string") return [{ text: content, label }];
  if (content === null || typeof content !== "object") {
    throw new TypeError(`kbac-wasm: ${label} must be an object, a JSON string, bytes or a URL`);
  }
  return [{ text: JSON.stringify(content), label }];
}

function sourceKey(src) {
  return src instanceof URL ? src.href : src;
}

/** One loader per evaluator: remembers ETag + body per URL for conditional refreshes. */
class Fetcher {
  constructor(fetchImpl) {
    this.fetch = fetchImpl;
    this.cache = new Map(); // url -> {etag, lastModified, body}
  }

  /**
   * Load a URL. Returns `{body, changed, etag, lastModified}` or `{error}`.
   * `conditional`: send If-None-Match / If-Modified-Since from the last good load.
   */
  async load(url, conditional) {
    const key = sourceKey(url);
    const prev = this.cache.get(key);
    try {
      const href = url instanceof URL ? url : new URL(url, globalThis.location?.href);
      if (href.protocol === "file:" && fileLoader) {
        const r = await fileLoader(href);
        const changed = !(conditional && prev && prev.etag === r.etag);
        return { body: r.body, changed, etag: r.etag };
      }
      const headers = {};
      if (conditional && prev?.etag) headers["if-none-match"] = prev.etag;
      else if (conditional && prev?.lastModified) headers["if-modified-since"] = prev.lastModified;
      const fetchImpl = this.fetch ?? globalThis.fetch;
      if (typeof fetchImpl !== "function") {
        return err("fetch.failed", `no fetch available to load \`${key}\``, { source: key });
      }
      const res = await fetchImpl(href, { headers });
      if (res.status === 304 && prev) return { ...prev, changed: false };
      if (!res.ok) {
        return err("fetch.failed", `loading \`${key}\` answered HTTP ${res.status}`, { source: key, status: res.status });
      }
      const body = new Uint8Array(await res.arrayBuffer());
      return {
        body,
        changed: true,
        etag: res.headers.get("etag") ?? undefined,
        lastModified: res.headers.get("last-modified") ?? undefined,
      };
    } catch (e) {
      return err("fetch.failed", `loading \`${key}\` failed: ${e?.message ?? e}`, { source: key });
    }
  }

  remember(url, r) {
    this.cache.set(sourceKey(url), { etag: r.etag, lastModified: r.lastModified, body: r.body });
  }
}

function asList(x) {
  return Array.isArray(x) ? x : [x];
}

/**
 * Resolve the `graph` option to engine parts. A top-level array is a list of sources
 * (batches, JSON strings, bytes or URLs); a JSON array document is a list of batches.
 */
async function resolveGraph(graph, fetcher, conditional, fetched) {
  const parts = [];
  let changed = false;
  const list = asList(graph);
  for (let i = 0; i < list.length; i++) {
    const src = list[i];
    const label = Array.isArray(graph) ? `graph[${i}]` : "graph";
    let content = src;
    if (isUrlLike(src)) {
      const r = await fetcher.load(src, conditional);
      if (isError(r)) return r;
      fetched.push([src, r]);
      changed ||= r.changed;
      content = r.body;
    }
    const p = contentParts(content, isUrlLike(src) ? sourceKey(src) : label);
    if (isError(p)) return p;
    parts.push(...p);
  }
  return { parts, changed };
}

/** Resolve `policies` to one JSON text (one policy, a record, or an array of either). */
async function resolvePolicies(policies, fetcher, conditional, fetched) {
  if (policies === undefined || policies === null) return { text: null, changed: false };
  const list = asList(policies);
  const anyUrl = list.some(isUrlLike);
  if (!anyUrl) {
    const p = contentParts(policies, "policies");
    if (isError(p)) return p;
    if (p[0].snapshot) return err("json.syntax", "policies must be JSON, not a binary snapshot", { source: "policies" });
    return { text: p[0].text, changed: false };
  }
  // Some elements are URLs: load each, parse, flatten into one array.
  const all = [];
  let changed = false;
  for (let i = 0; i < list.length; i++) {
    const src = list[i];
    const label = isUrlLike(src) ? sourceKey(src) : `policies[${i}]`;
    let content = src;
    if (isUrlLike(src)) {
      const r = await fetcher.load(src, conditional);
      if (isError(r)) return r;
      fetched.push([src, r]);
      changed ||= r.changed;
      content = r.body;
    }
    if (isBytes(content) || typeof content === "string") {
      const p = contentParts(content, label);
      if (isError(p)) return p;
      try {
        content = JSON.parse(p[0].text);
      } catch (e) {
        return err("json.syntax", `${label} is not valid JSON: ${e.message}`, { source: label });
      }
    }
    all.push(...asList(content));
  }
  return { text: JSON.stringify(all), changed };
}

// ---------------------------------------------------------------------------------------
// Engine construction: everything goes into a NEW engine; the caller swaps it in only
// when every step succeeded.

function newEngine(config) {
  try {
    return new Engine(config === undefined ? undefined : JSON.stringify(config));
  } catch (e) {
    // The binding throws the wire error as the message for an invalid configuration.
    try {
      const wire = JSON.parse(e?.message);
      if (isError(wire)) return wire;
    } catch {
      /* not a wire error */
    }
    throw e;
  }
}

function loadParts(engine, graphParts, policiesText) {
  for (const part of graphParts) {
    let out;
    if (part.snapshot) {
      if (typeof engine.loadSnapshot !== "function") {
        return err("snapshot.version", "binary snapshots are not supported by this build", { source: part.label });
      }
      out = parseWire(engine.loadSnapshot(part.snapshot));
    } else {
      const t = part.text.trimStart();
      if (t[0] === "[") {
        let batches;
        try {
          batches = JSON.parse(t);
        } catch (e) {
          return err("json.syntax", `${part.label} is not valid JSON: ${e.message}`, { source: part.label });
        }
        for (let i = 0; i < batches.length; i++) {
          out = parseWire(engine.loadGraph(JSON.stringify(batches[i])));
          if (isError(out)) {
            out.error.source = `${part.label}[${i}]`;
            return out;
          }
        }
        continue;
      }
      out = parseWire(engine.loadGraph(part.text));
    }
    if (isError(out)) {
      out.error.source = part.label;
      return out;
    }
  }
  if (policiesText === null) return null;
  const p = parseWire(engine.setPolicies(policiesText));
  if (isError(p)) {
    p.error.source = "policies";
    return p;
  }
  return null;
}

/**
 * Build a new engine from `opts`. `keys()` answers the evaluator's current key set
 * (`{text, source}`) or null; it is read once the sources are loaded, just before the
 * engine is made, so a key rotation during the loading is not lost.
 */
async function buildEngine(opts, fetcher, conditional, keys = () => null) {
  const fetched = [];
  const g = await resolveGraph(opts.graph, fetcher, conditional, fetched);
  if (isError(g)) return g;
  const p = await resolvePolicies(opts.policies, fetcher, conditional, fetched);
  if (isError(p)) return p;
  if (conditional && !g.changed && !p.changed) return { unchanged: true };
  const engine = newEngine(opts.config);
  if (isError(engine)) return engine;
  const k = keys();
  const installed = k ? installJwks(engine, k.text, k.source) : null;
  const failure = isError(installed) ? installed : loadParts(engine, g.parts, p.text);
  if (failure) {
    engine.free();
    return failure;
  }
  return { engine, fetched, keys: k, installed };
}

// ---------------------------------------------------------------------------------------
// Token options: `issuer`, `audience`, `leeway` and `assurance` map onto the engine
// configuration; `jwks` / `jwksUrl` give the key set, which the evaluator installs into its
// engine (and re-installs into every engine `refresh()` builds).

const TOKEN_OPTIONS = ["issuer", "audience", "leeway"];

function isPlainObject(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !isBytes(x);
}

const given = (x) => x !== undefined && x !== null;

function conflict(option, member) {
  return err("config.invalid", `\`${option}\` is given both as an option and as \`config.${member}\`; give it once`, { path: option });
}

/**
 * The engine configuration with the top-level token options merged in, or `{error}`. A
 * member given both at the top level and in `config` is `config.invalid`: silently
 * preferring one of two issuers would be a security bug waiting to happen.
 */
function mergedConfig(options) {
  const base = options.config;
  const top = TOKEN_OPTIONS.filter((k) => options[k] !== undefined);
  const keys = options.jwks !== undefined || options.jwksUrl !== undefined;
  if (top.length === 0 && options.assurance === undefined && !keys) return base;
  if (base !== undefined && !isPlainObject(base)) return base; // the engine reports it
  const config = { ...base };
  if (options.jwks !== undefined && options.jwksUrl !== undefined) {
    return err("config.invalid", "give `jwks` or `jwksUrl`, not both", { path: "jwksUrl" });
  }
  if (keys && given(config.jwks)) return conflict(options.jwks !== undefined ? "jwks" : "jwksUrl", "jwks");
  if (top.length > 0 && (config.token === undefined || config.token === null || isPlainObject(config.token))) {
    const token = { ...config.token };
    for (const k of top) {
      if (given(token[k])) return conflict(k, `token.${k}`);
      token[k] = options[k];
    }
    config.token = token;
  }
  if (options.assurance !== undefined) {
    if (given(config.assuranceLevels)) return conflict("assurance", "assuranceLevels");
    if (given(config.assurance)) return conflict("assurance", "assurance");
    if (!isPlainObject(options.assurance) || !Array.isArray(options.assurance.levels)) {
      return err("config.invalid", "`assurance` must be `{levels: [...]}` (acr values, weakest first)", { path: "assurance.levels" });
    }
    config.assuranceLevels = options.assurance.levels;
  }
  return config;
}

/** JWKS JSON text from a `jwks` option / `setJwks` argument (an object, JSON text or bytes). */
function jwksText(jwks, what) {
  if (isBytes(jwks)) {
    try {
      return utf8.decode(jwks instanceof Uint8Array ? jwks : new Uint8Array(jwks));
    } catch {
      return err("jwks.invalid", `${what} is not valid UTF-8`, { source: "jwks" });
    }
  }
  // JSON text (also invalid JSON, which the engine reports as `jwks.invalid`), but no URL
  if (typeof jwks === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(jwks.trimStart())) return jwks;
  if (isPlainObject(jwks) && !(typeof URL === "function" && jwks instanceof URL)) return JSON.stringify(jwks);
  throw new TypeError(`kbac-wasm: ${what} must be a JWKS object or its JSON text (a URL goes in \`jwksUrl\`)`);
}

/** Install a key set into an engine: `{keys, kids, skipped}`, or `{error}` (keys unchanged). */
function installJwks(engine, text, source) {
  const r = parseWire(engine.setJwks(text));
  if (isError(r)) {
    r.error.source = source;
    return r;
  }
  return { keys: r.keys, kids: r.kids, skipped: r.skipped };
}

/** Load the JWKS at `url`: `{changed:false}`, `{changed:true, text, loaded}` or `{error}`. */
async function loadJwks(fetcher, url, conditional) {
  const key = sourceKey(url);
  const r = await fetcher.load(url, conditional);
  if (isError(r)) return r;
  if (!r.changed) return { changed: false };
  let text = r.body;
  if (typeof text !== "string") {
    try {
      text = utf8.decode(text);
    } catch {
      return err("jwks.invalid", `\`${key}\` is not valid UTF-8`, { source: key });
    }
  }
  return { changed: true, text, loaded: r };
}

/**
 * The AuthZEN PDP metadata document (`/.well-known/authzen-configuration`) of a PDP served at
 * `baseUrl`: the same document the edge worker serves (trailing slashes, query and fragment
 * of `baseUrl` are dropped).
 */
export function metadata(baseUrl) {
  let u;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new TypeError("kbac-wasm: metadata(baseUrl) needs an absolute http(s) URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new TypeError("kbac-wasm: metadata(baseUrl) needs an absolute http(s) URL");
  }
  const base = u.origin + u.pathname.replace(/\/+$/, "");
  return {
    policy_decision_point: base,
    access_evaluation_endpoint: `${base}/access/v1/evaluation`,
    access_evaluations_endpoint: `${base}/access/v1/evaluations`,
    search_subject_endpoint: `${base}/access/v1/search/subject`,
    search_resource_endpoint: `${base}/access/v1/search/resource`,
    search_action_endpoint: `${base}/access/v1/search/action`,
  };
}

// ---------------------------------------------------------------------------------------
// Step-up advice -> `stepUp` and RFC 9470 / RFC 6750 challenges.
// HOOK: the token/step-up issue may move this into the engine (`stepup`); the shape stays.

const STEP_UP = "insufficient_user_authentication";

function words(v) {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string") return v.split(/\s+/).filter(Boolean);
  return [];
}

/** Derive `{acrValues, maxAge?, factors?, description?}` from `context.advice`, or undefined. */
export function stepUpFromAdvice(advice) {
  if (!Array.isArray(advice)) return undefined;
  let found = false;
  const acr = [];
  const factors = [];
  let maxAge;
  let description;
  for (const a of advice) {
    if (!a || a.error !== STEP_UP) continue;
    found = true;
    for (const v of words(a.acr_values ?? a.acrValues)) if (!acr.includes(v)) acr.push(v);
    for (const v of words(a.factors)) if (!factors.includes(v)) factors.push(v);
    const age = Number(a.max_age ?? a.maxAge);
    if ((a.max_age ?? a.maxAge) !== undefined && Number.isFinite(age)) maxAge = maxAge === undefined ? age : Math.min(maxAge, age);
    description ??= a.error_description ?? a.description;
  }
  if (!found) return undefined;
  const s = { acrValues: acr };
  if (maxAge !== undefined) s.maxAge = maxAge;
  if (factors.length) s.factors = factors;
  if (description !== undefined) s.description = String(description);
  return s;
}

function quote(v) {
  // RFC 7230 quoted-string; control characters (header injection) are dropped.
  // eslint-disable-next-line no-control-regex
  return `"${String(v).replace(/[\u0000-\u001f\u007f]/g, "").replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The `WWW-Authenticate` value for a result that asks for step-up (RFC 9470) or for a
 * missing scope (RFC 6750), or `null`.
 */
export function challenge(result) {
  if (!result || result.decision !== false) return null;
  const s = result.stepUp ?? stepUpFromAdvice(result.context?.advice);
  if (s) {
    const parts = [`error=${quote(STEP_UP)}`];
    if (s.description !== undefined) parts.push(`error_description=${quote(s.description)}`);
    if (s.acrValues?.length) parts.push(`acr_values=${quote(s.acrValues.join(" "))}`);
    if (s.maxAge !== undefined) parts.push(`max_age=${Math.max(0, Math.floor(s.maxAge))}`);
    return `Bearer ${parts.join(", ")}`;
  }
  const scopes = [];
  for (const a of result.context?.advice ?? []) {
    if (a?.error === "insufficient_scope") for (const v of words(a.scope)) if (!scopes.includes(v)) scopes.push(v);
  }
  if (scopes.length) return `Bearer error="insufficient_scope", scope=${quote(scopes.join(" "))}`;
  return null;
}

// `stepUp` is non-enumerable: `JSON.stringify(result)` stays the exact AuthZEN response.
function withStepUp(r) {
  if (r && r.decision === false) {
    const s = stepUpFromAdvice(r.context?.advice);
    if (s) Object.defineProperty(r, "stepUp", { value: s, writable: true, configurable: true, enumerable: false });
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// The evaluator.

function requestText(request) {
  if (typeof request === "string") return request;
  if (request === null || typeof request !== "object") {
    throw new TypeError("kbac-wasm: a request must be an object or a JSON string");
  }
  return JSON.stringify(request);
}

function claimsText(claims) {
  return claims === undefined || claims === null ? undefined : typeof claims === "string" ? claims : JSON.stringify(claims);
}

/**
 * Create a policy decision point. Resolves to the evaluator, or to `{error}` when the
 * graph, the policies or the configuration are invalid or cannot be loaded.
 */
export async function createEvaluator(options) {
  if (options === null || typeof options !== "object") {
    throw new TypeError("kbac-wasm: createEvaluator(options) needs an options object");
  }
  const graph = options.snapshot ?? options.graph;
  if (graph === undefined || graph === null) {
    throw new TypeError("kbac-wasm: createEvaluator needs `graph` (or `snapshot`)");
  }
  if (options.now !== undefined && typeof options.now !== "function" && typeof options.now !== "number") {
    throw new TypeError("kbac-wasm: `now` must be a function returning epoch seconds, or a number");
  }
  const { jwksUrl, jwksMinRefreshSeconds: every = 60, onJwksRefresh } = options;
  if (jwksUrl !== undefined && !isUrlLike(jwksUrl)) throw new TypeError("kbac-wasm: `jwksUrl` must be a URL (string or `URL`)");
  if (typeof every !== "number" || !(every >= 0)) {
    throw new TypeError("kbac-wasm: `jwksMinRefreshSeconds` must be a number of seconds (>= 0)");
  }
  if (onJwksRefresh !== undefined && typeof onJwksRefresh !== "function") {
    throw new TypeError("kbac-wasm: `onJwksRefresh` must be a function");
  }
  let keys = null;
  if (options.jwks !== undefined) {
    const text = jwksText(options.jwks, "`jwks`");
    if (isError(text)) return text;
    keys = { text, source: "jwks" };
  }
  const config = mergedConfig(options);
  if (isError(config)) return config;
  await initWasm(options.wasm);
  const opts = { graph, policies: options.policies, config };
  const fetcher = new Fetcher(options.fetch);
  let loadedKeys = null;
  if (jwksUrl !== undefined) {
    const j = await loadJwks(fetcher, jwksUrl, false);
    if (isError(j)) return j;
    keys = { text: j.text, source: sourceKey(jwksUrl) };
    loadedKeys = j.loaded;
  }
  const built = await buildEngine(opts, fetcher, false, () => keys);
  if (isError(built)) return built;
  for (const [url, r] of built.fetched) fetcher.remember(url, r);
  if (loadedKeys) fetcher.remember(jwksUrl, loadedKeys);
  return new Evaluator(built.engine, opts, fetcher, options.now, {
    keys: keys && { ...keys, ...built.installed, loadedAt: Date.now() },
    url: jwksUrl,
    everyMs: every * 1000,
    onRefresh: onJwksRefresh,
  });
}

/** True when an answer (or a batch item) was refused because no key has the token's `kid`. */
function unknownKid(r) {
  if (r?.context?.reason === UNKNOWN_KID || r?.error?.code === UNKNOWN_KID) return true;
  return Array.isArray(r?.evaluations) && r.evaluations.some((e) => e?.context?.reason === UNKNOWN_KID);
}

const UNKNOWN_KID = "token.unknown_kid";

class Evaluator {
  #engine;
  #opts;
  #fetcher;
  #refreshing = null;
  // The key set: {text, source, keys, kids, skipped, loadedAt} or null (none, or in `config`).
  #keys;
  #jwksUrl;
  #jwksEveryMs;
  #onJwksRefresh;
  #jwksLoading = null;
  #jwksLast = null;
  #jwksAutoAt = -Infinity;
  // Tokens registered with the current engine: token -> slot (see #tokenSlot).
  #tokenSlots = new Map();
  #tokenSlotsEngine = null;

  constructor(engine, opts, fetcher, now, jwks) {
    this.#engine = engine;
    this.#opts = opts;
    this.#fetcher = fetcher;
    this.#keys = jwks.keys;
    this.#jwksUrl = jwks.url;
    this.#jwksEveryMs = jwks.everyMs;
    this.#onJwksRefresh = jwks.onRefresh;
    /** The clock in epoch seconds; replace it to control time. */
    this.now = typeof now === "number" ? () => now : now ?? (() => Date.now() / 1000);
  }

  /**
   * After an answer to a call with a token: when it was refused for an unknown `kid` and the
   * keys come from `jwksUrl`, re-fetch them in the background, at most once per
   * `jwksMinRefreshSeconds`. The answer itself stays as it is (evaluation is synchronous).
   */
  #checked(r, o) {
    if (this.#jwksUrl !== undefined && o?.token !== undefined && o.token !== null && unknownKid(r)) {
      const t = Date.now();
      if (this.#jwksLoading === null && t - this.#jwksAutoAt >= this.#jwksEveryMs) {
        this.#jwksAutoAt = t;
        this.refreshJwks();
      }
    }
    return r;
  }

  /** Install a key set into the live engine; on success it is also what refreshes install. */
  #install(text, source) {
    const r = installJwks(this.#live(), text, source);
    if (!isError(r)) this.#keys = { text, source, ...r, loadedAt: Date.now() };
    return r;
  }

  #live() {
    if (!this.#engine) throw new Error("kbac-wasm: evaluator used after close()");
    return this.#engine;
  }

  #time(o) {
    return o?.now ?? this.now();
  }

  /** AuthZEN access evaluation: `{decision, context?, stepUp?}` or `{error}`. */
  evaluate(request, o) {
    const engine = this.#live();
    const now = this.#time(o);
    if (o?.claims === undefined && isIdsOnly(request)) {
      // Fast path (measured fastest): one packed string in, a small number out; the
      // full JSON answer crosses only when it is not a plain true/false.
      const ids = `${request.subject.type}\0${request.subject.id}\0${request.action.name}\0${request.resource.type}\0${request.resource.id}`;
      const code = typeof o?.token === "string" ? engine.evaluateIdsSlot(ids, now, this.#tokenSlot(engine, o.token)) : engine.evaluateIds(ids, now, o?.token);
      if (code === 1) return { decision: true };
      if (code === 0) return { decision: false };
      if (code === 2) return this.#checked(withStepUp(parseWire(engine.lastResult())), o);
    }
    return this.#checked(withStepUp(parseWire(engine.evaluate(requestText(request), now, o?.token, claimsText(o?.claims)))), o);
  }

  /** AuthZEN evaluations batch: `{evaluations:[…]}` or `{error}`; items get `stepUp`. */
  evaluations(request, o) {
    if (o?.claims === undefined) {
      const ids = packBatch(request);
      if (ids !== null) {
        // Batch fast path: one packed string in, one code per item out.
        const engine = this.#live();
        const codes = engine.evaluateIdsBatch(ids, this.#time(o), o?.token);
        if (codes.length > 0) {
          const others = codes.includes(2) ? parseWire(engine.lastResult()) : [];
          let k = 0;
          const evaluations = Array.from(codes, (c) => (c === 1 ? { decision: true } : c === 0 ? { decision: false } : withStepUp(others[k++])));
          return this.#checked({ evaluations }, o);
        }
      }
    }
    const r = parseWire(this.#live().evaluations(requestText(request), this.#time(o), o?.token, claimsText(o?.claims)));
    if (Array.isArray(r?.evaluations)) r.evaluations.forEach(withStepUp);
    return this.#checked(r, o);
  }

  explain(request, o) {
    return this.#checked(parseWire(this.#live().explain(requestText(request), this.#time(o), o?.token, claimsText(o?.claims))), o);
  }

  searchSubjects(request, o) {
    return this.#checked(parseWire(this.#live().searchSubjects(requestText(request), this.#time(o), o?.token, claimsText(o?.claims))), o);
  }

  searchResources(request, o) {
    return this.#checked(parseWire(this.#live().searchResources(requestText(request), this.#time(o), o?.token, claimsText(o?.claims))), o);
  }

  searchActions(request, o) {
    return this.#checked(parseWire(this.#live().searchActions(requestText(request), this.#time(o), o?.token, claimsText(o?.claims))), o);
  }

  /** Graph updates (Capture API shapes): `{nodes, relationships}` changed, or `{error}`. */
  upsertNodes(batch) {
    return parseWire(this.#live().upsertNodes(requestText(batch)));
  }

  upsertRelationships(batch) {
    return parseWire(this.#live().upsertRelationships(requestText(batch)));
  }

  deleteNodes(batch) {
    return parseWire(this.#live().deleteNodes(requestText(batch)));
  }

  deleteRelationships(batch) {
    return parseWire(this.#live().deleteRelationships(requestText(batch)));
  }

  deleteNodeProperties(batch) {
    return parseWire(this.#live().deleteNodeProperties(requestText(batch)));
  }

  /** The graph and policies as a binary snapshot (`KBACSNAP…`), loadable as `graph`. */
  snapshot() {
    return this.#live().snapshot();
  }

  /** Replace all policies (atomically in the engine): `{policies}` or `{error}`. */
  setPolicies(policies) {
    const p = contentParts(policies, "policies");
    if (isError(p)) return p;
    return parseWire(this.#live().setPolicies(p[0].text ?? ""));
  }

  /** `{nodes, relationships, policies, memoryBytes}`. */
  stats() {
    return parseWire(this.#live().stats());
  }

  /** The `WWW-Authenticate` challenge for a result, or `null`. */
  challenge(result) {
    return challenge(result);
  }

  /** The AuthZEN metadata document (`/.well-known/authzen-configuration`) for `baseUrl`. */
  metadata(baseUrl) {
    return metadata(baseUrl);
  }

  /**
   * Replace the token key set (a JWKS object or JSON text) on the live evaluator:
   * `{keys, kids, skipped}` (`skipped`: unusable keys, as `jwks.invalid` errors) or `{error}`,
   * in which case the current keys stay. Later `refresh()` runs keep these keys; a later
   * load from `jwksUrl` replaces them.
   */
  setJwks(jwks) {
    this.#live();
    const text = jwksText(jwks, "setJwks(jwks)");
    if (isError(text)) return text;
    return this.#install(text, "jwks");
  }

  /** The key set the evaluator installed (from `jwks`, `jwksUrl` or `setJwks`), or null. */
  jwksStatus() {
    this.#live();
    if (!this.#keys && this.#jwksUrl === undefined) return null;
    const k = this.#keys;
    return {
      source: k?.source ?? sourceKey(this.#jwksUrl),
      keys: k?.keys ?? 0,
      kids: k?.kids ?? [],
      skipped: k?.skipped ?? [],
      loadedAt: k?.loadedAt ?? null,
      lastRefresh: this.#jwksLast,
    };
  }

  /**
   * Re-fetch the JWKS from `jwksUrl` now (conditional on ETag / Last-Modified). New keys are
   * installed at once; a failed or invalid load keeps the current keys. Resolves to
   * `{ok:true, changed}` or `{ok:false, error}` (`fetch.failed`, `jwks.invalid`); concurrent
   * calls (and background refreshes) share one run. Not rate-limited.
   */
  refreshJwks() {
    this.#live();
    if (this.#jwksUrl === undefined) {
      return Promise.resolve({ ok: false, error: { code: "config.invalid", message: "no `jwksUrl` is configured" } });
    }
    this.#jwksLoading ??= this.#doRefreshJwks().finally(() => {
      this.#jwksLoading = null;
    });
    return this.#jwksLoading;
  }

  async #doRefreshJwks() {
    let r;
    try {
      r = await this.#reloadJwks();
    } catch (e) {
      r = { ok: false, error: { code: "fetch.failed", message: String(e?.message ?? e) } };
    }
    this.#jwksLast = { ...r, at: Date.now() };
    if (this.#onJwksRefresh) {
      try {
        this.#onJwksRefresh(r);
      } catch {
        /* a throwing callback must not break the refresh */
      }
    }
    return r;
  }

  async #reloadJwks() {
    const url = this.#jwksUrl;
    const j = await loadJwks(this.#fetcher, url, true);
    if (isError(j)) return { ok: false, error: j.error };
    if (!j.changed) return { ok: true, changed: false };
    if (!this.#engine) return { ok: false, error: { code: "config.invalid", message: "evaluator was closed during refresh" } };
    if (j.text === this.#keys?.text) {
      this.#fetcher.remember(url, j.loaded);
      return { ok: true, changed: false };
    }
    const r = this.#install(j.text, sourceKey(url));
    if (isError(r)) return { ok: false, error: r.error };
    this.#fetcher.remember(url, j.loaded);
    return { ok: true, changed: true, keys: r.keys, skipped: r.skipped };
  }

  /**
   * Re-load the graph and policies from their URLs (conditional on ETag / Last-Modified).
   * A new engine is built and swapped in only when everything loaded; otherwise the old
   * one keeps serving. Updates applied since the last load are replaced by the new state.
   * A `jwksUrl` is re-checked too (as `refreshJwks()`), independently: keys that loaded are
   * installed even when the graph failed, and the other way round.
   * Resolves to `{ok:true, changed}` or `{ok:false, error}` (the first failure);
   * concurrent calls share one run.
   */
  refresh() {
    this.#live();
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #doRefresh() {
    const keys = this.#jwksUrl === undefined ? { ok: true, changed: false } : await this.refreshJwks();
    const graph = await this.#refreshGraph();
    if (!graph.ok) return graph;
    if (!keys.ok) return { ok: false, error: keys.error };
    return { ok: true, changed: graph.changed || keys.changed };
  }

  async #refreshGraph() {
    let built;
    try {
      built = await buildEngine(this.#opts, this.#fetcher, true, () => this.#keys);
    } catch (e) {
      return { ok: false, error: { code: "fetch.failed", message: String(e?.message ?? e) } };
    }
    if (isError(built)) return { ok: false, error: built.error };
    if (built.unchanged) return { ok: true, changed: false };
    if (!this.#engine) {
      built.engine.free();
      return { ok: false, error: { code: "config.invalid", message: "evaluator was closed during refresh" } };
    }
    const old = this.#engine;
    this.#engine = built.engine;
    old.free();
    // Keys installed into the old engine after this one was made move over too.
    if (this.#keys && this.#keys.text !== built.keys?.text) installJwks(built.engine, this.#keys.text, this.#keys.source);
    for (const [url, r] of built.fetched) this.#fetcher.remember(url, r);
    return { ok: true, changed: true };
  }

  // A JS string crosses into wasm by a per-character copy, and a token (hundreds of bytes)
  // sent with every call cost more than the decision. Each distinct token crosses once per
  // engine and is then named by its slot; V8 caches a string's hash, so this lookup is
  // cheap. The engine keeps TOKEN_SLOTS (256) and forgets them all when one more comes.
  #tokenSlot(engine, token) {
    if (this.#tokenSlotsEngine !== engine || this.#tokenSlots.size >= 256) {
      this.#tokenSlots.clear();
      this.#tokenSlotsEngine = engine;
    }
    let slot = this.#tokenSlots.get(token);
    if (slot === undefined) {
      slot = engine.registerToken(token);
      if (slot === 0) this.#tokenSlots.clear(); // the engine started over
      this.#tokenSlots.set(token, slot);
    }
    return slot;
  }

  /** Release the engine's memory; the evaluator cannot be used afterwards. */
  close() {
    this.#engine?.free();
    this.#engine = null;
  }
}

const SUBJECT_KEYS = new Set(["subject", "action", "resource"]);

/**
 * The packed ids of an AuthZEN evaluations request that the batch fast path can answer
 * (default `execute_all`, no context, id-only entities after merging the defaults), or null.
 */
function packBatch(r) {
  if (r === null || typeof r !== "object" || !Array.isArray(r.evaluations) || r.evaluations.length === 0) return null;
  for (const k in r) if (k !== "evaluations" && !SUBJECT_KEYS.has(k)) return null;
  const parts = [];
  for (const item of r.evaluations) {
    if (item === null || typeof item !== "object") return null;
    for (const k in item) if (!SUBJECT_KEYS.has(k)) return null;
    // an item's key replaces the default as a whole (also when it is null), as in the engine
    const s = "subject" in item ? item.subject : r.subject;
    const a = "action" in item ? item.action : r.action;
    const res = "resource" in item ? item.resource : r.resource;
    if (!isEntity(s) || !isAction(a) || !isEntity(res)) return null;
    parts.push(s.type, s.id, a.name, res.type, res.id);
  }
  return parts.join("\0");
}

// A NUL inside a field would shift the packed fields: such requests take the JSON path.
const plain = (x) => typeof x === "string" && !x.includes("\0");

function isEntity(e) {
  if (e === null || typeof e !== "object" || !plain(e.type) || !plain(e.id)) return false;
  for (const k in e) if (k !== "type" && k !== "id") return false;
  return true;
}

function isAction(a) {
  if (a === null || typeof a !== "object" || !plain(a.name)) return false;
  for (const k in a) if (k !== "name") return false;
  return true;
}

function isIdsOnly(r) {
  if (r === null || typeof r !== "object") return false;
  const s = r.subject;
  const a = r.action;
  const res = r.resource;
  return (
    r.context === undefined &&
    s !== null && typeof s === "object" && typeof s.type === "string" && typeof s.id === "string" && s.properties === undefined &&
    a !== null && typeof a === "object" && typeof a.name === "string" && a.properties === undefined &&
    res !== null && typeof res === "object" && typeof res.type === "string" && typeof res.id === "string" && res.properties === undefined &&
    Object.keys(r).length === 3 && Object.keys(s).length === 2 && Object.keys(a).length === 1 && Object.keys(res).length === 2
  );
}
