#!/usr/bin/env bash
# The fault campaign (issue 10): builds the binaries optimised, then runs `dledger-chaos run`
# with your flags. Needs root (network namespaces, tmpfs disks). Installs the third-party
# producers first (scripts/compat-install.sh) so they join the workload.
#
#   scripts/chaos.sh                               five minutes of faults on two groups
#   scripts/chaos.sh --duration 3600 --seed 7      an hour, replayable choices
#   scripts/chaos.sh --faults kill,pause --groups 1
#   scripts/chaos.sh --smoke                       the CI smoke list (about 70 s of faults)
#   scripts/chaos.sh check /tmp/dledger-chaos/7/history.jsonl   judge a kept history again
#
# Prints the checker's report and the seed; exits 1 on any violation and keeps the run's
# directory (history.jsonl, report.md, every server's log). Everything it made (namespaces,
# mounts, processes) is removed at exit, also on Ctrl-C. See RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = check ]; then
  cargo build --release --quiet --bin dledger-chaos
  exec target/release/dledger-chaos "$@"
fi
scripts/compat-install.sh >/dev/null
cargo build --release --quiet --bins
exec target/release/dledger-chaos run "$@"
