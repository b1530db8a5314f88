#!/usr/bin/env bash
# Build the npm package `kbac-wasm` into pkg/ (one command):
#   cargo (wasm32, release) -> wasm-bindgen --target web (version pinned to Cargo.lock)
#   -> wasm-opt (npm `binaryen`, if installed) -> pkg/ with the hand-written shim and types
#   -> size report -> `tsc --noEmit` of pkg-tests/types/usage.ts against the built package.
#
# Two builds of the same code (same wasm-bindgen glue, checked):
#   kbac_bg.wasm    small: browsers, workers, workerd (cold start, gzip budget 250 KB).
#                   opt-level=z + wasm-opt -O1 measured smallest gzip (-Oz/-Os/-O3 grow
#                   the gzip by ~5 KB although they shrink the raw size).
#   kbac_node.wasm  fast: the Node entry (size does not matter on a server); opt-level=3
#                   decides ~1.6-2x faster than opt-level=z (s: ~1.25x slower than 3).
#
# Environment:
#   KBAC_WASM_OPT_LEVEL       rustc opt-level of kbac_bg.wasm (default z)
#   KBAC_WASM_OPT             wasm-opt flags for kbac_bg.wasm (default -O1); `none` skips
#   KBAC_WASM_NODE_OPT_LEVEL  rustc opt-level of kbac_node.wasm (default 3); `none`: no
#                             separate Node build (Node then loads kbac_bg.wasm)
#   KBAC_WASM_OVERFLOW_CHECKS true keeps integer overflow checks in the wasm builds (default false)
#   KBAC_SKIP_TSC=1           skip the type check
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

OPT_LEVEL="${KBAC_WASM_OPT_LEVEL:-z}"
WASM_OPT_FLAGS="${KBAC_WASM_OPT:--O1}"
NODE_OPT_LEVEL="${KBAC_WASM_NODE_OPT_LEVEL:-3}"
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

# --- cargo + wasm-bindgen -------------------------------------------------------------------
RAW_WASM="$CARGO_TARGET_DIR/$TARGET/release/kbac.wasm"
rm -rf "$STAGE"
# Overflow checks stay on in native release builds, tests and fuzzing (where an overflow
# bug is found); in the wasm builds they are off: they cost ~7.5 KB gzip, and in wasm a
# failed check is a trap that reaches JS as an exception, which is worse than a wrapped
# counter. Set KBAC_WASM_OVERFLOW_CHECKS=true to keep them.
build_one() { # build_one OPT_LEVEL OUTDIR
  say "cargo build --release --lib --target $TARGET (opt-level=$1)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL="$1" \
    CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS="${KBAC_WASM_OVERFLOW_CHECKS:-false}" \
    cargo build --release --lib --target "$TARGET"
  say "wasm-bindgen $WB_CLI --target web -> $2"
  mkdir -p "$2"
  wasm-bindgen --target web --remove-name-section --out-dir "$2" --out-name kbac "$RAW_WASM"
}
build_one "$OPT_LEVEL" "$STAGE/small"
if [ "$NODE_OPT_LEVEL" != "none" ]; then
  build_one "$NODE_OPT_LEVEL" "$STAGE/node"
  if ! cmp -s "$STAGE/small/kbac.js" "$STAGE/node/kbac.js"; then
    echo "error: the wasm-bindgen glue differs between opt-level=$OPT_LEVEL and $NODE_OPT_LEVEL builds" >&2
    exit 1
  fi
fi

# --- wasm-opt (optional, small build only) -------------------------------------------------
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
    "$STAGE/small/kbac_bg.wasm" -o "$STAGE/small/kbac_bg.opt.wasm"
  mv "$STAGE/small/kbac_bg.opt.wasm" "$STAGE/small/kbac_bg.wasm"
else
  echo "wasm-opt: not installed (npm binaryen in pkg-tests); skipped"
fi

# --- assemble pkg/ ---------------------------------------------------------------------
say "assemble pkg/"
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$STAGE/small/kbac.js" "$STAGE/small/kbac_bg.wasm" "$OUT/"
[ "$NODE_OPT_LEVEL" != "none" ] && cp "$STAGE/node/kbac_bg.wasm" "$OUT/kbac_node.wasm"
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
    "./kbac_node.wasm": "./kbac_node.wasm",
    "./package.json": "./package.json"
  },
  "files": ["index.js", "node.js", "workerd.js", "worker.js", "index.d.ts", "kbac.js", "kbac_bg.wasm", "kbac_node.wasm", "README.md", "LICENSE"],
  "sideEffects": ["./node.js", "./workerd.js"],
  "engines": { "node": ">=18" },
  "keywords": ["authorization", "authzen", "kbac", "policy", "wasm", "step-up"]
}
EOF

# --- size ------------------------------------------------------------------------------
say "size"
size_of() { # size_of FILE -> "raw gzip"
  echo "$(wc -c <"$1") $(gzip -9 -c "$1" | wc -c)"
}
read -r RAW GZ <<<"$(size_of "$OUT/kbac_bg.wasm")"
awk -v r="$RAW" -v g="$GZ" -v o="$OPT_LEVEL" -v w="$WASM_OPT_FLAGS" 'BEGIN { printf "kbac_bg.wasm   (browsers/edge, opt-level=%s, wasm-opt %s): %d bytes raw (%.1f KiB), %d bytes gzip -9 (%.1f KiB)\n", o, w, r, r / 1024, g, g / 1024 }'
NODE_JSON=""
if [ -f "$OUT/kbac_node.wasm" ]; then
  read -r NRAW NGZ <<<"$(size_of "$OUT/kbac_node.wasm")"
  awk -v r="$NRAW" -v g="$NGZ" -v o="$NODE_OPT_LEVEL" 'BEGIN { printf "kbac_node.wasm (Node, opt-level=%s): %d bytes raw (%.1f KiB), %d bytes gzip -9 (%.1f KiB)\n", o, r, r / 1024, g, g / 1024 }'
  NODE_JSON=",\"node\":{\"raw\":$NRAW,\"gzip\":$NGZ,\"optLevel\":\"$NODE_OPT_LEVEL\"}"
fi
printf '{"raw":%d,"gzip":%d,"optLevel":"%s","wasmOpt":"%s"%s}\n' "$RAW" "$GZ" "$OPT_LEVEL" \
  "$([ -n "$WASM_OPT" ] && [ "$WASM_OPT_FLAGS" != none ] && echo "$WASM_OPT_FLAGS" || echo none)" "$NODE_JSON" \
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
