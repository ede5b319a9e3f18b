#!/usr/bin/env bash
# The README's test command: every unit, property, recovery and integration test, each bounded in
# time (see .config/nextest.toml). Installs nothing system-wide; needs cargo-nextest, which falls
# back to `cargo test` when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --lib --bins --tests --profile "${NEXTEST_PROFILE:-default}" "$@"
else
  echo "cargo-nextest not found; running cargo test" >&2
  cargo test --lib --bins --tests "$@"
fi
