// Types of the npm package `kbac-wasm` (hand-written; the shim is `index.js`).

/** A typed error answer: every bad input comes back as `{ error }`, never as an exception. */
export interface KbacError {
  /** Stable dotted code, e.g. `json.syntax`, `graph.unknown_node`, `cypher.syntax`, `fetch.failed`. */
  code: string;
  message: string;
  /** JSON path inside the input, e.g. `nodes[3].external_id`. */
  path?: string;
  /** 1-based line / column in Cypher text. */
  line?: number;
  column?: number;
  /** Which loaded source failed: `graph`, `graph[1]`, `policies`, or the URL. */
  source?: string;
  /** HTTP status when a URL answered with an error. */
  status?: number;
}

export interface ErrorResult {
  error: KbacError;
}

// ----- inputs --------------------------------------------------------------------------

export type PropertyValue = string | number | boolean | Array<string | number | boolean>;

export interface CaptureProperty {
  type: string;
  value: PropertyValue;
  metadata?: Record<string, unknown>;
}

export interface CaptureNode {
  external_id: string;
  type: string;
  is_identity?: boolean;
  tags?: string[];
  properties?: CaptureProperty[];
  [key: string]: unknown;
}

export interface NodeRef {
  external_id: string;
  type: string;
}

export interface CaptureRelationship {
  type: string;
  source: NodeRef;
  target: NodeRef;
  properties?: CaptureProperty[];
  [key: string]: unknown;
}

/** A Capture API batch: `{nodes}`, `{relationships}` or both. */
export interface CaptureBatch {
  nodes?: CaptureNode[];
  relationships?: CaptureRelationship[];
}

/**
 * Where data comes from: an object, a JSON string, bytes (JSON, or a binary snapshot starting
 * with `KBACSNAP`), or a URL (string or `URL`; loaded with `fetch`, re-checked by `refresh()`).
 */
export type Source<T> = T | string | URL | Uint8Array | ArrayBuffer;

/** A KBAC policy (`meta.policy_version` `2.0-kbac`, …) or a Config API record. */
export type Policy = Record<string, unknown>;

/** Token verification settings (`config.token`); unknown members are `config.invalid`. */
export interface TokenConfig {
  /** Required `iss` (exact match). */
  issuer?: string;
  /** Accepted audiences: the token's `aud` must contain one of them. */
  audience?: string | string[];
  /** Clock skew allowed for `exp` / `nbf`, whole seconds (default 60). */
  leeway?: number;
  /** Claims every token must carry (default `["exp"]`). */
  requiredClaims?: string | string[];
  /** Accepted `alg` values (default RS256, RS384, RS512, PS256, ES256, EdDSA; never `none`). */
  allowedAlgorithms?: string | string[];
  /** Longest accepted token in bytes (default 16384). */
  maxTokenLength?: number;
  /** Shared secret for HS256 tokens (at least 32 bytes); adds HS256 to the allowed algorithms. */
  hs256Secret?: string;
}

/** An RFC 7517 JSON Web Key (public signature keys: RSA, EC P-256, OKP Ed25519). */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  [member: string]: unknown;
}

/** An RFC 7517 JSON Web Key Set. */
export interface Jwks {
  keys: Jwk[];
}

/** Size and depth limits (`config.limits`): positive integers; each has its own error code. */
export interface Limits {
  /** Bytes of one AuthZEN request (default 1 MiB). */
  maxRequestBytes?: number;
  /** Bytes of one graph batch (default 256 MiB). */
  maxBatchBytes?: number;
  /** Nodes + relationships of one graph batch (default 5,000,000). */
  maxBatchItems?: number;
  /** Bytes of one policy (default 512,000). */
  maxPolicyBytes?: number;
  /** Policies in one set (default 10,000). */
  maxPolicies?: number;
  /** Characters of one Cypher condition (default 16 KiB). */
  maxCypherLength?: number;
  /** Nesting of Cypher expressions (default 64, at most 128). */
  maxExpressionDepth?: number;
  /** Nesting of `condition.filter` (default 32, at most 128). */
  maxFilterDepth?: number;
  /** Items of one `IN` list (default 100,000). */
  maxInList?: number;
  /** Items of one `evaluations` batch (default 10,000). */
  maxEvaluations?: number;
}

export interface EngineConfig {
  /** Upper bound for unbounded `*` and range maxima (default 8). */
  maxPathLength?: number;
  /** Nodes + relationships one evaluation may visit (default 200000). */
  visitBudget?: number;
  /** Node type of the virtual token node (default `Token`). */
  tokenType?: string;
  /** Claim naming the token's identity (default `sub`). */
  subjectClaim?: string;
  /** Identity node type a token joins to (default: any identity node). */
  identityType?: string | null;
  /** Ordered `acr` values, weakest first, e.g. `["pwd", "otp", "mfa", "phr"]`. */
  assuranceLevels?: string[];
  /** Token verification (issuer, audience, leeway, …). */
  token?: TokenConfig;
  /** The key set tokens are verified with (see also the `jwks` / `jwksUrl` options). */
  jwks?: Jwks;
  /** Down-scoped tokens: scope -> the actions it grants (default: the action named like the scope). */
  scopeActions?: Record<string, string[]>;
  limits?: Limits;
}

export interface CreateEvaluatorOptions {
  /** The graph: a Capture batch, a list of batches/sources, JSON text, bytes or URL(s). */
  graph?: Source<CaptureBatch | CaptureBatch[]> | Array<Source<CaptureBatch>>;
  /** Alias of `graph` (binary snapshots are detected by their `KBACSNAP` prefix). */
  snapshot?: Source<CaptureBatch | CaptureBatch[]> | Array<Source<CaptureBatch>>;
  /** One policy, one record, an array of either, or sources of them. */
  policies?: Source<Policy | Policy[]> | Array<Source<Policy | Policy[]>>;
  /** Clock in epoch seconds (default `Date.now() / 1000`), or a fixed instant. */
  now?: (() => number) | number;
  config?: EngineConfig;
  /** The WebAssembly module (required where runtime compilation is not allowed), bytes, or its URL. */
  wasm?: WebAssembly.Module | BufferSource | Response | URL | string;
  /** `fetch` used for URL sources and `jwksUrl` (default `globalThis.fetch`). */
  fetch?: (input: URL, init: { headers: Record<string, string> }) => Promise<Response>;
  /**
   * The key set tokens are verified with: a JWKS object or its JSON text. Malformed keys are
   * skipped (see `jwksStatus()`); a document with no usable key is `jwks.invalid`.
   * Not together with `jwksUrl` or `config.jwks`.
   */
  jwks?: Jwks | string | Uint8Array;
  /**
   * Where to load the key set from (with `fetch`). Re-checked (ETag / If-None-Match) by
   * `refresh()` and `refreshJwks()`, and in the background when a token names an unknown
   * `kid` (at most once per `jwksMinRefreshSeconds`). Not together with `jwks` or `config.jwks`.
   */
  jwksUrl?: string | URL;
  /** Least time between two background JWKS fetches triggered by unknown `kid`s (default 60). */
  jwksMinRefreshSeconds?: number;
  /** Called with the result of every JWKS reload after creation (background or explicit). */
  onJwksRefresh?: (result: JwksRefreshResult) => void;
  /** Required token `iss` (as `config.token.issuer`; giving both is `config.invalid`). */
  issuer?: string;
  /** Accepted token audiences (as `config.token.audience`). */
  audience?: string | string[];
  /** Clock skew for `exp` / `nbf` in whole seconds (as `config.token.leeway`; default 60). */
  leeway?: number;
  /** The `acr` hierarchy, weakest first (as `config.assuranceLevels`). */
  assurance?: { levels: string[] };
}

// ----- AuthZEN --------------------------------------------------------------------------

export interface Entity {
  type: string;
  id: string;
  properties?: Record<string, unknown>;
}

export interface Action {
  name: string;
  properties?: Record<string, unknown>;
}

export interface EvaluationRequest {
  subject: Entity;
  action: Action;
  resource: Entity;
  context?: Record<string, unknown>;
}

export interface EvaluationsRequest {
  subject?: Entity;
  action?: Action;
  resource?: Entity;
  context?: Record<string, unknown>;
  evaluations?: Array<Partial<EvaluationRequest>>;
  options?: Record<string, unknown>;
}

export interface SearchRequest {
  subject?: Partial<Entity>;
  action?: Partial<Action>;
  resource?: Partial<Entity>;
  context?: Record<string, unknown>;
  page?: { token?: string; limit?: number };
}

export interface Advice {
  error?: string;
  error_description?: string;
  [key: string]: unknown;
}

/** What a step-up prompt needs (from advice with `error: "insufficient_user_authentication"`). */
export interface StepUp {
  /** Acceptable `acr` values in preference order (may be empty when the advice names none). */
  acrValues: string[];
  /** Maximum authentication age in seconds. */
  maxAge?: number;
  factors?: string[];
  description?: string;
}

export interface Decision {
  decision: boolean;
  context?: {
    advice?: Advice[];
    reason?: string | Record<string, unknown>;
    [key: string]: unknown;
  };
  /** Present when the decision is `false` and the advice asks for step-up (non-enumerable:
   *  `JSON.stringify(result)` is the exact AuthZEN response). */
  stepUp?: StepUp;
}

export type EvaluationResult = Decision | ErrorResult;

export interface EvaluationsResult {
  evaluations: Array<Decision | ErrorResult>;
}

export interface SearchResult<T> {
  results: T[];
  page?: { next_token?: string; count?: number; total?: number };
  [key: string]: unknown;
}

export interface CallOptions {
  /** A compact JWS (verified by the engine against its configured keys). */
  token?: string;
  /** Already-verified claims, for trusted callers that verify tokens themselves. */
  claims?: Record<string, unknown>;
  /** Override the clock for this call (epoch seconds). */
  now?: number;
}

export interface GraphChange {
  nodes: number;
  relationships: number;
}

export interface Stats {
  nodes: number;
  relationships: number;
  policies: number;
  /** Size of the WebAssembly linear memory in bytes. */
  memoryBytes: number;
}

export type RefreshResult = { ok: true; changed: boolean } | { ok: false; error: KbacError };

/** A JWKS reload: `keys` / `skipped` are present when new keys were installed. */
export type JwksRefreshResult =
  | { ok: true; changed: boolean; keys?: number; skipped?: KbacError[] }
  | { ok: false; error: KbacError };

/** What `setJwks` installed: usable keys, their `kid`s, and the keys skipped as unusable. */
export interface JwksInstalled {
  keys: number;
  kids: string[];
  skipped: KbacError[];
}

export interface JwksStatus extends JwksInstalled {
  /** `jwks` (the option or `setJwks`) or the `jwksUrl`. */
  source: string;
  /** When the current keys were installed (ms since the epoch), null before the first load. */
  loadedAt: number | null;
  /** The last reload after creation (its failure is kept here), or null. */
  lastRefresh: (JwksRefreshResult & { at: number }) | null;
}

/** The AuthZEN PDP metadata (`/.well-known/authzen-configuration`). */
export interface PdpMetadata {
  policy_decision_point: string;
  access_evaluation_endpoint: string;
  access_evaluations_endpoint: string;
  search_subject_endpoint: string;
  search_resource_endpoint: string;
  search_action_endpoint: string;
}

export interface Evaluator {
  /** The clock in epoch seconds; assign to control time. */
  now: () => number;
  evaluate(request: EvaluationRequest | string, options?: CallOptions): EvaluationResult;
  evaluations(request: EvaluationsRequest | string, options?: CallOptions): EvaluationsResult | ErrorResult;
  explain(request: EvaluationRequest | string, options?: CallOptions): Record<string, unknown> | ErrorResult;
  searchSubjects(request: SearchRequest | string, options?: CallOptions): SearchResult<Entity> | ErrorResult;
  searchResources(request: SearchRequest | string, options?: CallOptions): SearchResult<Entity> | ErrorResult;
  searchActions(request: SearchRequest | string, options?: CallOptions): SearchResult<Action> | ErrorResult;
  upsertNodes(batch: CaptureBatch | string): GraphChange | ErrorResult;
  upsertRelationships(batch: CaptureBatch | string): GraphChange | ErrorResult;
  deleteNodes(batch: CaptureBatch | string): GraphChange | ErrorResult;
  deleteRelationships(batch: CaptureBatch | string): GraphChange | ErrorResult;
  deleteNodeProperties(batch: CaptureBatch | string): GraphChange | ErrorResult;
  setPolicies(policies: Policy | Policy[] | string | Uint8Array): { policies: number } | ErrorResult;
  stats(): Stats;
  /** The graph and policies as a binary snapshot (`KBACSNAP…`); pass it as `graph` to load it fast. */
  snapshot(): Uint8Array;
  /** `WWW-Authenticate` value for a step-up / insufficient-scope denial, else `null`. */
  challenge(result: EvaluationResult): string | null;
  /** Re-load URL sources (ETag), the `jwksUrl` too; swaps atomically, keeps serving the old state on failure. */
  refresh(): Promise<RefreshResult>;
  /** The discovery document for a PDP served at `baseUrl` (as the edge worker serves it). */
  metadata(baseUrl: string | URL): PdpMetadata;
  /** Replace the token keys now; on `{ error }` the current keys stay. */
  setJwks(jwks: Jwks | string | Uint8Array): JwksInstalled | ErrorResult;
  /** Re-fetch `jwksUrl` now (not rate-limited); failures keep the current keys. */
  refreshJwks(): Promise<JwksRefreshResult>;
  /** The keys the evaluator manages (`jwks`, `jwksUrl`, `setJwks`), or null. */
  jwksStatus(): JwksStatus | null;
  /** Free the engine; later calls throw. */
  close(): void;
}

/** Create a decision point; resolves to `{ error }` when inputs are invalid or unreachable. */
export function createEvaluator(options: CreateEvaluatorOptions): Promise<Evaluator | ErrorResult>;

/** Instantiate the WebAssembly module once (called by `createEvaluator`). */
export function initWasm(wasm?: CreateEvaluatorOptions["wasm"]): Promise<void>;

export function stepUpFromAdvice(advice: Advice[] | undefined): StepUp | undefined;

export function challenge(result: EvaluationResult): string | null;

/** The AuthZEN discovery document for a PDP served at `baseUrl` (an absolute http(s) URL). */
export function metadata(baseUrl: string | URL): PdpMetadata;

/** The low-level binding (JSON strings in and out). Prefer `createEvaluator`. */
export class Engine {
  constructor(configJson?: string | null);
  free(): void;
  loadGraph(json: string): string;
  upsertNodes(json: string): string;
  upsertRelationships(json: string): string;
  deleteNodes(json: string): string;
  deleteRelationships(json: string): string;
  deleteNodeProperties(json: string): string;
  setPolicies(json: string): string;
  loadSnapshot(bytes: Uint8Array): string;
  /** Replace the token key set: `{"keys","kids","skipped"}` or `{"error"}` (keys unchanged). */
  setJwks(json: string): string;
  snapshot(): Uint8Array;
  evaluate(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  evaluations(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  explain(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  searchSubjects(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  searchResources(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  searchActions(request: string, now?: number | null, token?: string | null, claims?: string | null): string;
  /** Fast path: `subjectType\0subjectId\0action\0resourceType\0resourceId` -> 0 false, 1 true,
   *  2 other (read `lastResult()`), 3 unpackable (use `evaluate`). */
  evaluateIds(ids: string, now?: number | null, token?: string | null): number;
  /** Keep a token in the engine (at most 256; one more forgets them all) -> its slot. */
  registerToken(token: string): number;
  /** `evaluateIds` with the token registered in `slot` (3: no such slot). */
  evaluateIdsSlot(ids: string, now: number | null | undefined, slot: number): number;
  /** Batch fast path: 5 NUL-separated fields per item -> one code per item (empty: use `evaluations`). */
  evaluateIdsBatch(ids: string, now?: number | null, token?: string | null): Uint8Array;
  lastResult(): string;
  stats(): string;
  static version(): string;
}
