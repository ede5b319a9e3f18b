#!/usr/bin/env bash
# Transactional sends next to plain ones, in one run on one group (issue 12): starts a
# nameserver and a three-node group from conf/ on loopback ports from 37876 (stores in a temp
# dir, removed at exit), then alternates `mqbench producer` rounds, plain and `--transaction`
# (each message a half message plus an END_TRANSACTION commit), and prints each round's
# [Complete] line and the medians.
#
#   scripts/bench-transactions.sh [--rounds 3] [--duration 5] [--threads 16] [--size 1024] [--flush ASYNC_FLUSH|SYNC_FLUSH]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release
[ -n "${CARGO_TARGET_DIR:-}" ] && BIN="$CARGO_TARGET_DIR/release"
ROUNDS=3; DURATION=5; THREADS=16; SIZE=1024; FLUSH=ASYNC_FLUSH
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --flush) FLUSH=$2; shift 2 ;;
    *) echo "usage: scripts/bench-transactions.sh [--rounds N] [--duration S] [--threads N] [--size B] [--flush MODE]" >&2; exit 2 ;;
  esac
done
if [ ! -x "$BIN/mqbench" ] || [ -n "$(find src -newer "$BIN/mqbench" -name '*.rs' | head -1)" ]; then
  cargo build --release --bins
fi
WORK=$(mktemp -d /tmp/bench-transactions.XXXXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 2
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
base=37876; ns=$base; raft=$((base + 65))
for p in $ns $((base + 35)) $((base + 45)) $((base + 55)) $raft $((raft + 1)) $((raft + 2)); do
  ss -ltnH "( sport = :$p )" 2>/dev/null | grep -q . && { echo "port $p is in use" >&2; exit 1; }
done
printf 'listenPort=%s\nbindAddress=127.0.0.1\n' $ns >"$WORK/namesrv.conf"
peers="n1-127.0.0.1:$raft;n2-127.0.0.1:$((raft + 1));n3-127.0.0.1:$((raft + 2))"
ports=("" $((base + 35)) $((base + 45)) $((base + 55)))
for n in 1 2 3; do
  sed -e "s|^listenPort=.*|listenPort=${ports[$n]}|" -e "s|^namesrvAddr=.*|namesrvAddr=127.0.0.1:$ns|" \
      -e "s|^storePathRootDir=.*|storePathRootDir=$WORK/node$n|" \
      -e "s|^storePathCommitLog=.*|storePathCommitLog=$WORK/node$n/commitlog|" \
      -e "s|^flushDiskType=.*|flushDiskType=$FLUSH|" -e "s|^dLegerPeers=.*|dLegerPeers=$peers|" \
      "conf/broker-node$n.conf" >"$WORK/broker-node$n.conf"
done
"$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$WORK/namesrv.log" 2>&1 & PIDS+=($!)
sleep 0.5
for n in 1 2 3; do "$BIN/dledger-broker" -c "$WORK/broker-node$n.conf" >"$WORK/node$n.log" 2>&1 & PIDS+=($!); done
for _ in $(seq 1 150); do
  "$BIN/mqadmin" clusterList -n 127.0.0.1:$ns 2>/dev/null | awk '$3 == "0" { f=1 } END { exit !f }' && break
  sleep 0.2
done
cluster=$(sed -n 's/^brokerClusterName *= *//p' conf/broker-node1.conf | tr -d '[:space:]')
"$BIN/mqadmin" updateTopic -n 127.0.0.1:$ns -c "$cluster" -t BenchTx -r 8 -w 8 >/dev/null
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); code $(git rev-parse --short HEAD); $FLUSH; $THREADS senders, $SIZE B; $(date -u '+%Y-%m-%d %H:%M UTC')"
for r in $(seq 1 "$ROUNDS"); do
  for mode in plain transaction; do
    flag=(); [ $mode = transaction ] && flag=(--transaction)
    line=$("$BIN/mqbench" producer -n 127.0.0.1:$ns -t BenchTx -w "$THREADS" -s "$SIZE" --duration "$DURATION" --ri 100000 "${flag[@]}" 2>/dev/null | grep Complete || true)
    echo "round $r $mode: $line"
  done
done
