// Type-checked (tsc --noEmit) against the built package: the public surface as a user writes it.
import {
  createEvaluator,
  challenge,
  stepUpFromAdvice,
  type CaptureBatch,
  type EvaluationRequest,
  type Evaluator,
  type ErrorResult,
  type StepUp,
  type EngineConfig,
  type Jwks,
  type JwksStatus,
  type PdpMetadata,
  metadata,
} from "kbac-wasm";

const graph: CaptureBatch = {
  nodes: [{ external_id: "alice", type: "Person", is_identity: true, properties: [{ type: "email", value: "a@x" }] }],
  relationships: [
    { type: "OWNS", source: { external_id: "alice", type: "Person" }, target: { external_id: "l1", type: "Laptop" } },
  ],
};

export async function main(): Promise<string> {
  const created = await createEvaluator({
    graph: [graph, new URL("https://example.invalid/more.json"), "{\"nodes\":[]}", new Uint8Array()],
    policies: { meta: { policy_version: "2.0-kbac" } },
    now: () => 1_775_490_000,
    config: { maxPathLength: 6, assuranceLevels: ["pwd", "otp", "mfa"] },
  });
  if ("error" in created) return created.error.code;
  const pdp: Evaluator = created;
  const request: EvaluationRequest = {
    subject: { type: "Token", id: "alice" },
    action: { name: "CAN_SERVICE" },
    resource: { type: "Laptop", id: "l1" },
  };
  const r = pdp.evaluate(request, { token: "eyJ..." });
  if ("error" in r) return r.error.message;
  if (!r.decision && r.stepUp) {
    const s: StepUp = r.stepUp;
    const header: string | null = pdp.challenge(r) ?? challenge(r);
    return `${s.acrValues.join(" ")} ${s.maxAge ?? ""} ${header ?? ""}`;
  }
  const batch = pdp.evaluations({ subject: request.subject, evaluations: [{ action: { name: "READ" }, resource: request.resource }] });
  if (!("error" in batch)) batch.evaluations.forEach((e) => ("error" in e ? e.error.code : e.decision));
  const found = pdp.searchResources({ subject: request.subject, action: request.action, resource: { type: "Laptop" } });
  if (!("error" in found)) found.results.map((e) => e.id);
  const change = pdp.upsertNodes({ nodes: [{ external_id: "bob", type: "Person" }] });
  const n: number = "error" in change ? 0 : change.nodes;
  const refreshed = await pdp.refresh();
  const msg = refreshed.ok ? String(refreshed.changed) : refreshed.error.code;
  const bytes: number = pdp.stats().memoryBytes;
  const snap: Uint8Array = pdp.snapshot();
  await createEvaluator({ snapshot: snap });
  pdp.now = () => Date.now() / 1000;
  const adv = stepUpFromAdvice([{ error: "insufficient_user_authentication", acr_values: "mfa" }]);
  const doc: PdpMetadata = pdp.metadata("https://pdp.example.com");
  const same: string = metadata(new URL(doc.policy_decision_point)).access_evaluation_endpoint;
  pdp.close();
  const e: ErrorResult = { error: { code: "json.syntax", message: "x" } };
  return `${n} ${msg} ${bytes} ${adv?.acrValues[0]} ${e.error.code} ${same}`;
}

export async function tokens(jwks: Jwks): Promise<string> {
  const config: EngineConfig = {
    token: { requiredClaims: ["exp", "sub"], allowedAlgorithms: ["ES256", "EdDSA"], maxTokenLength: 8192 },
    scopeActions: { "laptops.read": ["READ", "LIST"] },
    limits: { maxRequestBytes: 65536, maxEvaluations: 100, maxFilterDepth: 16, maxInList: 1000 },
  };
  const created = await createEvaluator({
    graph,
    config,
    jwksUrl: new URL("https://as.example/.well-known/jwks.json"),
    jwksMinRefreshSeconds: 30,
    onJwksRefresh: (r) => (r.ok ? r.changed : r.error.code),
    issuer: "https://as.example",
    audience: ["kbac", "api"],
    leeway: 30,
    assurance: { levels: ["pwd", "otp", "mfa"] },
  });
  if ("error" in created) return created.error.code;
  const fixed = await createEvaluator({ graph, jwks, issuer: "https://as.example" });
  if (!("error" in fixed)) fixed.close();
  await createEvaluator({ graph, config: { jwks, token: { issuer: "https://as.example", hs256Secret: "s".repeat(32) } } });
  const installed = created.setJwks(JSON.stringify(jwks));
  const kids: string[] = "error" in installed ? [] : installed.kids;
  const refreshed = await created.refreshJwks();
  const skipped = refreshed.ok ? (refreshed.skipped ?? []).map((s) => s.path) : [refreshed.error.code];
  const status: JwksStatus | null = created.jwksStatus();
  const when = status?.lastRefresh?.at ?? status?.loadedAt ?? 0;
  created.close();
  return `${kids.join()} ${skipped.join()} ${status?.source} ${status?.keys} ${when}`;
}
