#!/usr/bin/env bash
# Assemble the demo page: copy the built npm package (pkg/, from scripts/build-pkg.sh) into
# www/pkg/ and the reference scenario into www/assets/ (both gitignored), then print the page
# weight: HTML + JS + CSS + wasm, gzip -9 (aim: at most 400 KB).
#
#   bash scripts/build-www.sh            KBAC_SCENARIO_DIR=… to use another scenario directory
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
S="${KBAC_SCENARIO_DIR:-$ROOT/../shared/scenarios/step-up-laptop}"
WWW="$ROOT/www"
BUDGET=$((400 * 1000))

for f in index.js kbac.js kbac_bg.wasm; do
  [ -f "pkg/$f" ] || { echo "build-www: pkg/$f missing; run: bash scripts/build-pkg.sh" >&2; exit 1; }
done
[ -d "$S" ] || { echo "build-www: scenario not found at $S (set KBAC_SCENARIO_DIR)" >&2; exit 1; }

rm -rf "$WWW/pkg" "$WWW/assets"
mkdir -p "$WWW/pkg" "$WWW/assets"
# Only what the browser loads: the shim, the wasm-bindgen glue and the module.
cp pkg/index.js pkg/kbac.js pkg/kbac_bg.wasm "$WWW/pkg/"
for f in nodes relationships policy request; do
  [ -f "$S/$f.json" ] || { echo "build-www: $S/$f.json missing" >&2; exit 1; }
  cp "$S/$f.json" "$WWW/assets/"
done

gz() { gzip -9 -c "$1" | wc -c; }
total=0
printf 'build-www: page weight (gzip -9)\n'
for f in index.html app.js style.css pkg/index.js pkg/kbac.js pkg/kbac_bg.wasm; do
  raw=$(wc -c <"$WWW/$f")
  g=$(gz "$WWW/$f")
  total=$((total + g))
  printf '  %-20s %9d bytes raw %9d gzip\n' "$f" "$raw" "$g"
done
assets=0
for f in "$WWW"/assets/*.json; do assets=$((assets + $(gz "$f"))); done
printf '  %-20s %9s           %9d gzip (data, not counted)\n' "assets/*.json" "" "$assets"
verdict="within"
[ "$total" -le "$BUDGET" ] || verdict="OVER"
awk -v t="$total" -v b="$BUDGET" -v v="$verdict" \
  'BEGIN { printf "build-www: HTML+JS+CSS+wasm gzip total: %d bytes (%.1f KB), %s the %d KB aim\n", t, t / 1000, v, b / 1000 }'
echo "build-www: done: $WWW (serve it: node scripts/serve-www.mjs)"
