// The reference scenario through the npm package (run by scripts/demo.sh):
// ask, get step-up advice, "do MFA", ask again, get access.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createEvaluator } from "kbac-wasm";

const dir = process.argv[2] ?? "../../shared/scenarios/step-up-laptop";
const load = async (f) => JSON.parse(await readFile(path.join(dir, f), "utf8"));

const pdp = await createEvaluator({
  graph: [await load("nodes.json"), await load("relationships.json")],
  policies: await load("policy.json"),
});
if ("error" in pdp) {
  console.error("could not load the scenario:", pdp.error);
  process.exit(1);
}
const request = await load("request.json");
const show = (label, r) => {
  console.log(`${label}\n  decision: ${r.decision}`);
  if (r.context?.advice) console.log(`  advice:   ${JSON.stringify(r.context.advice)}`);
  if (r.stepUp) console.log(`  stepUp:   ${JSON.stringify(r.stepUp)}`);
  const c = pdp.challenge(r);
  if (c) console.log(`  WWW-Authenticate: ${c}`);
  if (r.error) console.log(`  error:    ${JSON.stringify(r.error)}`);
};

console.log(`request: ${JSON.stringify(request)}  (stats: ${JSON.stringify(pdp.stats())})\n`);
show("1. without a token", pdp.evaluate(request));
// After MFA the identity provider issues a fresh token; here its verified claims stand in
// for it (token verification against a JWKS is configured with `config`).
const now = 1_775_490_000;
show("\n2. after MFA (fresh token claims, exp later than the policy's instant)", pdp.evaluate(request, { claims: { sub: "alice", acr: "mfa", exp: now + 150 }, now }));
pdp.close();
