#!/usr/bin/env bash
# Build the npm package `kbac-wasm` into pkg/ (one command):
#   cargo (wasm32, release) -> wasm-bindgen --target web (version pinned to Cargo.lock)
#   -> wasm-opt (npm `binaryen`, if installed) -> pkg/ with the hand-written shim and types
#   -> size report -> `tsc --noEmit` of pkg-tests/types/usage.ts against the built package.
#
# Environment:
#   KBAC_WASM_OPT_LEVEL   rustc opt-level for the wasm build (default: s; see README/report)
#   KBAC_WASM_OPT         wasm-opt flags (default: -Oz); `none` skips wasm-opt
#   KBAC_SKIP_TSC=1       skip the type check
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

OPT_LEVEL="${KBAC_WASM_OPT_LEVEL:-s}"
WASM_OPT_FLAGS="${KBAC_WASM_OPT:--Oz}"
TARGET=wasm32-unknown-unknown
OUT="$ROOT/pkg"
STAGE="$CARGO_TARGET_DIR/kbac-wasm-bindgen"

say() { printf '\n== %s\n' "$*"; }

# --- versions ------------------------------------------------------------------------
lock_version() { # version of crate $1 in Cargo.lock
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}
WB_LOCK="$(lock_version wasm-bindgen)"
if [ -z "$WB_LOCK" ]; then
  echo "error: wasm-bindgen not found in Cargo.lock (run 'cargo generate-lockfile'?)" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null 2>&1; then
  echo "error: wasm-bindgen CLI not installed; run: bash scripts/setup.sh" >&2
  echo "       (cargo install wasm-bindgen-cli --version $WB_LOCK --locked)" >&2
  exit 1
fi
WB_CLI="$(wasm-bindgen --version | awk '{print $2}')"
if [ "$WB_CLI" != "$WB_LOCK" ]; then
  echo "error: wasm-bindgen CLI is $WB_CLI but Cargo.lock pins the crate at $WB_LOCK" >&2
  echo "       run: cargo install wasm-bindgen-cli --version $WB_LOCK --locked --force" >&2
  exit 1
fi
CRATE_VERSION="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"

# --- cargo -----------------------------------------------------------------------------
say "cargo build --release --lib --target $TARGET (opt-level=$OPT_LEVEL)"
CARGO_PROFILE_RELEASE_OPT_LEVEL="$OPT_LEVEL" \
  cargo build --release --lib --target "$TARGET"
RAW_WASM="$CARGO_TARGET_DIR/$TARGET/release/kbac.wasm"

# --- wasm-bindgen ----------------------------------------------------------------------
say "wasm-bindgen $WB_CLI --target web"
rm -rf "$STAGE"
mkdir -p "$STAGE"
wasm-bindgen --target web --remove-name-section --out-dir "$STAGE" --out-name kbac "$RAW_WASM"

# --- wasm-opt (optional) -----------------------------------------------------------------
WASM_OPT=""
for c in "$ROOT/pkg-tests/node_modules/.bin/wasm-opt" "$ROOT/node_modules/.bin/wasm-opt"; do
  if [ -x "$c" ]; then WASM_OPT="$c"; break; fi
done
if [ "$WASM_OPT_FLAGS" = "none" ]; then
  echo "wasm-opt: skipped (KBAC_WASM_OPT=none)"
elif [ -n "$WASM_OPT" ]; then
  say "wasm-opt $WASM_OPT_FLAGS ($("$WASM_OPT" --version))"
  # Features rustc enables by default for wasm32 (bulk memory, sign-ext, multi-value
  # returns used by wasm-bindgen, …); wasm-opt must accept them.
  # shellcheck disable=SC2086
  "$WASM_OPT" $WASM_OPT_FLAGS --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
    "$STAGE/kbac_bg.wasm" -o "$STAGE/kbac_bg.opt.wasm"
  mv "$STAGE/kbac_bg.opt.wasm" "$STAGE/kbac_bg.wasm"
else
  echo "wasm-opt: not installed (npm binaryen in pkg-tests); skipped"
fi

# --- assemble pkg/ ---------------------------------------------------------------------
say "assemble pkg/"
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$STAGE/kbac.js" "$STAGE/kbac_bg.wasm" "$OUT/"
cp src/js/index.js src/js/node.js src/js/workerd.js src/js/worker.js src/js/index.d.ts "$OUT/"
for f in README.md LICENSE; do [ -f "$f" ] && cp "$f" "$OUT/"; done
DESCRIPTION="$(awk -F'"' '/^description = / { print $2; exit }' Cargo.toml)"
cat >"$OUT/package.json" <<EOF
{
  "name": "kbac-wasm",
  "version": "$CRATE_VERSION",
  "description": "$DESCRIPTION",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./node.js",
  "module": "./index.js",
  "browser": "./index.js",
  "types": "./index.d.ts",
  "exports": {
    ".": {
      "types": "./index.d.ts",
      "workerd": "./workerd.js",
      "worker": "./index.js",
      "browser": "./index.js",
      "node": "./node.js",
      "import": "./index.js",
      "default": "./index.js"
    },
    "./worker": "./worker.js",
    "./kbac_bg.wasm": "./kbac_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["index.js", "node.js", "workerd.js", "worker.js", "index.d.ts", "kbac.js", "kbac_bg.wasm", "README.md", "LICENSE"],
  "sideEffects": ["./node.js", "./workerd.js"],
  "engines": { "node": ">=18" },
  "keywords": ["authorization", "authzen", "kbac", "policy", "wasm", "step-up"]
}
EOF

# --- size ------------------------------------------------------------------------------
RAW=$(wc -c <"$OUT/kbac_bg.wasm")
GZ=$(gzip -9 -c "$OUT/kbac_bg.wasm" | wc -c)
say "size"
awk -v r="$RAW" -v g="$GZ" 'BEGIN { printf "kbac_bg.wasm: %d bytes raw (%.1f KiB), %d bytes gzip -9 (%.1f KiB)\n", r, r / 1024, g, g / 1024 }'
printf '{"raw":%d,"gzip":%d,"optLevel":"%s","wasmOpt":"%s"}\n' "$RAW" "$GZ" "$OPT_LEVEL" \
  "$([ -n "$WASM_OPT" ] && [ "$WASM_OPT_FLAGS" != none ] && echo "$WASM_OPT_FLAGS" || echo none)" \
  >"$CARGO_TARGET_DIR/kbac-wasm-size.json"

# --- types -----------------------------------------------------------------------------
if [ "${KBAC_SKIP_TSC:-}" = "1" ]; then
  echo "tsc: skipped (KBAC_SKIP_TSC=1)"
  exit 0
fi
if [ ! -x pkg-tests/node_modules/.bin/tsc ]; then
  say "npm install (pkg-tests)"
  (cd pkg-tests && npm install --no-audit --no-fund)
fi
say "tsc --noEmit pkg-tests/types/usage.ts"
pkg-tests/node_modules/.bin/tsc -p pkg-tests/types/tsconfig.json
echo "types: ok"
