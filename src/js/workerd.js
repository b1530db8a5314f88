// kbac-wasm for workerd / Cloudflare Workers: the runtime compiles `.wasm` imports to a
// `WebAssembly.Module` at deploy time (no runtime compilation, which workers forbid).
import wasmModule from "./kbac_bg.wasm";
import { __setPlatform } from "./index.js";

__setPlatform({ wasmSource: () => wasmModule });

export * from "./index.js";
