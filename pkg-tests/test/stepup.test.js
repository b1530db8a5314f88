// Step-up helpers: advice -> stepUp and the WWW-Authenticate challenge (pure JS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { challenge, stepUpFromAdvice } from "kbac-wasm";

const STEP = "insufficient_user_authentication";

test("stepUp merges acr values, the smallest max_age and factors", () => {
  const s = stepUpFromAdvice([
    { error: STEP, acr_values: "mfa phr", max_age: 300, error_description: "MFA required" },
    { error: "insufficient_scope", scope: "cars.read" },
    { error: STEP, acr_values: ["phr", "otp"], max_age: 60, factors: ["webauthn"] },
  ]);
  assert.deepEqual(s, { acrValues: ["mfa", "phr", "otp"], maxAge: 60, factors: ["webauthn"], description: "MFA required" });
  assert.equal(stepUpFromAdvice([{ error: "insufficient_scope" }]), undefined);
  assert.equal(stepUpFromAdvice(undefined), undefined);
});

test("challenge renders RFC 9470 and RFC 6750 values and escapes quotes and newlines", () => {
  const denied = { decision: false, context: { advice: [{ error: STEP, acr_values: "mfa", max_age: 120.7, error_description: 'say "hi"\r\nX: y' }] } };
  assert.equal(
    challenge(denied),
    'Bearer error="insufficient_user_authentication", error_description="say \\"hi\\"X: y", acr_values="mfa", max_age=120',
  );
  assert.equal(
    challenge({ decision: false, context: { advice: [{ error: "insufficient_scope", scope: "cars.read" }] } }),
    'Bearer error="insufficient_scope", scope="cars.read"',
  );
  assert.equal(challenge({ decision: true }), null);
  assert.equal(challenge({ decision: false }), null);
  assert.equal(challenge({ error: { code: "json.syntax", message: "" } }), null);
});
