#!/usr/bin/env bash
# Installs the third-party RocketMQ clients used by the compatibility suite
# (compat/README.md) into the repository, nowhere else:
#   compat/node_modules  ali-ons, exactly as pinned by compat/package-lock.json (npm ci)
#   compat/.venv         python venv with rocketmq==0.4.4 (compat/requirements.txt)
#
# Idempotent: an install that is already complete is left alone (pass --force
# to reinstall). Prints what it did; exits non-zero with a reason when a tool
# is missing, a package registry cannot be reached, or the installed client
# does not load on this machine.
#
# usage: scripts/compat-install.sh [--force] [--node-only | --python-only]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPAT="$ROOT/compat"
FORCE=0
DO_NODE=1
DO_PY=1
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --node-only) DO_PY=0 ;;
    --python-only) DO_NODE=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compat-install: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { echo "compat-install: $*"; }
die() { echo "compat-install: ERROR: $*" >&2; exit 1; }

ALIONS_VERSION=3.12.0
ROCKETMQ_PY_VERSION=0.4.4

# ---------------------------------------------------------------- node / ali-ons
install_node() {
  command -v node >/dev/null 2>&1 || die "node not found (need Node >= 16 with npm)"
  command -v npm >/dev/null 2>&1 || die "npm not found (need Node >= 16 with npm)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 16 ] || die "node $(node --version) is too old for ali-ons; need >= 16"
  [ -f "$COMPAT/package-lock.json" ] || die "compat/package-lock.json is missing; it pins what CI installs"

  local installed=""
  if [ -f "$COMPAT/node_modules/ali-ons/package.json" ]; then
    installed="$(node -p "require('$COMPAT/node_modules/ali-ons/package.json').version" 2>/dev/null || true)"
  fi
  # npm writes node_modules/.package-lock.json on every install; if it is
  # newer than the committed lock file, the tree matches the lock file.
  if [ "$FORCE" = 0 ] && [ "$installed" = "$ALIONS_VERSION" ] \
     && [ "$COMPAT/node_modules/.package-lock.json" -nt "$COMPAT/package-lock.json" ] \
     && (cd "$COMPAT" && node -e "require('ali-ons')") >/dev/null 2>&1; then
    say "ali-ons $installed already installed in compat/node_modules (nothing to do)"
    return
  fi

  local registry
  registry="$(cd "$COMPAT" && npm config get registry 2>/dev/null || echo '?')"
  say "installing ali-ons $ALIONS_VERSION into compat/node_modules (npm ci, registry $registry)"
  local log
  log="$(mktemp)"
  if ! (cd "$COMPAT" && npm ci --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000) >"$log" 2>&1; then
    cat "$log" >&2
    if grep -qiE 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|network|socket hang up' "$log"; then
      rm -f "$log"
      die "npm registry $registry is unreachable; cannot install ali-ons"
    fi
    rm -f "$log"
    die "npm ci failed in compat/ (see the output above)"
  fi
  grep -viE 'Unknown user config|^\s*$' "$log" | sed 's/^/  npm: /' || true
  rm -f "$log"
  installed="$(node -p "require('$COMPAT/node_modules/ali-ons/package.json').version")"
  [ "$installed" = "$ALIONS_VERSION" ] || die "npm installed ali-ons $installed, expected $ALIONS_VERSION"
  (cd "$COMPAT" && node -e "require('ali-ons')") || die "ali-ons was installed but does not load"
  say "ali-ons $installed installed"
}

# ------------------------------------------------------------ python / rocketmq
install_python() {
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 || die "$py not found (need Python 3; set PYTHON=... to choose one)"
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) ;;
    *) die "the rocketmq $ROCKETMQ_PY_VERSION wheel ships a native library for Linux x86_64 only (this is $(uname -s)/$(uname -m))" ;;
  esac
  local venv="$COMPAT/.venv"
  local vpy="$venv/bin/python"

  if [ "$FORCE" = 0 ] && [ -x "$vpy" ] \
     && [ "$("$vpy" -m pip show rocketmq 2>/dev/null | sed -n 's/^Version: //p')" = "$ROCKETMQ_PY_VERSION" ] \
     && "$vpy" -c 'import rocketmq.client' >/dev/null 2>&1; then
    say "rocketmq $ROCKETMQ_PY_VERSION already installed in compat/.venv (nothing to do)"
    return
  fi

  if [ "$FORCE" = 1 ] || [ ! -x "$vpy" ] || ! "$vpy" -m pip --version >/dev/null 2>&1; then
    say "creating compat/.venv with $("$py" --version 2>&1)"
    rm -rf "$venv"
    "$py" -m venv "$venv" || die "'$py -m venv' failed (on Debian: apt-get install python3-venv)"
  fi

  say "installing $(tr '\n' ' ' < "$COMPAT/requirements.txt")into compat/.venv (pip)"
  local log
  log="$(mktemp)"
  if ! "$vpy" -m pip install --disable-pip-version-check --timeout 60 --retries 2 \
        -r "$COMPAT/requirements.txt" >"$log" 2>&1; then
    cat "$log" >&2
    if grep -qiE 'NewConnectionError|Max retries exceeded|ConnectTimeout|ReadTimeout|Temporary failure in name resolution|Name or service not known|Network is unreachable|ProxyError' "$log"; then
      rm -f "$log"
      die "the Python package index is unreachable; cannot install rocketmq $ROCKETMQ_PY_VERSION"
    fi
    rm -f "$log"
    die "pip install -r compat/requirements.txt failed (see the output above)"
  fi
  grep -E '^(Successfully|Requirement already)' "$log" | sed 's/^/  pip: /' || true
  rm -f "$log"

  # The wheel bundles librocketmq.so (rocketmq-client-cpp) and its own zlib;
  # it needs the system's libstdc++ and libgcc_s (Debian: libstdc++6, libgcc-s1).
  local err
  if ! err="$("$vpy" -c 'import rocketmq.client' 2>&1)"; then
    echo "$err" >&2
    die "rocketmq $ROCKETMQ_PY_VERSION is installed but its native library does not load (on Debian: apt-get install libstdc++6)"
  fi
  say "rocketmq $ROCKETMQ_PY_VERSION installed; native library loads"
}

[ "$DO_NODE" = 1 ] && install_node
[ "$DO_PY" = 1 ] && install_python
say "done. Run: node compat/alions_scenario.js --namesrv HOST:PORT --topic T --group G"
say "      and: compat/.venv/bin/python compat/pyrocketmq_scenario.py --namesrv HOST:PORT --topic T --group G"
