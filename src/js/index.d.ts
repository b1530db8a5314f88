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
  /** `fetch` used for URL sources (default `globalThis.fetch`). */
  fetch?: (input: URL, init: { headers: Record<string, string> }) => Promise<Response>;
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
  /** Re-load URL sources (ETag); swaps atomically, keeps serving the old state on failure. */
  refresh(): Promise<RefreshResult>;
  /** Free the engine; later calls throw. */
  close(): void;
}

/** Create a decision point; resolves to `{ error }` when inputs are invalid or unreachable. */
export function createEvaluator(options: CreateEvaluatorOptions): Promise<Evaluator | ErrorResult>;

/** Instantiate the WebAssembly module once (called by `createEvaluator`). */
export function initWasm(wasm?: CreateEvaluatorOptions["wasm"]): Promise<void>;

export function stepUpFromAdvice(advice: Advice[] | undefined): StepUp | undefined;

export function challenge(result: EvaluationResult): string | null;

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
  /** Batch fast path: 5 NUL-separated fields per item -> one code per item (empty: use `evaluations`). */
  evaluateIdsBatch(ids: string, now?: number | null, token?: string | null): Uint8Array;
  lastResult(): string;
  stats(): string;
  static version(): string;
}
