// kbac-wasm demo page: evaluate the reference scenario in the browser, turn step-up advice
// into an MFA prompt, get a fresh ES256 token from a demo identity provider inside the page,
// evaluate again, and draw the path that granted access.
//
// Everything is loaded from this origin: the package (./pkg/, copied from the npm package by
// scripts/build-www.sh) and the scenario (./assets/, copied from the shared scenario).

import { createEvaluator } from "./pkg/index.js";

const $ = (id) => document.getElementById(id);
const STEP_UP = "insufficient_user_authentication";
const TOKEN_TYPE = "Token";
const SVG_NS = "http://www.w3.org/2000/svg";

// The demo identity provider's names; the engine is configured to accept exactly these.
const ISSUER = `${location.origin}/demo-idp`;
const AUDIENCE = "kbac-wasm-demo";
const KID = "demo-idp-es256";
const TOKEN_LIFETIME = 300; // seconds

const state = {
  pdp: null,
  scenario: null, // {nodes, relationships, policy, request}
  idp: null,
  session: null, // {sub, token, header, claims} after MFA
  otp: null, // the code the current dialog expects
  policyText: "",
  evaluated: false,
};

// ------------------------------------------------------------------------------------------
// Small DOM helpers.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function setStatus(text, kind = "") {
  const s = $("status");
  s.textContent = text;
  s.className = `status ${kind}`;
}

function json(x) {
  return JSON.stringify(x, null, 2);
}

// ------------------------------------------------------------------------------------------
// Demo identity provider: a P-256 key made at load; tokens are compact JWS (ES256).

function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = new TextEncoder();

class DemoIdp {
  #privateKey;

  static async create() {
    const idp = new DemoIdp();
    // The private key is not extractable; the public key always is.
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    idp.#privateKey = pair.privateKey;
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    idp.publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: KID, alg: "ES256", use: "sig" };
    return idp;
  }

  get jwks() {
    return { keys: [this.publicJwk] };
  }

  /** A fresh token for `sub` after a successful one-time code: acr=mfa, valid 5 minutes. */
  async issue(sub) {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "ES256", typ: "JWT", kid: KID };
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub,
      acr: "mfa",
      amr: ["pwd", "otp"],
      auth_time: now,
      iat: now,
      exp: now + TOKEN_LIFETIME,
      jti: b64url(crypto.getRandomValues(new Uint8Array(12))),
    };
    const input = `${b64url(utf8.encode(JSON.stringify(header)))}.${b64url(utf8.encode(JSON.stringify(claims)))}`;
    // WebCrypto's ECDSA signature is r || s (IEEE P1363), exactly what JWS ES256 wants.
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.#privateKey, utf8.encode(input)));
    return { token: `${input}.${b64url(sig)}`, header, claims };
  }
}

// ------------------------------------------------------------------------------------------
// Scenario and engine.

async function fetchJson(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} (run scripts/build-www.sh)`);
  return res.json();
}

async function loadScenario() {
  const [nodes, relationships, policy, request] = await Promise.all(
    ["nodes", "relationships", "policy", "request"].map((n) => fetchJson(`assets/${n}.json`)),
  );
  return { nodes: nodes.nodes ?? [], relationships: relationships.relationships ?? [], nodesBatch: nodes, relsBatch: relationships, policy, request };
}

function engineConfig(idp) {
  return {
    jwks: idp.jwks,
    token: { issuer: ISSUER, audience: AUDIENCE },
    tokenType: TOKEN_TYPE,
    assuranceLevels: ["pwd", "otp", "mfa", "phr"],
  };
}

// ------------------------------------------------------------------------------------------
// Pickers and the request.

function propValue(node, type) {
  return node.properties?.find((p) => p.type === type)?.value;
}

function displayName(node) {
  const given = propValue(node, "given_name");
  const last = propValue(node, "last_name");
  if (given) return [given, last].filter(Boolean).join(" ");
  return propValue(node, "name") ?? node.external_id;
}

function fillPickers() {
  const { nodes, request } = state.scenario;
  const people = nodes.filter((n) => n.is_identity && n.type === "Person").sort((a, b) => a.external_id.localeCompare(b.external_id));
  const subject = $("subject");
  subject.replaceChildren(...people.map((n) => el("option", { value: n.external_id, text: `${displayName(n)} (${n.external_id})` })));
  subject.value = request.subject?.id ?? people[0]?.external_id;

  const things = nodes.filter((n) => !n.is_identity).sort((a, b) => a.type.localeCompare(b.type) || a.external_id.localeCompare(b.external_id));
  const resource = $("resource");
  resource.replaceChildren(
    ...things.map((n) => el("option", { value: `${n.type}\u0000${n.external_id}`, text: `${n.external_id} (${n.type})` })),
  );
  if (request.resource) resource.value = `${request.resource.type}\u0000${request.resource.id}`;

  fillActions(actionsOf(state.scenario.policy), request.action?.name);
}

/** Actions named by a policy document (one policy, a Config API record, or an array). */
function actionsOf(doc) {
  const out = [];
  for (let p of Array.isArray(doc) ? doc : [doc]) {
    if (p && typeof p.policy === "string") {
      try {
        p = JSON.parse(p.policy);
      } catch {
        continue;
      }
    }
    for (const a of Array.isArray(p?.actions) ? p.actions : []) if (typeof a === "string" && !out.includes(a)) out.push(a);
  }
  return out;
}

function fillActions(actions, preferred) {
  const action = $("action");
  const keep = preferred ?? action.value;
  const list = actions.length ? actions : ["CAN_SERVICE"];
  if (keep && !list.includes(keep)) list.push(keep);
  action.replaceChildren(...list.map((a) => el("option", { value: a, text: a })));
  action.value = keep && list.includes(keep) ? keep : list[0];
}

function currentRequest() {
  const [rtype, rid] = $("resource").value.split("\u0000");
  return {
    subject: { type: TOKEN_TYPE, id: $("subject").value },
    action: { name: $("action").value },
    resource: { type: rtype, id: rid },
  };
}

/** The token to send: only the one issued for the chosen person. */
function currentToken() {
  const s = state.session;
  return s && s.sub === $("subject").value ? s.token : undefined;
}

function showRequest() {
  $("request-json").textContent = json(currentRequest());
  const s = state.session;
  const summary = $("token-summary");
  if (!s) {
    summary.textContent = "No token: you have not verified with MFA yet.";
  } else {
    const when = new Date(s.claims.exp * 1000).toLocaleTimeString();
    summary.textContent =
      s.sub === $("subject").value
        ? `Sent with a token for ${s.sub} (acr=${s.claims.acr}, expires ${when}).`
        : `You hold a token for ${s.sub}; it is not sent for ${$("subject").value}.`;
  }
  $("forget-token").hidden = !s;
}

// ------------------------------------------------------------------------------------------
// Evaluate and show the decision.

function evaluate() {
  const pdp = state.pdp;
  const request = currentRequest();
  const token = currentToken();
  const opts = token ? { token } : undefined;
  const result = pdp.evaluate(request, opts);
  const explained = pdp.explain(request, opts);
  state.evaluated = true;
  renderResult(request, result, explained, Boolean(token));
  renderGraph(explained?.explain, request);
  return result;
}

function reasonText(ctx) {
  if (!ctx?.reason) return null;
  const code = typeof ctx.reason === "string" ? ctx.reason : json(ctx.reason);
  const admin = ctx.reason_admin?.en ?? ctx.reason_user?.en;
  return { code, admin };
}

function renderResult(request, result, explained, withToken) {
  const box = $("result");
  $("stepup").hidden = true;
  if (result?.error) {
    box.replaceChildren(
      el("p", { id: "decision", class: "decision error", "data-decision": "error", text: "Error" }),
      errorBlock(result.error),
    );
    $("raw-response").hidden = false;
    $("response-json").textContent = json(result);
    return;
  }
  const granted = result.decision === true;
  const ctx = result.context ?? {};
  const advice = Array.isArray(ctx.advice) ? ctx.advice : [];
  const stepUp = result.stepUp ?? (advice.some((a) => a?.error === STEP_UP) ? { acrValues: [] } : undefined);

  const who = `${request.subject.id}${withToken ? " (with MFA token)" : ""}`;
  const decision = el(
    "p",
    { id: "decision", class: `decision ${granted ? "granted" : "denied"}`, "data-decision": String(granted) },
    el("span", { class: "badge", "aria-hidden": "true", text: granted ? "✓" : "✕" }),
    ` ${granted ? "Access granted" : "Access denied"}`,
  );
  const summary = el("p", {
    class: "summary",
    text: `${who} → ${request.action.name} → ${request.resource.type} ${request.resource.id}`,
  });

  const dl = el("dl", { class: "facts" });
  const r = reasonText(ctx);
  let reason;
  if (r) reason = el("span", { id: "reason" }, el("code", { text: r.code }), r.admin ? ` — ${r.admin}` : "");
  else if (granted) reason = el("span", { id: "reason", text: `policy ${explained?.explain?.policy ?? ""} matched a path in the graph` });
  else if (advice.length) reason = el("span", { id: "reason", text: "a policy matched, but its condition failed: see the advice" });
  else reason = el("span", { id: "reason", text: "none given: no policy condition matched (default deny)" });
  dl.append(el("dt", { text: "Reason" }), el("dd", {}, reason));

  const adviceDd = el("dd");
  if (advice.length) {
    const ul = el("ul", { id: "advice-list", class: "advice" });
    for (const a of advice) {
      const li = el("li");
      if (a?.error) li.append(el("code", { class: "advice-error", text: a.error }));
      if (a?.error_description) li.append(` — ${a.error_description}`);
      const rest = Object.entries(a ?? {}).filter(([k]) => k !== "error" && k !== "error_description");
      if (rest.length) {
        li.append(el("span", { class: "advice-extra", text: ` (${rest.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")})` }));
      }
      ul.append(li);
    }
    adviceDd.append(ul);
  } else {
    adviceDd.append(el("span", { id: "no-advice", text: "No advice." }));
  }
  dl.append(el("dt", { text: "Advice" }), adviceDd);

  const challenge = state.pdp.challenge(result);
  if (challenge) {
    dl.append(el("dt", { text: "HTTP answer" }), el("dd", {}, el("code", { id: "challenge", class: "wrap", text: `401 WWW-Authenticate: ${challenge}` })));
  }
  box.replaceChildren(decision, summary, dl);

  if (stepUp) {
    const why = stepUp.description ? `${stepUp.description}. ` : "";
    const acr = stepUp.acrValues?.length ? ` (acr: ${stepUp.acrValues.join(" or ")})` : "";
    $("stepup-text").textContent = `${why}The policy asks ${request.subject.id} to authenticate again${acr}.`;
    $("stepup").hidden = false;
  }
  $("raw-response").hidden = false;
  $("response-json").textContent = json(result);
}

function errorBlock(e) {
  const parts = [el("code", { class: "err-code", text: e.code })];
  parts.push(` ${e.message}`);
  const where = [];
  if (e.source) where.push(`in ${e.source}`);
  if (e.path) where.push(`at ${e.path}`);
  if (e.line !== undefined) where.push(`line ${e.line}, column ${e.column}`);
  if (where.length) parts.push(el("span", { class: "err-where", text: ` (${where.join(", ")})` }));
  return el("p", { class: "error-detail" }, ...parts);
}

// ------------------------------------------------------------------------------------------
// Step-up: the one-time-code dialog and the token.

function sixDigits() {
  const n = crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  return String(n).padStart(6, "0");
}

function openMfa() {
  const dialog = $("mfa-dialog");
  state.otp = sixDigits();
  $("demo-code").textContent = state.otp;
  $("mfa-who").textContent = $("subject").value;
  $("otp").value = "";
  $("otp").removeAttribute("aria-invalid");
  $("otp-error").textContent = "";
  $("otp-submit").disabled = false;
  dialog.returnValue = "";
  dialog.showModal();
  $("otp").focus();
}

async function submitMfa(ev) {
  ev.preventDefault();
  const input = $("otp");
  const code = input.value.trim();
  if (code !== state.otp) {
    input.setAttribute("aria-invalid", "true");
    $("otp-error").textContent = code ? "That code is not right: use the demo code shown above." : "Enter the 6-digit code.";
    input.select();
    return;
  }
  $("otp-submit").disabled = true;
  const sub = $("subject").value;
  state.session = { sub, ...(await state.idp.issue(sub)) };
  state.otp = null;
  $("mfa-dialog").close("verified");
  renderToken();
  showRequest();
  evaluate();
  $("result").focus();
}

function renderToken() {
  const s = state.session;
  const panel = $("token-panel");
  // Shown only while it is the token sent for the chosen person.
  if (!s || s.sub !== $("subject").value) {
    panel.hidden = true;
    return;
  }
  const dl = $("token-claims");
  const rows = [];
  const time = (v) => `${v} (${new Date(v * 1000).toLocaleString()})`;
  rows.push(["header", `${JSON.stringify(s.header)}`]);
  for (const [k, v] of Object.entries(s.claims)) {
    rows.push([k, k === "exp" || k === "iat" || k === "auth_time" ? time(v) : typeof v === "string" ? v : JSON.stringify(v)]);
  }
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { "data-claim": k }, el("code", { text: v }))]));
  $("token-raw").textContent = s.token;
  panel.hidden = false;
}

// ------------------------------------------------------------------------------------------
// The graph: a layered layout (sources left), the virtual Token node in its own column.

const TYPE_COLORS = {
  Token: "#7c3aed",
  Person: "#2563eb",
  Laptop: "#0f766e",
  Car: "#b45309",
  Bus: "#be123c",
  Ticket: "#4d7c0f",
};
const EXTRA_COLORS = ["#0369a1", "#a21caf", "#57534e", "#15803d"];

function colorOf(type) {
  if (!TYPE_COLORS[type]) TYPE_COLORS[type] = EXTRA_COLORS[Object.keys(TYPE_COLORS).length % EXTRA_COLORS.length];
  return TYPE_COLORS[type];
}

const key = (type, id) => `${type}:${id}`;

/** Positions for the scenario's nodes (computed once; the Token column stays reserved). */
function layoutGraph(nodes, rels) {
  const ids = nodes.map((n) => key(n.type, n.external_id));
  const preds = new Map(ids.map((k) => [k, []]));
  const succs = new Map(ids.map((k) => [k, []]));
  for (const r of rels) {
    const s = key(r.source.type, r.source.external_id);
    const t = key(r.target.type, r.target.external_id);
    if (!preds.has(t) || !succs.has(s) || s === t) continue;
    preds.get(t).push(s);
    succs.get(s).push(t);
  }
  // Longest-path ranks from the sources (bounded, so cycles cannot loop forever).
  const rank = new Map(ids.map((k) => [k, 0]));
  for (let round = 0; round < ids.length; round++) {
    let changed = false;
    for (const k of ids) {
      const r = Math.max(0, ...preds.get(k).map((p) => rank.get(p) + 1));
      if (r !== rank.get(k) && r < ids.length) {
        rank.set(k, r);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const columns = [];
  for (const k of ids) (columns[rank.get(k)] ??= []).push(k);
  for (const c of columns) c?.sort();
  // A few barycenter sweeps to keep arrows from crossing.
  const position = () => new Map(columns.flatMap((c) => (c ?? []).map((k, i) => [k, i])));
  const bary = (k, nbrs, pos) => {
    const ns = nbrs.get(k);
    return ns.length ? ns.reduce((a, n) => a + pos.get(n), 0) / ns.length : pos.get(k);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? columns.keys() : [...columns.keys()].reverse();
    for (const ci of order) {
      const col = columns[ci];
      if (!col) continue;
      const pos = position();
      const nbrs = down ? preds : succs;
      const b = new Map(col.map((k) => [k, bary(k, nbrs, pos)]));
      col.sort((x, y) => b.get(x) - b.get(y) || x.localeCompare(y));
    }
  }
  const colW = 190;
  const rowH = 96;
  const rows = Math.max(...columns.map((c) => c?.length ?? 0), 1);
  const height = rows * rowH + 40;
  const width = (columns.length + 1) * colW;
  const at = new Map();
  columns.forEach((col, ci) => {
    if (!col) return;
    const top = (height - col.length * rowH) / 2 + rowH / 2;
    col.forEach((k, i) => at.set(k, { x: colW * (ci + 1) + colW / 2, y: top + i * rowH }));
  });
  return { at, width, height, colW };
}

const R = 22;

function edgeGeometry(a, b, offset) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const nx = -dy / len;
  const ny = dx / len;
  const cx = (a.x + b.x) / 2 + nx * offset;
  const cy = (a.y + b.y) / 2 + ny * offset;
  const trim = (p, q, r) => {
    const l = Math.hypot(q.x - p.x, q.y - p.y) || 1;
    return { x: p.x + ((q.x - p.x) * r) / l, y: p.y + ((q.y - p.y) * r) / l };
  };
  const s = trim(a, { x: cx, y: cy }, R + 2);
  const t = trim(b, { x: cx, y: cy }, R + 6);
  const mid = { x: 0.25 * s.x + 0.5 * cx + 0.25 * t.x, y: 0.25 * s.y + 0.5 * cy + 0.25 * t.y };
  return { d: `M${s.x.toFixed(1)},${s.y.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${t.x.toFixed(1)},${t.y.toFixed(1)}`, mid };
}

function renderGraph(explain, request) {
  const { nodes, relationships } = state.scenario;
  const layout = (state.layout ??= layoutGraph(nodes, relationships));
  const root = $("graph");
  const pathNodes = new Set((explain?.nodes ?? []).map((n) => key(n.type, n.id)));
  const pathRels = new Set(
    (explain?.relationships ?? []).map((r) => `${key(r.source.type, r.source.id)}|${r.type}|${key(r.target.type, r.target.id)}`),
  );

  // Node list: the scenario's nodes plus virtual nodes (the Token) that the path names.
  const at = new Map(layout.at);
  const drawn = nodes.map((n) => ({ type: n.type, id: n.external_id, virtual: false }));
  const rels = relationships.map((r) => ({ s: key(r.source.type, r.source.external_id), t: key(r.target.type, r.target.external_id), type: r.type }));
  let extra = 0;
  for (const n of explain?.nodes ?? []) {
    const k = key(n.type, n.id);
    if (at.has(k)) continue;
    // Place a virtual node left of the node it is joined to (its person), else at the top.
    const joined = (explain.relationships ?? []).find((r) => key(r.source.type, r.source.id) === k);
    const anchor = joined && at.get(key(joined.target.type, joined.target.id));
    at.set(k, anchor ? { x: anchor.x - layout.colW, y: anchor.y } : { x: layout.colW / 2, y: 40 + extra++ * 96 });
    drawn.push({ type: n.type, id: n.id, virtual: true });
  }
  for (const r of explain?.relationships ?? []) {
    const s = key(r.source.type, r.source.id);
    const t = key(r.target.type, r.target.id);
    if (!rels.some((x) => x.s === s && x.t === t && x.type === r.type)) rels.push({ s, t, type: r.type, virtual: true });
  }

  const width = layout.width;
  const height = layout.height;
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.classList.toggle("has-path", pathNodes.size > 0);
  const keep = [...root.children].filter((c) => c.tagName === "title" || c.tagName === "desc");
  const defs = svg(
    "defs",
    {},
    ...["plain", "path"].map((kind) =>
      svg("marker", {
        id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 8, refY: 5, orient: "auto",
        markerUnits: "userSpaceOnUse", markerWidth: kind === "path" ? 14 : 10, markerHeight: kind === "path" ? 14 : 10,
      },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrowhead ${kind}` })),
    ),
  );
  const edgeLayer = svg("g", { class: "edges" });
  const labelLayer = svg("g", { class: "edge-labels" });
  const nodeLayer = svg("g", { class: "nodes" });

  // Parallel relationships between the same two nodes bend apart.
  const groups = new Map();
  for (const r of rels) {
    const g = [r.s, r.t].sort().join("~");
    (groups.get(g) ?? groups.set(g, []).get(g)).push(r);
  }
  for (const group of groups.values()) {
    group.forEach((r, i) => {
      const a = at.get(r.s);
      const b = at.get(r.t);
      if (!a || !b) return;
      const sign = r.s < r.t ? 1 : -1;
      const offset = group.length === 1 ? 0 : (i - (group.length - 1) / 2) * 34 * sign;
      const { d, mid } = edgeGeometry(a, b, offset);
      const on = pathRels.has(`${r.s}|${r.type}|${r.t}`);
      const k = `${r.s}|${r.type}|${r.t}`;
      edgeLayer.append(
        svg("path", { d, class: `edge${on ? " on-path" : ""}${r.virtual ? " virtual" : ""}`, "data-key": k, "marker-end": `url(#arrow-${on ? "path" : "plain"})` }),
      );
      labelLayer.append(svg("text", { x: mid.x.toFixed(1), y: (mid.y - 4).toFixed(1), class: `edge-label${on ? " on-path" : ""}`, "data-key": k, text: r.type }));
    });
  }

  const subjectKey = request ? key("Person", request.subject.id) : null;
  const resourceKey = request ? key(request.resource.type, request.resource.id) : null;
  for (const n of drawn) {
    const k = key(n.type, n.id);
    const p = at.get(k);
    const on = pathNodes.has(k);
    const cls = ["node", on && "on-path", n.virtual && "virtual", k === subjectKey && "chosen", k === resourceKey && "chosen"].filter(Boolean).join(" ");
    const g = svg("g", { class: cls, "data-key": k, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})` });
    g.append(svg("title", { text: `${n.type} ${n.id}${n.virtual ? " (virtual: the verified token)" : ""}` }));
    if (k === subjectKey || k === resourceKey) g.append(svg("circle", { r: R + 6, class: "ring" }));
    g.append(svg("circle", { r: R, class: "dot", fill: colorOf(n.type) }));
    g.append(svg("text", { class: "glyph", y: 5, text: n.type.slice(0, 1) }));
    g.append(svg("text", { class: "node-id", y: R + 16, text: n.id }));
    g.append(svg("text", { class: "node-type", y: -R - 12, text: n.type }));
    nodeLayer.append(g);
  }
  root.replaceChildren(...keep, defs, edgeLayer, nodeLayer, labelLayer);

  // Words for the same picture.
  const desc = `${nodes.length} nodes and ${relationships.length} relationships.`;
  const pathText = $("path-text");
  if (explain?.relationships?.length) {
    const name = (r) => `${r.type} ${r.id}`;
    const steps = explain.relationships.map((r) => `${name(r.source)} —${r.type}→ ${name(r.target)}`);
    pathText.textContent = `Path that granted access (policy ${explain.policy}): ${steps.join("; ")}.`;
    pathText.className = "path-text granted";
    $("graph-desc").textContent = `${desc} Highlighted: ${steps.join("; ")}.`;
  } else {
    pathText.textContent = state.evaluated ? "No path granted access for this request." : "";
    pathText.className = "path-text";
    $("graph-desc").textContent = desc;
  }
}

// ------------------------------------------------------------------------------------------
// The policy panel: live validation (debounced) by replacing the engine's policy set.

let validateTimer = 0;

function valueAt(doc, path) {
  let cur = doc;
  for (const m of String(path).matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = m[1] !== undefined ? cur[m[1]] : cur[Number(m[2])];
  }
  return cur;
}

/** The line of `text` an error points at, with a caret under the column. */
function caretSnippet(text, line, column) {
  const lines = String(text).split("\n");
  const l = lines[line - 1];
  if (l === undefined) return null;
  return `${l}\n${" ".repeat(Math.max(0, column - 1))}^`;
}

function validatePolicy() {
  clearTimeout(validateTimer);
  validateTimer = 0;
  const text = $("policy").value;
  const out = state.pdp.setPolicies(text);
  const status = $("policy-status");
  if (out?.error) {
    const e = out.error;
    $("policy").setAttribute("aria-invalid", "true");
    status.className = "policy-status invalid";
    const items = [el("p", { class: "headline", text: "✕ Not applied: the engine keeps the last valid policy." }), errorBlock(e)];
    let snippet = null;
    if (e.line !== undefined) {
      if (e.code === "json.syntax") snippet = caretSnippet(text, e.line, e.column);
      else if (e.path) {
        let doc;
        try {
          doc = JSON.parse(text);
        } catch {
          doc = undefined;
        }
        const src = valueAt(doc, e.path);
        if (typeof src === "string") snippet = caretSnippet(src, e.line, e.column);
      }
    }
    if (snippet) items.push(el("pre", { class: "snippet", "aria-label": `line ${e.line}, column ${e.column}`, text: snippet }));
    status.replaceChildren(...items);
    return;
  }
  const changed = text !== state.policyText;
  state.policyText = text;
  $("policy").removeAttribute("aria-invalid");
  status.className = "policy-status valid";
  const n = out?.policies ?? 0;
  status.replaceChildren(
    el("p", { class: "headline", text: `✓ Valid: ${n} ${n === 1 ? "policy" : "policies"} in effect for the next evaluation.` }),
  );
  try {
    fillActions(actionsOf(JSON.parse(text)));
    showRequest();
  } catch {
    /* valid for the engine, so valid JSON */
  }
  if (changed && state.evaluated) {
    const box = $("result");
    if (!box.querySelector(".stale")) box.append(el("p", { class: "stale", text: "The policy changed since this decision: press Evaluate again." }));
  }
}

function schedulePolicyCheck() {
  clearTimeout(validateTimer);
  const status = $("policy-status");
  status.className = "policy-status pending";
  status.replaceChildren(el("p", { class: "headline", text: "Checking…" }));
  validateTimer = setTimeout(validatePolicy, 300);
}

// ------------------------------------------------------------------------------------------
// Start.

async function main() {
  const t0 = performance.now();
  const [scenario, idp] = await Promise.all([loadScenario(), DemoIdp.create()]);
  state.scenario = scenario;
  state.idp = idp;
  const pdp = await createEvaluator({
    graph: [scenario.nodesBatch, scenario.relsBatch],
    policies: scenario.policy,
    config: engineConfig(idp),
  });
  if (pdp?.error) {
    setStatus(`Could not load the scenario: ${pdp.error.code}: ${pdp.error.message}`, "error");
    return;
  }
  state.pdp = pdp;
  const stats = pdp.stats();
  setStatus(
    `Engine ready in ${Math.round(performance.now() - t0)} ms: ${stats.nodes} nodes, ${stats.relationships} relationships, ` +
      `${stats.policies} ${stats.policies === 1 ? "policy" : "policies"}. Demo identity provider key ${KID} (P-256) is the engine's JWKS.`,
    "ready",
  );
  document.body.dataset.ready = "true";

  fillPickers();
  showRequest();
  renderGraph(null, currentRequest());

  state.policyText = json(scenario.policy);
  const policy = $("policy");
  policy.value = state.policyText;
  $("policy-status").className = "policy-status valid";
  $("policy-status").replaceChildren(el("p", { class: "headline", text: "✓ Valid: the scenario policy is in effect." }));

  for (const id of ["subject", "action", "resource"]) {
    $(id).addEventListener("change", () => {
      showRequest();
      renderToken();
      renderGraph(null, currentRequest());
    });
  }
  $("request-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    evaluate();
  });
  $("forget-token").addEventListener("click", () => {
    state.session = null;
    renderToken();
    showRequest();
    $("evaluate").focus();
  });
  $("mfa-button").addEventListener("click", openMfa);
  $("mfa-form").addEventListener("submit", (ev) => {
    submitMfa(ev).catch((e) => {
      $("otp-error").textContent = `Signing failed: ${e.message}`;
      $("otp-submit").disabled = false;
    });
  });
  $("otp").addEventListener("input", () => {
    $("otp").removeAttribute("aria-invalid");
    $("otp-error").textContent = "";
  });
  $("otp-cancel").addEventListener("click", () => $("mfa-dialog").close("cancel"));
  $("mfa-dialog").addEventListener("close", () => {
    // Back to where the user was: the MFA button if it is still offered.
    if ($("mfa-dialog").returnValue !== "verified" && !$("stepup").hidden) $("mfa-button").focus();
  });
  policy.addEventListener("input", schedulePolicyCheck);
  policy.addEventListener("blur", () => validateTimer && validatePolicy());
  $("policy-reset").addEventListener("click", () => {
    policy.value = json(scenario.policy);
    validatePolicy();
  });

  for (const id of ["subject", "action", "resource", "evaluate", "policy", "policy-reset"]) $(id).disabled = false;
}

main().catch((e) => {
  setStatus(`The demo could not start: ${e?.message ?? e}`, "error");
  throw e;
});
