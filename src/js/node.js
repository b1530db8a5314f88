// kbac-wasm for Node (ESM): reads the `.wasm` next to this module from disk (the
// speed-optimised `kbac_node.wasm` when present, else the small `kbac_bg.wasm`) and loads
// `file:` URLs for graphs and policies (their ETag is derived from size and mtime).
import { readFile, stat } from "node:fs/promises";
import { __setPlatform } from "./index.js";

async function wasmBytes() {
  try {
    return await readFile(new URL("./kbac_node.wasm", import.meta.url));
  } catch {
    return readFile(new URL("./kbac_bg.wasm", import.meta.url));
  }
}

__setPlatform({
  wasmSource: wasmBytes,
  loadFile: async (url) => {
    const st = await stat(url);
    return { etag: `W/"${st.size}-${st.mtimeMs}"`, body: new Uint8Array(await readFile(url)) };
  },
});

export * from "./index.js";
