#!/usr/bin/env bash
# The long power-cut campaign: every powercut test of the library (the store's simulator
# campaigns and the raft group's), including those ignored in CI because they fail on known
# findings, each over N seeds with no time budget, one test at a time.
#
#   scripts/powercut-campaign.sh [seeds] [--release] [test-filter]
#
#   seeds        seeds per campaign (default 200)
#   --release    build optimised (faster store campaigns; the raft one is bound by timers)
#   test-filter  cargo test filter (default: powercut), e.g. powercut_raft
#
# Prints each campaign's seeds, cuts per kind and violations; every violation names the seed
# that replays it: POWERCUT_SEED=<seed> cargo test --lib <test> -- --include-ignored
# Exits non-zero if any campaign found a violation. Output kept in target/powercut-campaign.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=200
profile=()
filter=powercut
for arg in "$@"; do
  case "$arg" in
    --release) profile=(--release) ;;
    ''|*[!0-9]*) filter="$arg" ;;
    *) seeds="$arg" ;;
  esac
done

log_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$log_dir"
log="$log_dir/powercut-campaign.log"
echo "powercut campaign: $seeds seeds per campaign, filter '$filter' ${profile[*]:-(debug)}; log: $log"

status=0
POWERCUT_SEEDS="$seeds" cargo test "${profile[@]}" --lib "$filter" -- \
  --include-ignored --nocapture --test-threads=1 >"$log" 2>&1 || status=$?

echo
echo "== campaigns (seeds run, cuts per kind and operations)"
grep -oE 'powercut [^:]+: [0-9]+ seeds in.*' "$log" || echo "(no campaign ran: see $log)"
echo
echo "== violations"
if grep -oE 'powercut [^:]+: VIOLATION.*' "$log"; then
  status=1
else
  echo "none"
fi
echo
echo "== tests"
grep -E '^test .* \.\.\. |^test result' "$log" || true
exit "$status"
