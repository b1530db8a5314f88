// Size budget of the .wasm that browsers and edge workers download (issue 3: ≤ 250 KB gzip).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const BUDGET = Number(process.env.KBAC_WASM_GZIP_BUDGET ?? 250_000);

test(`kbac_bg.wasm is at most ${BUDGET} bytes gzipped`, async () => {
  const file = fileURLToPath(import.meta.resolve("kbac-wasm/kbac_bg.wasm"));
  const bytes = await readFile(file);
  const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
  const brotli = zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`size: kbac_bg.wasm ${bytes.length} bytes raw, ${gzip} gzip -9, ${brotli} brotli 11 (budget ${BUDGET} gzip)`);
  assert.ok(WebAssembly.validate(bytes), "valid wasm");
  assert.ok(gzip <= BUDGET, `${gzip} bytes gzipped exceeds the budget of ${BUDGET} by ${gzip - BUDGET}`);
});

test("the Node build is a separate, valid module with the same exports", async () => {
  const small = await WebAssembly.compile(await readFile(fileURLToPath(import.meta.resolve("kbac-wasm/kbac_bg.wasm"))));
  const fast = await WebAssembly.compile(await readFile(fileURLToPath(import.meta.resolve("kbac-wasm/kbac_node.wasm"))));
  const names = (m) => WebAssembly.Module.exports(m).map((e) => `${e.kind}:${e.name}`).sort();
  assert.deepEqual(names(fast), names(small));
  assert.deepEqual(
    WebAssembly.Module.imports(fast).map((e) => `${e.module}.${e.name}`).sort(),
    WebAssembly.Module.imports(small).map((e) => `${e.module}.${e.name}`).sort(),
  );
});
