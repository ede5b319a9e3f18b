#!/usr/bin/env bash
# The broker's send figures as ratios of the replication skeleton (performance.md §2.3), both
# measured in the same run by `mqbench probe -n` (A/B interleaved rounds): batched send
# (32 x 1 KiB per request, 16 in flight) >= 0.5 x the skeleton's msgs/s, one-in-flight p50
# <= 2 x the skeleton's p50.
#
#   scripts/bench-ratios.sh [--flush ASYNC_FLUSH|SYNC_FLUSH] [--rounds 3] [--duration 5] [--size 1024]
#   scripts/bench-ratios.sh -n 127.0.0.1:9876 ...    use a running group instead
#
# Without -n it starts its own nameserver and three-node group on loopback (free ports from
# BASE_PORT, default 29876; stores in a fresh temp dir, removed at exit), from conf/'s files with
# flushDiskType set by --flush (default ASYNC_FLUSH: acknowledged once a majority has the message
# in its page cache, which is what the skeleton does; SYNC_FLUSH runs the skeleton with --sync).
# With -n the group's own flush mode must match --flush for the ratios to mean anything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release
[ -n "${CARGO_TARGET_DIR:-}" ] && BIN="$CARGO_TARGET_DIR/release"
FLUSH=ASYNC_FLUSH; ROUNDS=3; DURATION=5; SIZE=1024; NAMESRV=""
while [ $# -gt 0 ]; do
  case "$1" in
    --flush) FLUSH=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    -n) NAMESRV=$2; shift 2 ;;
    *) echo "usage: scripts/bench-ratios.sh [-n host:port] [--flush ASYNC_FLUSH|SYNC_FLUSH] [--rounds N] [--duration S] [--size B]" >&2; exit 2 ;;
  esac
done
case "$FLUSH" in ASYNC_FLUSH) SYNC_ARG=() ;; SYNC_FLUSH) SYNC_ARG=(--sync) ;; *) echo "--flush: ASYNC_FLUSH or SYNC_FLUSH" >&2; exit 2 ;; esac

say() { printf 'bench-ratios: %s\n' "$*"; }

if [ ! -x "$BIN/mqbench" ] || [ ! -x "$BIN/dledger-broker" ] || [ -n "$(find src -newer "$BIN/mqbench" -name '*.rs' | head -1)" ]; then
  say "building (cargo build --release --bins)"
  cargo build --release --bins
fi

WORK=$(mktemp -d /tmp/bench-ratios.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

port_free() { ! ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .; }

if [ -z "$NAMESRV" ]; then
  base=${BASE_PORT:-29876}
  ns_port=$base; b1=$((base + 35)); b2=$((base + 45)); b3=$((base + 55)); raft=$((base + 65))
  for p in $ns_port $b1 $((b1 - 2)) $b2 $((b2 - 2)) $b3 $((b3 - 2)) $raft $((raft + 1)) $((raft + 2)); do
    port_free "$p" || { say "port $p is in use; set BASE_PORT to another base"; exit 1; }
  done
  NAMESRV=127.0.0.1:$ns_port
  printf 'listenPort=%s\nbindAddress=127.0.0.1\n' "$ns_port" >"$WORK/namesrv.conf"
  peers="n1-127.0.0.1:$raft;n2-127.0.0.1:$((raft + 1));n3-127.0.0.1:$((raft + 2))"
  ports=("" "$b1" "$b2" "$b3")
  for n in 1 2 3; do
    sed -e "s|^listenPort=.*|listenPort=${ports[$n]}|" \
        -e "s|^namesrvAddr=.*|namesrvAddr=$NAMESRV|" \
        -e "s|^storePathRootDir=.*|storePathRootDir=$WORK/node$n|" \
        -e "s|^storePathCommitLog=.*|storePathCommitLog=$WORK/node$n/commitlog|" \
        -e "s|^flushDiskType=.*|flushDiskType=$FLUSH|" \
        -e "s|^dLegerPeers=.*|dLegerPeers=$peers|" \
        "conf/broker-node$n.conf" >"$WORK/broker-node$n.conf"
  done
  "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$WORK/namesrv.log" 2>&1 &
  PIDS+=($!)
  sleep 0.5
  for n in 1 2 3; do
    "$BIN/dledger-broker" -c "$WORK/broker-node$n.conf" >"$WORK/node$n.log" 2>&1 &
    PIDS+=($!)
  done
  master=""
  for _ in $(seq 1 150); do
    master=$("$BIN/mqadmin" clusterList -n "$NAMESRV" 2>/dev/null | awk '$3 == "0" { print $4; exit }' || true)
    [ -n "$master" ] && break
    sleep 0.2
  done
  [ -n "$master" ] || { say "no master within 30 s; logs:"; tail -n 5 "$WORK"/*.log; exit 1; }
  say "group up ($FLUSH), master $master, nameserver $NAMESRV, stores under $WORK"
fi

say "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "code: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
say "command: $BIN/mqbench probe -n $NAMESRV -s $SIZE --rounds $ROUNDS --duration $DURATION ${SYNC_ARG[*]} --dir $WORK"
"$BIN/mqbench" probe -n "$NAMESRV" -s "$SIZE" --rounds "$ROUNDS" --duration "$DURATION" "${SYNC_ARG[@]}" --dir "$WORK"
