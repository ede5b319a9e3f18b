#!/usr/bin/env bash
# Failover drill against the local cluster of scripts/cluster.sh (nameserver 127.0.0.1:9876,
# three nodes from conf/): a steady producer (`mqadmin sendMessage` in a loop, each result
# recorded), kill -9 the master N times (`cluster.sh kill-leader`), restart it (`cluster.sh up`),
# then consume everything from the first offset and compare.
#
#   scripts/cluster.sh up && scripts/failover-drill.sh [N=3]
#
# Per drill: time until the nameserver names a new master, time until the first acknowledged
# send after the kill. At the end: attempted / acknowledged / unknown-outcome / consumed / lost /
# duplicated / never-sent counts. Exit status 1 when an acknowledged message is lost or a message
# that was never sent is consumed. Every wait is bounded. Environment: NAMESRV_ADDR (default
# 127.0.0.1:9876), DRILL_TOPIC (default a fresh topic per run).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-3}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || { echo "usage: $0 [N>=1]" >&2; exit 2; }
NAMESRV=${NAMESRV_ADDR:-127.0.0.1:9876}
BIN=target/release
MQADMIN=$BIN/mqadmin
TOPIC=${DRILL_TOPIC:-FailoverDrill$(date +%s)}
WORK=$(mktemp -d /tmp/failover-drill.XXXXXX)
SENDS=$WORK/sends.log      # seq start_ms end_ms OK broker qid offset msgid | seq start_ms end_ms ERR reason
STOP=$WORK/stop
PRODUCER_PID=

say() { printf 'drill: %s\n' "$*"; }
die() { say "$*"; exit 1; }
now_ms() { date +%s%3N; }
cleanup() {
  if [ -n "$PRODUCER_PID" ] && kill -0 "$PRODUCER_PID" 2>/dev/null; then
    touch "$STOP"
    wait "$PRODUCER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

[ -x "$MQADMIN" ] || die "$MQADMIN missing: run scripts/cluster.sh up first (it builds)"

cluster_list() { timeout 5 "$MQADMIN" clusterList -n "$NAMESRV" 2>/dev/null || true; }
# The master's address (BID 0), empty if none.
master_addr() { cluster_list | awk '$3 == "0" { print $4; exit }'; }
# How many nodes are registered (master and slaves).
registered() { cluster_list | awk 'NR > 1 && $3 ~ /^[0-9]+$/ { n++ } END { print n + 0 }'; }
# Whether $1 is registered with a non-zero broker id.
is_slave() { cluster_list | awk -v a="$1" '$4 == a && $3 != "0" { f = 1 } END { exit !f }'; }

# until SECONDS_BOUND COMMAND...: retry every 50 ms, fail after the bound.
until_ok() {
  local bound=$1; shift
  local end=$(( $(now_ms) + bound * 1000 ))
  until "$@"; do
    [ "$(now_ms)" -lt "$end" ] || return 1
    sleep 0.05
  done
}

have_master() { [ -n "$(master_addr)" ]; }
group_complete() { have_master && [ "$(registered)" -ge 3 ]; }

until_ok 30 have_master || die "no master registered at $NAMESRV (is scripts/cluster.sh up running?)"
CLUSTER=$(cluster_list | awk 'NR > 1 && $3 == "0" { print $1; exit }')
say "cluster $CLUSTER, master $(master_addr), topic $TOPIC, files in $WORK"

timeout 15 "$MQADMIN" updateTopic -n "$NAMESRV" -c "$CLUSTER" -t "$TOPIC" -r 4 -w 4 >"$WORK/updateTopic.log" 2>&1 \
  || die "updateTopic failed: $(cat "$WORK/updateTopic.log")"
route_ok() { timeout 5 "$MQADMIN" topicRoute -n "$NAMESRV" -t "$TOPIC" >/dev/null 2>&1; }
until_ok 15 route_ok || die "no route for $TOPIC"

# The steady producer: one sendMessage per message, sequentially, until $STOP exists.
producer() {
  local seq=0 start end out
  while [ ! -e "$STOP" ]; do
    start=$(now_ms)
    # stdout only: a warning on stderr (a retried send during the failover) must not shift the
    # result row, or an acknowledged message would be recorded at a position it does not have.
    if out=$(timeout 20 "$MQADMIN" sendMessage -n "$NAMESRV" -t "$TOPIC" -p "drill-$seq" -k "seq-$seq" 2>"$WORK/send.err"); then
      end=$(now_ms)
      # The first row after the #header: broker qid offset msgid.
      echo "$seq $start $end OK $(printf '%s\n' "$out" | awk '$1 !~ /^#/ && NF >= 4 { print $1, $2, $3, $4; exit }')" >>"$SENDS"
    else
      end=$(now_ms)
      echo "$seq $start $end ERR $(cat "$WORK/send.err" - <<<"$out" | tr '\n' ' ' | cut -c1-160)" >>"$SENDS"
      sleep 0.05
    fi
    seq=$((seq + 1))
  done
}
: >"$SENDS"
producer &
PRODUCER_PID=$!

# The end time of the first acknowledged send begun after $1 (ms), empty if none yet. (A send in
# flight at the kill may have been acknowledged by the old master just before it died.)
first_ack_after() { awk -v t="$1" '$4 == "OK" && $2 >= t { print $3; exit }' "$SENDS"; }
acked_after() { [ -n "$(first_ack_after "$1")" ]; }
acked_count() { awk '$4 == "OK"' "$SENDS" | wc -l; }

until_ok 30 acked_after 0 || die "no send acknowledged within 30 s; see $SENDS"

# cluster.sh decides "already running" with kill -0, which also succeeds on a killed process
# that its parent (init here) has not reaped yet; then `up` would not restart it. Drop the pid
# files of such zombies so that `up` does.
RUN=/tmp/dledger-broker/run
forget_zombies() {
  local f pid
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
      say "$(basename "$f" .pid) (pid $pid) is a zombie: forgetting its pid file"
      rm -f "$f"
    fi
  done
}

declare -a MASTER_MS ACK_MS
for drill in $(seq 1 "$N"); do
  until_ok 60 group_complete || die "drill $drill: group not complete (3 nodes with a master): $(cluster_list)"
  sleep 1
  old=$(master_addr)
  scripts/cluster.sh kill-leader >"$WORK/kill-$drill.log" 2>&1 || die "kill-leader failed: $(cat "$WORK/kill-$drill.log")"
  # Taken once kill-leader is back: it runs clusterList before its kill -9, and a send begun
  # meanwhile may still be acknowledged by the old master.
  kill_ms=$(now_ms)
  new_master() { local m; m=$(master_addr); [ -n "$m" ] && [ "$m" != "$old" ]; }
  until_ok 30 new_master || die "drill $drill: no new master within 30 s of killing $old"
  t_master=$(( $(now_ms) - kill_ms ))
  until_ok 60 acked_after "$kill_ms" || die "drill $drill: no acknowledged send within 60 s of the kill"
  t_ack=$(( $(first_ack_after "$kill_ms") - kill_ms ))
  forget_zombies
  scripts/cluster.sh up >"$WORK/up-$drill.log" 2>&1 || die "drill $drill: restart failed: $(tail -3 "$WORK/up-$drill.log")"
  until_ok 30 is_slave "$old" || die "drill $drill: $old did not come back as a slave"
  MASTER_MS+=("$t_master"); ACK_MS+=("$t_ack")
  printf 'drill %d: killed %s, new master %s after %d ms, first acked send after %d ms, %s restarted as slave; acked so far %d\n' \
    "$drill" "$old" "$(master_addr)" "$t_master" "$t_ack" "$old" "$(acked_count)"
done

sleep 1
touch "$STOP"
wait "$PRODUCER_PID" || true
PRODUCER_PID=

say "consuming $TOPIC from the first offset"
timeout 120 "$MQADMIN" consumeMessage -n "$NAMESRV" -t "$TOPIC" -s first -c 100000000 --idle 5 >"$WORK/consumed.log" 2>&1 \
  || die "consumeMessage failed: $(tail -3 "$WORK/consumed.log")"

# consumed.log lines: MSGID: id BROKER: b QID: q OFFSET: o BODY: drill-N
awk '$1 == "MSGID:" { print $4, $6, $8, $10 }' "$WORK/consumed.log" >"$WORK/consumed.pos"   # broker qid offset body
awk '$4 == "OK" { print $5, $6, $7, "drill-" $1 }' "$SENDS" | sort >"$WORK/acked.pos"
sort "$WORK/consumed.pos" >"$WORK/consumed.sorted"

attempted=$(wc -l <"$SENDS")
acked=$(wc -l <"$WORK/acked.pos")
unknown=$(awk '$4 == "ERR"' "$SENDS" | wc -l)
consumed=$(wc -l <"$WORK/consumed.pos")
# Lost: acknowledged (broker, queue, offset, body) not read back exactly there.
lost=$(comm -23 "$WORK/acked.pos" "$WORK/consumed.sorted" | wc -l)
# Duplicated: extra copies of one body.
duplicated=$(awk '{ print $4 }' "$WORK/consumed.pos" | sort | uniq -d -c | awk '{ s += $1 - 1 } END { print s + 0 }')
# Never sent: a body that is not drill-<seq> of an attempted seq.
phantom=$(awk -v n="$attempted" '{ b = $4; sub(/^drill-/, "", b); if (b !~ /^[0-9]+$/ || b + 0 >= n) c++ } END { print c + 0 }' "$WORK/consumed.pos")
# Queue offsets out of order or with gaps, per queue, in read order.
disorder=$(awk '{ k = $1 " " $2; if ((k in last) ? $3 != last[k] + 1 : $3 != 0) c++; last[k] = $3 } END { print c + 0 }' "$WORK/consumed.pos")

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }
echo
printf 'drills %d: new master median %d ms max %d ms; first acked send median %d ms max %d ms\n' \
  "$N" "$(median "${MASTER_MS[@]}")" "$(maxof "${MASTER_MS[@]}")" "$(median "${ACK_MS[@]}")" "$(maxof "${ACK_MS[@]}")"
printf 'attempted %d  acknowledged %d  unknown %d  consumed %d  lost %d  duplicated %d  never-sent %d  out-of-order %d\n' \
  "$attempted" "$acked" "$unknown" "$consumed" "$lost" "$duplicated" "$phantom" "$disorder"
if [ "$lost" -gt 0 ] || [ "$phantom" -gt 0 ] || [ "$disorder" -gt 0 ]; then
  say "FAILED: see $WORK (sends.log, consumed.log)"
  comm -23 "$WORK/acked.pos" "$WORK/consumed.sorted" | head -5
  exit 1
fi
say "OK (files in $WORK)"
