// The README's JavaScript quickstart, run verbatim: the first ```js block under
// "## Quickstart (JavaScript)" must print what its trailing `// …` comment says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { PKG_TESTS, REPO } from "./helpers.js";

test("README JavaScript quickstart runs verbatim and prints what it says", async () => {
  const readme = await readFile(path.join(REPO, "README.md"), "utf8");
  const section = readme.split(/^## Quickstart \(JavaScript\)\s*$/m)[1];
  assert.ok(section, "README has a '## Quickstart (JavaScript)' section");
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "the section has a ```js block");
  const expected = code
    .trimEnd()
    .split("\n")
    .at(-1)
    .replace(/^\/\/ ?/, "");
  // run as an ES module from pkg-tests/, so `import … from "kbac-wasm"` resolves by name
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", code], { cwd: PKG_TESTS });
  assert.equal(stdout.trim(), expected.trim());
});
