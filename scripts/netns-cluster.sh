#!/usr/bin/env bash
# Three "hosts" on this machine, as in a three-host deployment: network namespaces dlb-h1..3,
# each with its own address (10.77.0.1-3) on a bridge that lives in a fourth namespace,
# dlb-lan, so nothing is added to the host's own network. Each host runs a nameserver and one
# node of group RaftNode00, configured the way a three-host install is: namesrvAddr lists all
# three nameservers, dLegerPeers the three host addresses. Needs root (ip netns).
#
#   scripts/netns-cluster.sh up              build (release) if needed, create, start, wait for a master
#   scripts/netns-cluster.sh status          clusterList and raftStatus, asked from host 1
#   scripts/netns-cluster.sh mqadmin ARGS    run mqadmin inside host 1 (NAMESRV_ADDR preset)
#   scripts/netns-cluster.sh kill N          kill -9 the node of host N (a failover drill)
#   scripts/netns-cluster.sh start N         start host N's node again
#   scripts/netns-cluster.sh down            SIGTERM everything, then remove the namespaces,
#                                            links and files this script made
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release
DIR=/tmp/dledger-broker/netns
LAN=dlb-lan
NET=10.77.0
HOSTS=(1 2 3)
NAMESRVS="$NET.1:9876;$NET.2:9876;$NET.3:9876"

say() { printf 'netns-cluster: %s\n' "$*"; }
in_host() { local h=$1; shift; ip netns exec "dlb-h$h" "$@"; }

need_root() {
  [ "$(id -u)" = 0 ] || { say "needs root (ip netns)"; exit 1; }
}

alive() { # pid file
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]
}

make_network() {
  ip netns add "$LAN"
  ip -n "$LAN" link add br0 type bridge
  ip -n "$LAN" link set br0 up
  ip -n "$LAN" link set lo up
  for h in "${HOSTS[@]}"; do
    ip netns add "dlb-h$h"
    ip -n "$LAN" link add "p$h" type veth peer name eth0 netns "dlb-h$h"
    ip -n "$LAN" link set "p$h" master br0 up
    ip -n "dlb-h$h" addr add "$NET.$h/24" dev eth0
    ip -n "dlb-h$h" link set eth0 up
    ip -n "dlb-h$h" link set lo up
  done
}

write_configs() {
  local peers="n1-$NET.1:40911;n2-$NET.2:40911;n3-$NET.3:40911"
  for h in "${HOSTS[@]}"; do
    mkdir -p "$DIR/h$h"
    cat >"$DIR/h$h/namesrv.conf" <<EOF
listenPort=9876
EOF
    cat >"$DIR/h$h/broker.conf" <<EOF
# host $h of three (scripts/netns-cluster.sh)
brokerClusterName=RaftCluster
brokerName=RaftNode00
listenPort=10911
brokerIP1=$NET.$h
namesrvAddr=$NAMESRVS
storePathRootDir=$DIR/h$h/store
storePathCommitLog=$DIR/h$h/store/commitlog
flushDiskType=SYNC_FLUSH
enableDLegerCommitLog=true
dLegerGroup=RaftNode00
dLegerPeers=$peers
dLegerSelfId=n$h
EOF
  done
}

start_node() { # host
  local h=$1
  if alive "$DIR/h$h/broker.pid"; then say "host $h node already running"; return; fi
  # Not through in_host: $! must be the process that becomes the broker, not a subshell.
  ip netns exec "dlb-h$h" nohup "$BIN/dledger-broker" -c "$DIR/h$h/broker.conf" >"$DIR/h$h/broker.log" 2>&1 &
  echo $! >"$DIR/h$h/broker.pid"
  say "host $h ($NET.$h): node n$h started, log $DIR/h$h/broker.log"
}

master_addr() {
  in_host 1 "$BIN/mqadmin" clusterList -n "$NAMESRVS" 2>/dev/null | awk '$3 == "0" { print $4; exit }'
}

case "${1:-}" in
  up)
    need_root
    if [ ! -x "$BIN/dledger-broker" ] || [ ! -x "$BIN/mqnamesrv" ] || [ ! -x "$BIN/mqadmin" ] || [ -n "$(find src -newer "$BIN/dledger-broker" -name '*.rs' | head -1)" ]; then
      say "building (cargo build --release --bins)"
      cargo build --release --bins
    fi
    if ! ip netns list | grep -q "^$LAN\b"; then make_network; say "namespaces dlb-h1..3 on bridge br0 in $LAN"; fi
    write_configs
    for h in "${HOSTS[@]}"; do
      if ! alive "$DIR/h$h/namesrv.pid"; then
        ip netns exec "dlb-h$h" nohup "$BIN/mqnamesrv" -c "$DIR/h$h/namesrv.conf" >"$DIR/h$h/namesrv.log" 2>&1 &
        echo $! >"$DIR/h$h/namesrv.pid"
        say "host $h ($NET.$h): nameserver started"
      fi
    done
    sleep 0.5
    for h in "${HOSTS[@]}"; do start_node "$h"; done
    for _ in $(seq 1 100); do
      addr=$(master_addr || true)
      if [ -n "$addr" ]; then
        say "master registered: $addr"
        in_host 1 "$BIN/mqadmin" clusterList -n "$NAMESRVS" || true
        say "try: scripts/netns-cluster.sh mqadmin sendMessage -t TopicTest -p hello"
        exit 0
      fi
      sleep 0.2
    done
    say "no master registered within 20 s; see the logs under $DIR"
    exit 1
    ;;
  status)
    need_root
    in_host 1 "$BIN/mqadmin" clusterList -n "$NAMESRVS"
    in_host 1 "$BIN/mqadmin" raftStatus -n "$NAMESRVS" -c RaftCluster
    ;;
  mqadmin)
    need_root
    shift
    in_host 1 env NAMESRV_ADDR="$NAMESRVS" "$BIN/mqadmin" "$@"
    ;;
  kill)
    need_root
    h=${2:?usage: netns-cluster.sh kill N}
    alive "$DIR/h$h/broker.pid" || { say "host $h node is not running"; exit 1; }
    kill -9 "$(cat "$DIR/h$h/broker.pid")"
    say "killed host $h's node with SIGKILL; start it again with: scripts/netns-cluster.sh start $h"
    ;;
  start)
    need_root
    start_node "${2:?usage: netns-cluster.sh start N}"
    ;;
  down)
    need_root
    for h in "${HOSTS[@]}"; do
      for p in broker namesrv; do
        if alive "$DIR/h$h/$p.pid"; then kill -TERM "$(cat "$DIR/h$h/$p.pid")"; fi
      done
    done
    for _ in $(seq 1 100); do
      running=0
      for h in "${HOSTS[@]}"; do
        for p in broker namesrv; do alive "$DIR/h$h/$p.pid" && running=1; done
      done
      [ $running = 0 ] && break
      sleep 0.1
    done
    for h in "${HOSTS[@]}"; do
      for p in broker namesrv; do
        if alive "$DIR/h$h/$p.pid"; then kill -9 "$(cat "$DIR/h$h/$p.pid")"; say "host $h $p killed after 10 s"; fi
      done
    done
    for ns in dlb-h1 dlb-h2 dlb-h3 "$LAN"; do
      if ip netns list | grep -q "^$ns\b"; then ip netns del "$ns"; fi
    done
    rm -rf "$DIR"
    say "stopped; namespaces and $DIR removed"
    ;;
  *)
    echo "usage: scripts/netns-cluster.sh up|status|mqadmin ARGS|kill N|start N|down" >&2; exit 2
    ;;
esac
