#!/usr/bin/env bash
# Interleaved A/B of two builds: both builds' groups (nameserver + three nodes each, conf/'s
# files on loopback ports from 33876 and 35876) are up at once, and `mqbench probe -n` rounds
# alternate between them, so both see the same machine noise. The client is the "after" build's
# mqbench for both. Prints each round's broker lines; compare the builds' medians.
#
#   scripts/bench-ab.sh BEFORE_BIN_DIR AFTER_BIN_DIR [ASYNC_FLUSH|SYNC_FLUSH] [pairs, default 4]
#   e.g. scripts/bench-ab.sh /work/old-target/release target/release SYNC_FLUSH 4
#
# One build with two configurations: give the same directory twice, and AFTER_CONF_EXTRA=<file>
# (lines appended to the "after" group's broker configs) and AFTER_MQBENCH_ARGS="..." (flags
# before the subcommand of the "after" rounds' mqbench, e.g. --accessKey K --secretKey S).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/bench-ab.sh BEFORE_BIN_DIR AFTER_BIN_DIR [flush] [pairs]" >&2; exit 2; }
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); FLUSH=${3:-ASYNC_FLUSH}; REPS=${4:-4}
for p in 33876 35876; do
  ss -ltnH "( sport = :$p )" 2>/dev/null | grep -q . && { echo "port $p is in use" >&2; exit 1; }
done
SYNC_ARG=(); [ "$FLUSH" = SYNC_FLUSH ] && SYNC_ARG=(--sync)
WORK=$(mktemp -d /tmp/ab.XXXXXX); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 2; for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
start_group() { # name bin base
  local name=$1 bin=$2 base=$3 ns=$3 b1=$(($3+35)) b2=$(($3+45)) b3=$(($3+55)) raft=$(($3+65)) d=$WORK/$1
  mkdir -p $d
  printf 'listenPort=%s\nbindAddress=127.0.0.1\n' $ns >$d/namesrv.conf
  local peers="n1-127.0.0.1:$raft;n2-127.0.0.1:$((raft+1));n3-127.0.0.1:$((raft+2))" ports=("" $b1 $b2 $b3)
  for n in 1 2 3; do
    sed -e "s|^listenPort=.*|listenPort=${ports[$n]}|" -e "s|^namesrvAddr=.*|namesrvAddr=127.0.0.1:$ns|" \
        -e "s|^storePathRootDir=.*|storePathRootDir=$d/node$n|" -e "s|^storePathCommitLog=.*|storePathCommitLog=$d/node$n/commitlog|" \
        -e "s|^flushDiskType=.*|flushDiskType=$FLUSH|" -e "s|^dLegerPeers=.*|dLegerPeers=$peers|" \
        -e "s|^brokerClusterName=.*|brokerClusterName=AB$name|" \
        conf/broker-node$n.conf >$d/broker-node$n.conf
    if [ "$name" = after ] && [ -n "${AFTER_CONF_EXTRA:-}" ]; then cat "$AFTER_CONF_EXTRA" >>$d/broker-node$n.conf; fi
  done
  $bin/mqnamesrv -c $d/namesrv.conf >$d/ns.log 2>&1 & PIDS+=($!)
  sleep 0.5
  for n in 1 2 3; do $bin/dledger-broker -c $d/broker-node$n.conf >$d/node$n.log 2>&1 & PIDS+=($!); done
  for _ in $(seq 1 150); do
    "$AFTER/mqadmin" clusterList -n 127.0.0.1:$ns 2>/dev/null | awk '$3 == "0" { f=1 } END { exit !f }' && return 0; sleep 0.2
  done; echo "group $name not up"; exit 1
}
start_group before "$BEFORE" 33876
start_group after "$AFTER" 35876
echo "machine: load $(cut -d' ' -f1-3 /proc/loadavg), flush $FLUSH, $(date -u)"
for r in $(seq 1 $REPS); do
  for g in before:33876 after:35876; do
    name=${g%%:*}; ns=${g##*:}
    echo "### rep $r $name"
    extra=(); [ "$name" = after ] && [ -n "${AFTER_MQBENCH_ARGS:-}" ] && read -r -a extra <<<"$AFTER_MQBENCH_ARGS"
    out=$("$AFTER/mqbench" "${extra[@]}" probe -n 127.0.0.1:$ns -s 1024 --rounds 1 --duration 4 "${SYNC_ARG[@]}" --dir $WORK/probe-$name 2>&1) || true
    if grep -E "^round|^\| (batched|one)" <<<"$out"; then :; else
      echo "(no figures from the $name group; the probe said:)"; tail -n 5 <<<"$out"
    fi
  done
done
