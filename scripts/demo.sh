#!/usr/bin/env bash
# The demo: build the npm package, then run the reference step-up scenario
# (../shared/scenarios/step-up-laptop) through the native CLI and through Node.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
S="${KBAC_SCENARIO_DIR:-$ROOT/../shared/scenarios/step-up-laptop}"
[ -d "$S" ] || { echo "demo: scenario not found at $S (set KBAC_SCENARIO_DIR)" >&2; exit 1; }

bash scripts/setup.sh
bash scripts/build-pkg.sh

printf '\n==== CLI: kbac eval (no token)\n'
cargo run --quiet --release --bin kbac -- eval \
  --graph "$S/nodes.json" --graph "$S/relationships.json" \
  --policies "$S/policy.json" --request "$S/request.json"

printf '\n==== Node: import { createEvaluator } from "kbac-wasm"\n'
(cd pkg-tests && npm install --no-audit --no-fund --silent && node demo.mjs "$S")
