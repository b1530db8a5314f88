// Cloudflare Workers entry of the kbac-wasm edge worker (see wrangler.toml beside it).
// The graph and policies are bundled as text (rule `Text` for data/*.json), so the engine
// reads them without a JS parse; to fetch them from URLs instead, drop these imports and
// set `graph`/`policies` in KBAC_CONFIG to URLs (refreshed with ETag every refreshSeconds).
import { createWorker } from "kbac-wasm/worker";
import graph from "./data/graph.json";
import policies from "./data/policies.json";

export default createWorker({ graph, policies });
