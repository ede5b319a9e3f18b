#!/usr/bin/env bash
# The gate: what CI runs and what you run before each commit. Read-only: it fixes nothing.
#   scripts/check.sh          format, lints, the README's test command, docs
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "tests (the README's test command)"
scripts/test.sh

step "cargo doc --no-deps (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

step "all checks passed"
