#!/usr/bin/env bash
# The README's test command: every unit, property, recovery, integration and compatibility test,
# each bounded in time (see .config/nextest.toml).
#
# It first installs the two third-party RocketMQ clients the compatibility tests drive (the npm
# package ali-ons and the PyPI package rocketmq, into compat/, nothing system-wide); that needs
# the package registries. Uses cargo-nextest, falling back to `cargo test` when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/compat-install.sh
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --lib --bins --tests --profile "${NEXTEST_PROFILE:-default}" "$@"
else
  echo "cargo-nextest not found; running cargo test" >&2
  cargo test --lib --bins --tests "$@"
fi
