// The demo page (www/) in headless Debian Chromium, driven by clicks and keys through
// playwright-core: Alice is denied with step-up advice, verifies with MFA, gets access and
// sees the path; Knight Rider is denied with no advice; a broken policy edit shows its error.
// Screenshots of each state go to pkg-tests/browser/artifacts/ (gitignored).
//
//   node --test pkg-tests/browser/        (needs /usr/bin/chromium: bash scripts/setup.sh --browser)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const ARTIFACTS = path.join(HERE, "artifacts");
const CHROMIUM = process.env.KBAC_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let server;
let baseUrl;
let profile;
let context;
let page;
const problems = []; // console errors, page errors, failed or foreign requests

/** Start scripts/serve-www.mjs on a free port; resolve to the URL it prints. */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "scripts/serve-www.mjs")], {
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 10_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+\/)$/m);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${out}`));
    });
  });
}

async function shot(name, { fullPage = true } = {}) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

async function choose(label, value) {
  await page.getByLabel(label, { exact: false }).first().selectOption(value);
}

async function evaluateByClick() {
  await page.getByRole("button", { name: "Evaluate" }).click();
  await page.locator("#decision").waitFor();
}

describe("demo page in Chromium", () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh --browser`);
    // The page's copy of the package and scenario (quick: copies files, prints the weight).
    execFileSync("bash", [path.join(ROOT, "scripts/build-www.sh")], { stdio: "inherit" });
    await mkdir(ARTIFACTS, { recursive: true });
    ({ child: server, url: baseUrl } = await startServer());
    profile = await mkdtemp(path.join(tmpdir(), "kbac-chromium-"));
    // A persistent context is how playwright takes a fresh --user-data-dir of our own.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
      colorScheme: "light",
    });
    page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(baseUrl).origin;
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("request", (r) => {
      const u = r.url();
      if (!u.startsWith(origin) && !u.startsWith("data:") && !u.startsWith("blob:")) problems.push(`foreign request: ${u}`);
    });
    await page.goto(baseUrl);
    await page.locator("body[data-ready=true]").waitFor({ timeout: 20_000 });
  });

  after(async () => {
    await context?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test("loads the scenario from its own origin, with pickers and the request JSON", async () => {
    await assert.doesNotReject(page.locator("#status.ready").waitFor());
    assert.match(await page.locator("#status").innerText(), /9 nodes, 8 relationships, 1 policy/);
    const subjects = await page.locator("#subject option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(subjects, ["alice", "karel", "knightrider", "satchmo"]);
    const resources = await page.locator("#resource option").evaluateAll((os) => os.map((o) => o.textContent));
    assert.ok(resources.includes("airbook-xyz (Laptop)"), resources.join());
    assert.ok(resources.length >= 5);
    assert.deepEqual(await page.locator("#action option").evaluateAll((os) => os.map((o) => o.value)), ["CAN_SERVICE"]);
    const request = JSON.parse(await page.locator("#request-json").innerText());
    assert.deepEqual(request, {
      subject: { type: "Token", id: "alice" },
      action: { name: "CAN_SERVICE" },
      resource: { type: "Laptop", id: "airbook-xyz" },
    });
    // The graph: all nodes and relationships, no path yet, no Token node.
    assert.equal(await page.locator("#graph g.node").count(), 9);
    assert.equal(await page.locator("#graph path.edge").count(), 8);
    assert.equal(await page.locator("#graph .on-path").count(), 0);
    await shot("01-loaded");
  });

  test("keyboard: Tab reaches the pickers and Evaluate in order", async () => {
    await page.locator("body").focus();
    await page.evaluate(() => document.activeElement?.blur());
    const order = [];
    for (let i = 0; i < 8 && !order.includes("evaluate"); i++) {
      await page.keyboard.press("Tab");
      order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName));
    }
    const picks = order.filter((id) => ["subject", "action", "resource", "evaluate"].includes(id));
    assert.deepEqual(picks, ["subject", "action", "resource", "evaluate"], order.join(" > "));
  });

  test("Alice is denied with step-up advice and offered MFA", async () => {
    await choose("Subject", "alice");
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "false");
    assert.match(await page.locator("#decision").innerText(), /Access denied/);
    const advice = await page.locator("#advice-list li").allInnerTexts();
    assert.equal(advice.length, 1);
    assert.match(advice[0], /insufficient_user_authentication/);
    assert.match(advice[0], /Authentication is expired/);
    assert.match(await page.locator("#challenge").innerText(), /WWW-Authenticate: Bearer error="insufficient_user_authentication"/);
    assert.ok(await page.getByRole("button", { name: "Verify with MFA" }).isVisible());
    assert.equal(await page.locator("#graph .on-path").count(), 0);
    assert.match(await page.locator("#path-text").innerText(), /No path granted access/);
    await shot("02-alice-denied-with-advice");
  });

  test("MFA dialog: focus in the code field, wrong code refused, Enter with the demo code grants access", async () => {
    await page.getByRole("button", { name: "Verify with MFA" }).click();
    const dialog = page.getByRole("dialog", { name: "Verify with MFA" });
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "otp");
    const code = (await page.locator("#demo-code").innerText()).trim();
    assert.match(code, /^\d{6}$/);
    assert.match(await dialog.innerText(), new RegExp(`demo code: ${code}`));

    const wrong = code === "000000" ? "111111" : "000000";
    await page.keyboard.type(wrong);
    await page.keyboard.press("Enter");
    await page.locator("#otp-error:not(:empty)").waitFor();
    assert.ok(await dialog.isVisible(), "a wrong code keeps the dialog open");
    assert.equal(await page.locator("#otp").getAttribute("aria-invalid"), "true");
    await shot("03a-mfa-wrong-code", { fullPage: false });

    await page.getByLabel("One-time code").fill(code);
    await shot("03b-mfa-code-entered", { fullPage: false });
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await page.locator("#decision[data-decision=true]").waitFor();
    assert.match(await page.locator("#decision").innerText(), /Access granted/);
    assert.equal(await page.locator("#advice-list").count(), 0);
    assert.ok(await page.locator("#stepup").isHidden(), "no MFA prompt once granted");

    // The token's decoded claims are shown.
    assert.match(await page.locator('[data-claim="sub"]').innerText(), /^alice$/);
    assert.match(await page.locator('[data-claim="acr"]').innerText(), /^mfa$/);
    assert.match(await page.locator('[data-claim="header"]').innerText(), /"alg":"ES256"/);
    const exp = Number((await page.locator('[data-claim="exp"]').innerText()).split(" ")[0]);
    const now = Date.now() / 1000;
    assert.ok(exp > now + 200 && exp <= now + 301, `exp ${exp} is about now+300`);

    // The path that granted access: Token alice -_SAME_AS-> Person alice -OWNS-> Laptop.
    const onNodes = await page.locator("#graph g.node.on-path").evaluateAll((gs) => gs.map((g) => g.dataset.key).sort());
    assert.deepEqual(onNodes, ["Laptop:airbook-xyz", "Person:alice", "Token:alice"]);
    const onEdges = await page.locator("#graph path.edge.on-path").evaluateAll((ps) => ps.map((p) => p.dataset.key).sort());
    assert.deepEqual(onEdges, ["Person:alice|OWNS|Laptop:airbook-xyz", "Token:alice|_SAME_AS|Person:alice"]);
    assert.equal(await page.locator("#graph g.node.virtual").count(), 1, "the virtual Token node is drawn");
    assert.match(await page.locator("#path-text").innerText(), /Token alice —_SAME_AS→ Person alice; Person alice —OWNS→ Laptop airbook-xyz/);
    await shot("04-alice-granted-path");
  });

  test("Karel: the token of Alice is not sent; Escape closes the dialog and focus returns", async () => {
    await choose("Subject", "karel");
    assert.match(await page.locator("#token-summary").innerText(), /not sent for karel/);
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "false");
    await page.getByRole("button", { name: "Verify with MFA" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "otp");
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => document.activeElement?.id), "mfa-button");
  });

  test("Knight Rider is denied with no advice and no MFA button", async () => {
    await choose("Subject", "knightrider");
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "false");
    assert.equal(await page.locator("#advice-list").count(), 0);
    assert.match(await page.locator("#no-advice").innerText(), /No advice/);
    assert.ok(await page.locator("#stepup").isHidden());
    assert.equal(await page.getByRole("button", { name: "Verify with MFA" }).count(), 0);
    assert.equal(await page.locator("#challenge").count(), 0);
    await shot("05-knightrider-denied-no-advice");
  });

  test("an invalid policy edit shows its error (Cypher line/column); the old policy stays in effect", async () => {
    const box = page.getByLabel("Policy JSON");
    const original = await box.inputValue();
    const broken = original.replace("-[:OWNS]->", "-[:OWNS->");
    assert.notEqual(broken, original);
    await box.fill(broken);
    await page.locator("#policy-status.invalid").waitFor();
    const status = await page.locator("#policy-status").innerText();
    assert.match(status, /cypher\.syntax/);
    assert.match(status, /at condition\.cypher/);
    assert.match(status, /line 1, column \d+/);
    assert.match(await page.locator("#policy-status pre.snippet").innerText(), /\[:OWNS->[\s\S]*\^/);
    assert.equal(await box.getAttribute("aria-invalid"), "true");
    await shot("06-policy-cypher-error");

    // Broken JSON: line/column of the text itself.
    await box.fill('{\n  "meta": {"policy_version": "2.0-kbac"},\n  "subject": ');
    await page.locator("#policy-status.invalid").waitFor();
    assert.match(await page.locator("#policy-status").innerText(), /json\.syntax[\s\S]*line \d+, column \d+/);

    // The last valid policy still decides: Alice (token still valid) is granted.
    await choose("Subject", "alice");
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "true");

    // A valid edit takes effect for the next evaluation: ask for something Alice lacks.
    await box.fill(original.replace("-[:OWNS]->", "-[:DRIVES]->"));
    await page.locator("#policy-status.valid").waitFor();
    assert.match(await page.locator("#policy-status").innerText(), /Valid: 1 policy/);
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "false");

    await page.getByRole("button", { name: "Reset to the scenario policy" }).click();
    await page.locator("#policy-status.valid").waitFor();
    assert.equal(await box.inputValue(), original);
    await evaluateByClick();
    assert.equal(await page.locator("#decision").getAttribute("data-decision"), "true");
  });

  test("no console errors, page errors or requests beyond the page's origin", () => {
    assert.deepEqual(problems, []);
  });
});
