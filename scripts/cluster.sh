#!/usr/bin/env bash
# A local broker group on this host, from the configs in conf/: one nameserver (127.0.0.1:9876)
# and three nodes (client ports 30911/30921/30931, raft ports 40911-40913, stores under
# /tmp/dledger-broker/).
#
#   scripts/cluster.sh up            build (release) if needed, start, wait until a master is registered
#   scripts/cluster.sh status        clusterList and raftStatus
#   scripts/cluster.sh kill-leader   kill -9 the current master (a new one takes over)
#   scripts/cluster.sh logs          where the logs are, and their last lines
#   scripts/cluster.sh down          SIGTERM everything (a leader hands over first) and wait
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=/tmp/dledger-broker/run
BIN=target/release
NAMESRV=127.0.0.1:9876
mkdir -p "$RUN"

say() { printf 'cluster: %s\n' "$*"; }

# Running, and not a zombie: a SIGKILLed process can stay unreaped (state Z) for a while, and
# kill -0 still succeeds on it.
alive() {
  [ -f "$RUN/$1.pid" ] || return 1
  local pid; pid=$(cat "$RUN/$1.pid")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]
}

start() { # name, binary, args...
  local name=$1; shift
  if alive "$name"; then say "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  nohup "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  say "$name started (pid $!), log $RUN/$name.log"
}

master_addr() {
  "$BIN/mqadmin" clusterList -n "$NAMESRV" 2>/dev/null | awk '$3 == "0" { print $4; exit }'
}

case "${1:-up}" in
  up)
    if [ ! -x "$BIN/dledger-broker" ] || [ ! -x "$BIN/mqnamesrv" ] || [ ! -x "$BIN/mqadmin" ] || [ -n "$(find src -newer "$BIN/dledger-broker" -name '*.rs' | head -1)" ]; then
      say "building (cargo build --release --bins)"
      cargo build --release --bins
    fi
    start namesrv "$BIN/mqnamesrv" -c conf/namesrv.conf
    sleep 0.5
    for n in 1 2 3; do
      start "node$n" "$BIN/dledger-broker" -c "conf/broker-node$n.conf"
    done
    for _ in $(seq 1 100); do
      addr=$(master_addr || true)
      if [ -n "$addr" ]; then
        say "master registered: $addr"
        "$BIN/mqadmin" clusterList -n "$NAMESRV" || true
        say "logs in $RUN; try: $BIN/mqadmin sendMessage -n $NAMESRV -t TopicTest -p hello"
        exit 0
      fi
      sleep 0.2
    done
    say "no master registered within 20 s; see the logs in $RUN"
    exit 1
    ;;
  status)
    "$BIN/mqadmin" clusterList -n "$NAMESRV"
    "$BIN/mqadmin" raftStatus -n "$NAMESRV" -c RaftCluster
    ;;
  kill-leader)
    addr=$(master_addr)
    [ -n "$addr" ] || { say "no master registered"; exit 1; }
    for n in 1 2 3; do
      if grep -q "listenPort=${addr##*:}" "conf/broker-node$n.conf" && alive "node$n"; then
        kill -9 "$(cat "$RUN/node$n.pid")"
        say "killed node$n ($addr) with SIGKILL; restart it with: scripts/cluster.sh up"
        exit 0
      fi
    done
    say "the master $addr is not one of this host's nodes"; exit 1
    ;;
  logs)
    for f in "$RUN"/*.log; do echo "== $f"; tail -n 5 "$f"; done
    ;;
  down)
    for name in node1 node2 node3 namesrv; do
      if alive "$name"; then kill -TERM "$(cat "$RUN/$name.pid")"; say "stopping $name"; fi
    done
    for _ in $(seq 1 100); do
      running=0
      for name in node1 node2 node3 namesrv; do alive "$name" && running=1; done
      [ $running = 0 ] && { say "stopped"; exit 0; }
      sleep 0.1
    done
    say "still running after 10 s"; exit 1
    ;;
  *)
    echo "usage: scripts/cluster.sh up|status|kill-leader|logs|down" >&2; exit 2
    ;;
esac
