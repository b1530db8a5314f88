#!/usr/bin/env bash
# Run the cargo-fuzz targets one after another, each for SECONDS (default 600), and print
# per-target executions, crashes, timeouts and out-of-memory counts.
#
#   bash scripts/fuzz.sh                      every target, 10 minutes each
#   bash scripts/fuzz.sh 60 cypher_roundtrip  one target, one minute
#   KBAC_FUZZ_SANITIZER=address bash scripts/fuzz.sh 600   with AddressSanitizer
#
# The crate forbids `unsafe`, so the default is no sanitizer (`-s none`): several times the
# executions per second; KBAC_FUZZ_SANITIZER=address adds ASan for the dependencies' unsafe
# code. KBAC_FUZZ_NICE sets the niceness (default 10).
#
# Needs nightly and cargo-fuzz (`rustup toolchain install nightly; cargo install cargo-fuzz`).
# The grown corpus lives in fuzz/corpus/<target> (gitignored), seeded from the committed
# fuzz/seeds/<target>; findings go to fuzz/artifacts/<target>. libFuzzer stops a target at
# its first finding; the script carries on with the next target and exits non-zero at the end.
# A finding replays with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE`, or
# minimise it with `cargo +nightly fuzz tmin TARGET FILE`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-600}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(cypher_roundtrip policy_json capture_batch authzen_request jwt_verify snapshot_load)
fi
NICE="${KBAC_FUZZ_NICE:-10}"
SAN="${KBAC_FUZZ_SANITIZER:-none}"
LOGS="$ROOT/fuzz/artifacts/logs" # fuzz/artifacts is gitignored
mkdir -p "$LOGS"

summary=()
status=0
for t in "${TARGETS[@]}"; do
  A="fuzz/artifacts/$t"
  mkdir -p "fuzz/corpus/$t" "$A"
  before_crash=$(ls "$A" 2>/dev/null | grep -c '^crash-' || true)
  before_timeout=$(ls "$A" 2>/dev/null | grep -c '^timeout-' || true)
  before_oom=$(ls "$A" 2>/dev/null | grep -c '^oom-' || true)
  log="$LOGS/$t.log"
  echo "==== $t: ${SECONDS_EACH}s (log: fuzz/artifacts/logs/$t.log)"
  nice -n "$NICE" cargo +nightly fuzz build -s "$SAN" "$t" || { status=1; continue; }
  dict=()
  [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
  t0=$SECONDS
  nice -n "$NICE" cargo +nightly fuzz run -s "$SAN" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${dict[@]}" \
    >"$log" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ -z "$execs" ]; then # stopped by a finding: the last status line has the count
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  fi
  crashes=$(( $(ls "$A" | grep -c '^crash-' || true) - before_crash ))
  timeouts=$(( $(ls "$A" | grep -c '^timeout-' || true) - before_timeout ))
  ooms=$(( $(ls "$A" | grep -c '^oom-' || true) - before_oom ))
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  line=$(printf '%-18s %6ss  execs %12s  crashes %d  timeouts %d  ooms %d  corpus %d  exit %d' \
    "$t" "$secs" "${execs:-?}" "$crashes" "$timeouts" "$ooms" "$corpus" "$rc")
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ $((crashes + timeouts + ooms)) -ne 0 ]; then
    status=1
    grep -m1 -A30 -E 'panicked|ERROR: libFuzzer|==[0-9]+==' "$log" || true
  fi
done

echo
echo "==== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$status"
