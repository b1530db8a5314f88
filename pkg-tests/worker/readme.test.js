// The README's "## Deploy at the edge" commands, run as written (only the output directory
// and the port are swapped for a temporary directory and a free port): the config
// generator, `workerd serve`, and the curl request, whose answer must be the `# …` line
// after it. Build/install/kill lines are what the suite itself already did.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PKG_DIR, REPO, WORKERD_BIN, freePort } from "./harness.js";

/** Shell words of one command line (single/double quotes, no expansions). */
function words(line) {
  const out = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

test("README 'Deploy at the edge' commands serve a decision in workerd", async () => {
  const readme = await readFile(path.join(REPO, "README.md"), "utf8");
  const section = readme.split(/^## Deploy at the edge\s*$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, "README has a '## Deploy at the edge' section");
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "the section has a ```sh block");
  const lines = block.replace(/\\\n\s*/g, "").split("\n").map((l) => l.trim()).filter(Boolean);

  const dir = mkdtempSync(path.join(os.tmpdir(), "kbac-readme-"));
  const port = await freePort();
  let outDir = null;
  let readmePort = null;
  let child = null;
  let checked = 0;
  try {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.startsWith("#")) continue;
      const cmd = line.replace(/\s+#.*$/, "").replace(/\s*&$/, "");
      const w = words(cmd);
      if (w[0] === "node" && w[1] === "scripts/workerd-config.mjs") {
        const argv = w.slice(1);
        const o = argv.indexOf("--out");
        const p = argv.indexOf("--port");
        assert.ok(o > 0 && p > 0, "the generator line names --out and --port");
        outDir = argv[o + 1];
        readmePort = argv[p + 1];
        argv[o + 1] = dir;
        argv[p + 1] = String(port);
        argv.push("--pkg", PKG_DIR);
        await promisify(execFile)(process.execPath, argv, { cwd: REPO });
        checked++;
      } else if (w.includes("serve") && w[0].endsWith("workerd")) {
        assert.equal(w.at(-1), `${outDir}/workerd.capnp`, "workerd serves the generated config");
        child = spawn(WORKERD_BIN, ["serve", path.join(dir, "workerd.capnp")], { stdio: "ignore" });
        checked++;
      } else if (w[0] === "curl") {
        const url = w.find((x) => x.startsWith("http://"));
        assert.ok(url.startsWith(`http://127.0.0.1:${readmePort}/`), url);
        const body = w[w.indexOf("-d") + 1];
        const expected = lines[i + 1]?.replace(/^#\s*/, "");
        let answer = null;
        for (let k = 0; k < 200 && answer === null; k++) {
          try {
            const r = await fetch(url.replace(`:${readmePort}/`, `:${port}/`), { method: "POST", headers: { "content-type": "application/json" }, body });
            answer = await r.text();
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.equal(answer, expected);
        checked++;
      } else {
        // what the suite already did (build, install) or does below (stop)
        assert.match(cmd, /^(bash scripts\/build-pkg\.sh|\(cd pkg-tests && npm install\)|kill %1)$/, `unexpected README command: ${cmd}`);
      }
    }
    assert.equal(checked, 3, "generator, workerd and curl lines were all run");
  } finally {
    if (child) {
      process.kill(child.pid, "SIGTERM");
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
