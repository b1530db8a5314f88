#!/usr/bin/env bash
# The main job: build the npm package and the demo page (www/), serve the page on
# http://127.0.0.1:8080/ (PORT=… to change; PORT=0: a free port). Ctrl+C stops it.
#
#   bash scripts/demo.sh              build + serve the demo page
#   bash scripts/demo.sh --scenario   build, then run the reference step-up scenario
#                                     (../shared/scenarios/step-up-laptop) through the
#                                     native CLI and through Node, and exit
set -euo pipefail

SERVE=1
for arg in "$@"; do
  case "$arg" in
    --serve) SERVE=1 ;;
    --scenario) SERVE=0 ;;
    *) echo "demo: unknown option $arg (--serve, the default, or --scenario)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
S="${KBAC_SCENARIO_DIR:-$ROOT/../shared/scenarios/step-up-laptop}"
[ -d "$S" ] || { echo "demo: scenario not found at $S (set KBAC_SCENARIO_DIR)" >&2; exit 1; }

bash scripts/setup.sh
bash scripts/build-pkg.sh

if [ "$SERVE" = 1 ]; then
  KBAC_SCENARIO_DIR="$S" bash scripts/build-www.sh
  printf '\n==== demo page: open the URL below (Ctrl+C stops)\n'
  PORT="${PORT:-8080}" exec node scripts/serve-www.mjs
fi

printf '\n==== CLI: kbac eval (no token)\n'
cargo run --quiet --release --bin kbac -- eval \
  --graph "$S/nodes.json" --graph "$S/relationships.json" \
  --policies "$S/policy.json" --request "$S/request.json"

printf '\n==== Node: import { createEvaluator } from "kbac-wasm"\n'
(cd pkg-tests && npm install --no-audit --no-fund --silent && node demo.mjs "$S")
