// kbac-wasm for Node (ESM): reads the `.wasm` next to this module from disk and loads
// `file:` URLs for graphs and policies (their ETag is derived from size and mtime).
import { readFile, stat } from "node:fs/promises";
import { __setPlatform } from "./index.js";

__setPlatform({
  wasmSource: () => readFile(new URL("./kbac_bg.wasm", import.meta.url)),
  loadFile: async (url) => {
    const st = await stat(url);
    return { etag: `W/"${st.size}-${st.mtimeMs}"`, body: new Uint8Array(await readFile(url)) };
  },
});

export * from "./index.js";
