#!/usr/bin/env python3
"""Compatibility scenario for the PyPI ``rocketmq`` 0.4.4 wheel (bundled
rocketmq-client-cpp) against a RocketMQ-compatible nameserver + broker.

    compat/.venv/bin/python compat/pyrocketmq_scenario.py \
        --namesrv 127.0.0.1:9876 --topic T --group G

Steps: produce 200 (TagA/TagB alternating, keys key-<i>), consume them all with
a fresh group, shut the consumer down (the C++ client persists offsets on
shutdown), produce 50 more, start a new consumer in the same group and expect
exactly those 50.

Each producer/consumer run happens in a child process of this script (same
file, ``--child ...``): the native client can block inside a C call or crash
at teardown, and a child can always be killed on a deadline. The children only
report what they did (JSON lines prefixed with "@@compat "); this parent does
all the checking. Everything except the final JSON summary goes to stderr; the
summary is the last line on stdout.
Exit codes: 0 ok, 1 a check failed, 2 usage/setup error, 3 time limit hit.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

from common import (CLIENT, CLIENT_VERSION, EXIT_TIMEOUT, NAME_RE, SEND_STALL_S, ScenarioBase, ScenarioError,
                    as_text, check_namesrv, child_arg_parser, emit, hard_exit, push_consumer, run_main,
                    start_producer, tag_for)


def body_for(i):
    return "body-%d from %s" % (i, CLIENT)


# --------------------------------------------------------------------------
# Children: thin wrappers around the client API, reporting JSON lines.
# --------------------------------------------------------------------------

def child_produce(a):
    from rocketmq.client import Message

    producer = start_producer(a)
    # send_sync cannot be interrupted, and the C++ client retries route
    # lookups for up to a minute when the nameserver accepts connections but
    # never answers: give up on a single send after a bounded stall.
    current = {"index": None, "since": 0.0}

    def stall_watch():
        while True:
            time.sleep(0.5)
            i, since = current["index"], current["since"]
            if i is not None and time.time() - since > SEND_STALL_S:
                emit({"kind": "error", "index": i,
                      "error": "send_sync of key-%d blocked for more than %ds (no answer from nameserver/broker?)"
                               % (i, SEND_STALL_S)})
                os._exit(1)

    threading.Thread(target=stall_watch, daemon=True).start()
    for i in range(a.start, a.end):
        current["index"], current["since"] = i, time.time()
        msg = Message(a.topic)
        msg.set_keys("key-%d" % i)
        msg.set_tags(tag_for(i))
        msg.set_body(body_for(i))
        try:
            res = producer.send_sync(msg)
        except Exception as e:  # the wrapper raises ProducerSendSyncFailed
            emit({"kind": "error", "index": i, "error": "%s: %s" % (type(e).__name__, e)})
            hard_exit(producer.shutdown, 1)
        # SendResult(status, msg_id, offset): msg_id is the client-generated
        # UNIQ_KEY, offset is the queue offset. The queue id is not exposed.
        emit({"kind": "send", "index": i, "status": int(res.status),
              "status_name": getattr(res.status, "name", str(res.status)),
              "msg_id": res.msg_id, "queue_offset": int(res.offset)})
    hard_exit(producer.shutdown, 0)


def child_consume(a):
    expected = set(range(a.start, a.end))
    seen = set()
    state = {"all_at": None}
    lock = threading.Lock()

    def on_message(msg):
        # Never raise here: an exception makes the wrapper answer
        # RECONSUME_LATER (a send-back to %RETRY%), which is not what we test.
        try:
            keys = as_text(msg.keys) or ""
            m = re.match(r"^key-(\d+)$", keys)
            idx = int(m.group(1)) if m else -1
            body = msg.body
            d = {
                "kind": "recv", "index": idx, "topic": msg.topic, "keys": keys,
                "tags": as_text(msg.tags), "body": as_text(body) if body is not None else "",
                "msg_id": msg.id, "queue_id": int(msg.queue_id),
                "queue_offset": int(msg.queue_offset),
                "reconsume_times": int(msg.reconsume_times),
                "uniq_key": as_text(msg.get_property("UNIQ_KEY")),
            }
        except Exception as e:
            d = {"kind": "recv", "index": -1, "decode_error": "%s: %s" % (type(e).__name__, e)}
        emit(d)
        with lock:
            if d["index"] in expected:
                seen.add(d["index"])
                if len(seen) == len(expected) and state["all_at"] is None:
                    state["all_at"] = time.time()

    # One message at a time, in pull order: per-queue order can be checked.
    consumer = push_consumer(a)
    consumer.subscribe(a.topic, on_message, a.subscription)
    consumer.start()
    emit({"kind": "started"})
    deadline = time.time() + a.consume_timeout
    last_report = time.time()
    while time.time() < deadline:
        with lock:
            all_at, n = state["all_at"], len(seen)
        if all_at is not None and time.time() - all_at >= a.linger:
            break
        if time.time() - last_report >= 10:
            last_report = time.time()
            sys.stderr.write("[%s child] %d/%d received so far\n" % (CLIENT, n, len(expected)))
        time.sleep(0.1)
    emit({"kind": "stopping", "complete": state["all_at"] is not None})
    # shutdown() persists the offsets of all assigned queues
    # (UPDATE_CONSUMER_OFFSET), unregisters, and closes the connections.
    hard_exit(consumer.shutdown, 0, closed_event=True)


# --------------------------------------------------------------------------
# Parent: orchestration and checks.
# --------------------------------------------------------------------------

class Scenario(ScenarioBase):
    SCRIPT = __file__

    def __init__(self, a):
        ScenarioBase.__init__(self, a)
        self.summary = {
            "client": CLIENT, "client_version": CLIENT_VERSION, "topic": a.topic, "group": a.group,
            "produced": 0, "consumed_first": 0, "consumed_second": 0, "duplicates": 0, "ok": False,
        }
        self.send_results = {}
        self.results_file = open(a.results_file, "w") if a.results_file else None
        self.active_proc = None

    def record(self, obj):
        if self.results_file:
            self.results_file.write(json.dumps(obj, sort_keys=True) + "\n")
        if self.a.verbose:
            self.log(json.dumps(obj, sort_keys=True))

    # -- child processes ---------------------------------------------------

    def run_child(self, args, limit, what):
        """Runs this script as a child; returns (parsed lines, exit code or
        None if it had to be killed)."""
        proc = self.spawn_child(args)
        self.active_proc = proc
        killed = False
        try:
            out, _ = proc.communicate(timeout=max(1.0, limit))
        except subprocess.TimeoutExpired:
            killed = True
            proc.kill()
            out, _ = proc.communicate()
        self.active_proc = None
        lines = [obj for obj in (self.read_report(what, raw) for raw in out.splitlines()) if obj is not None]
        return lines, (None if killed else proc.returncode)

    def common_args(self):
        a = self.a
        return ["--namesrv", a.namesrv, "--topic", a.topic, "--group", a.group]

    def produce(self, start, end):
        limit = min(self.remaining() - 2, 30 + 0.2 * (end - start))
        if limit <= 1:
            raise ScenarioError("no time left to produce", code=EXIT_TIMEOUT)
        lines, rc = self.run_child(["produce", "--start", str(start), "--end", str(end)] + self.common_args(),
                                   limit, "producer")
        sent = 0
        for l in lines:
            if l.get("kind") == "send":
                self.record(l)
                if l["status"] != 0:
                    raise ScenarioError("send of key-%d returned status %s" % (l["index"], l["status_name"]),
                                        [json.dumps(l, sort_keys=True)])
                self.send_results[l["index"]] = l
                sent += 1
                self.summary["produced"] += 1
        errors = [l for l in lines if l.get("kind") == "error"]
        if errors:
            raise ScenarioError("send of key-%s failed: %s" % (errors[0].get("index"), errors[0].get("error")),
                                ["%d of %d messages of this round were sent before the failure" % (sent, end - start)])
        if rc is None:
            raise ScenarioError("producer did not finish within %.0fs (%d of %d sent)" % (limit, sent, end - start),
                                code=EXIT_TIMEOUT)
        if rc != 0 or sent != end - start:
            raise ScenarioError("producer child exited with code %s after %d of %d sends%s"
                                % (rc, sent, end - start, self.crash_hint(rc)))

    def consume(self, round_name, start, end):
        a = self.a
        budget = min(a.consume_timeout, self.remaining() - 15)
        if budget <= 1:
            raise ScenarioError("no time left for the %s consume round" % round_name, code=EXIT_TIMEOUT)
        args = ["consume", "--start", str(start), "--end", str(end), "--consume-timeout", str(budget),
                "--linger", str(a.linger), "--subscription", a.subscription] + self.common_args()
        self.log("%s: starting consumer (group %s, up to %.0fs)" % (round_name, a.group, budget))
        # + grace for start-up and for shutdown(), which persists offsets.
        lines, rc = self.run_child(args, budget + 12, "%s consumer" % round_name)
        deliveries = [l for l in lines if l.get("kind") == "recv"]
        for d in deliveries:
            d["round"] = round_name
            self.record(d)
        closed = any(l.get("kind") == "closed" for l in lines)
        if rc is None:
            self.log("%s: consumer child had to be killed (shutdown hung?)" % round_name)
        elif rc != 0:
            self.log("%s: consumer child exited with code %s%s" % (round_name, rc, self.crash_hint(rc)))
        elif closed:
            self.log("%s: consumer shut down (offsets persisted)" % round_name)
        return deliveries, rc, closed

    @staticmethod
    def crash_hint(rc):
        if rc is not None and rc < 0:
            return " (killed by signal %d: the native client crashed)" % -rc
        return ""

    # -- checks --------------------------------------------------------------

    def check_round(self, round_name, start, end, deliveries, committed):
        first = {}
        dupes, unexpected, problems = [], [], []
        for d in deliveries:
            i = d.get("index", -1)
            if "decode_error" in d:
                problems.append("a delivery could not be read: %s" % d["decode_error"])
                continue
            where = "queue %s@%s" % (d["queue_id"], d["queue_offset"])
            if i < 0:
                unexpected.append("message without a key-<i> key (keys=%r, body=%r, %s)"
                                  % (d["keys"], d["body"][:60], where))
                continue
            if i in committed:
                dupes.append("key-%d was already consumed and committed in an earlier round (%s, reconsumeTimes %s)"
                             % (i, where, d["reconsume_times"]))
                continue
            if not (start <= i < end):
                unexpected.append("key-%d is not part of this round (expected key-%d..key-%d)" % (i, start, end - 1))
                continue
            if i in first:
                f = first[i]
                dupes.append("key-%d delivered again in the same round (%s, first at queue %s@%s, reconsumeTimes %s)"
                             % (i, where, f["queue_id"], f["queue_offset"], d["reconsume_times"]))
                continue
            first[i] = d
            if d["topic"] != self.a.topic:
                problems.append("key-%d: topic %r, expected %r" % (i, d["topic"], self.a.topic))
            if d["body"] != body_for(i):
                problems.append("key-%d: body %r, expected %r" % (i, d["body"], body_for(i)))
            if d["tags"] != tag_for(i):
                problems.append("key-%d: tag %r, expected %r" % (i, d["tags"], tag_for(i)))
            s = self.send_results.get(i)
            if s:
                if s["queue_offset"] != d["queue_offset"]:
                    problems.append("key-%d: delivered from %s but the send result said queue offset %s"
                                    % (i, where, s["queue_offset"]))
                # The C++ client's send result msg_id is the UNIQ_KEY it put in
                # the properties; a received message's id is its UNIQ_KEY
                # property (falling back to the offset msgId when absent).
                if s["msg_id"] != d["msg_id"]:
                    problems.append("key-%d: received msg id %s (UNIQ_KEY %s) differs from the send result's msg id %s"
                                    % (i, d["msg_id"], d["uniq_key"], s["msg_id"]))
        last = {}
        for d in deliveries:
            if first.get(d.get("index")) is not d:
                continue
            q, off = d["queue_id"], d["queue_offset"]
            if q in last and not off > last[q]:
                problems.append("queue %s: offset %s (key-%d) delivered after offset %s" % (q, off, d["index"], last[q]))
            last[q] = off
        missing = [i for i in range(start, end) if i not in first]
        return first, dupes, unexpected, problems, missing

    def report_round(self, round_name, start, end, result, rc, closed):
        first, dupes, unexpected, problems, missing = result
        details = []
        if missing:
            details.append("%d of %d messages never arrived: %s" % (len(missing), end - start, describe(missing)))
        details.extend(problems)
        details.extend("unexpected: " + u for u in unexpected)
        if dupes:
            lines = ["duplicate: " + x for x in dupes]
            if self.a.allow_duplicates:
                for l in lines[:20]:
                    self.log("%s: (allowed) %s" % (round_name, l))
            else:
                details.extend(lines)
        queues = {}
        for d in first.values():
            q = queues.setdefault(d["queue_id"], [0, d["queue_offset"], d["queue_offset"]])
            q[0] += 1
            q[1] = min(q[1], d["queue_offset"])
            q[2] = max(q[2], d["queue_offset"])
        qdesc = " ".join("q%s:%d@%d..%d" % (k, v[0], v[1], v[2]) for k, v in sorted(queues.items()))
        self.log("%s: %d/%d received, %d duplicates, %d unexpected; per queue %s"
                 % (round_name, len(first), end - start, len(dupes), len(unexpected), qdesc or "-"))
        if not closed:
            # Offsets may not have been persisted: the next round would see
            # redeliveries, so this is a failure of its own.
            details.append("the consumer did not shut down cleanly (%s), so its offsets may not be persisted"
                           % ("killed after the time limit" if rc is None else "exit code %s%s" % (rc, self.crash_hint(rc))))
        if details:
            hint = ""
            if round_name == "first" and not first:
                hint = (" (nothing at all: this client can only start a new group at the offset "
                        "QUERY_CONSUMER_OFFSET returns, or at GET_MAX_OFFSET when it answers "
                        "QUERY_NOT_FOUND; see README and the C++ log)")
            raise ScenarioError("%s round: %d problem(s)%s" % (round_name, len(details), hint), details)
        return first, dupes

    # -- main ------------------------------------------------------------------

    def run(self):
        a = self.a
        self.log("rocketmq 0.4.4 (rocketmq-client-cpp), python %s, nameserver %s, topic %s, group %s"
                 % (sys.version.split()[0], a.namesrv, a.topic, a.group))
        self.log("C++ client logs: %s/logs/rocketmq-cpp/" % self.log_home)
        if a.create_topic:
            self.log("--create-topic: note only; the C++ client cannot create topics. If the topic has no "
                     "route, its producer uses the TBW102 route (broker-side auto-create)")
        self.load_client()
        self.probe_nameserver(min(3.0, self.remaining()))

        total = a.first + a.second
        self.phase = "produce-first"
        self.produce(0, a.first)
        self.log("produced %d messages" % a.first)

        self.phase = "consume-first"
        deliveries, rc, closed = self.consume("first", 0, a.first)
        result = self.check_round("first", 0, a.first, deliveries, set())
        self.summary["consumed_first"] = len(result[0])
        self.summary["duplicates"] += len(result[1])
        first, _ = self.report_round("first", 0, a.first, result, rc, closed)

        self.phase = "produce-second"
        self.produce(a.first, total)
        self.log("produced %d more messages" % a.second)

        self.phase = "consume-second"
        deliveries, rc, closed = self.consume("second", a.first, total)
        result = self.check_round("second", a.first, total, deliveries, set(first))
        self.summary["consumed_second"] = len(result[0])
        self.summary["duplicates"] += len(result[1])
        self.report_round("second", a.first, total, result, rc, closed)

    def stop_children(self):
        proc = self.active_proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def on_failure(self):
        self.dump_cpp_log_tail()

    def close_outputs(self):
        if self.results_file:
            self.results_file.close()

    def dump_cpp_log_tail(self, n=15):
        d = os.path.join(self.log_home, "logs", "rocketmq-cpp")
        if not os.path.isdir(d):
            return
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not os.path.isfile(p):
                continue
            try:
                with open(p, "r", errors="replace") as f:
                    tail = f.readlines()[-n:]
            except OSError:
                continue
            interesting = [l.rstrip() for l in tail if "(error)" in l or "(warning)" in l]
            if interesting:
                self.log("last warnings/errors in %s:" % p)
                for l in interesting:
                    self.log("    " + l[:300])


def describe(indices):
    parts, i = [], 0
    while i < len(indices):
        j = i
        while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
            j += 1
        parts.append("key-%d" % indices[i] if i == j else "key-%d..key-%d" % (indices[i], indices[j]))
        i = j + 1
    s = ", ".join(parts)
    return s if len(s) <= 800 else s[:800] + " ..."


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="RocketMQ compatibility scenario for the PyPI rocketmq 0.4.4 client (rocketmq-client-cpp).")
    p.add_argument("--namesrv", default=os.environ.get("NAMESRV_ADDR", ""),
                   help="nameserver HOST:PORT (default: env NAMESRV_ADDR)")
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True, help="consumer group (fresh per run); producer group is <group>_P")
    p.add_argument("--create-topic", action="store_true",
                   help="note only: the client cannot create topics (its producer falls back to the TBW102 route)")
    p.add_argument("--first", type=int, default=200, help="messages in the first round (default 200)")
    p.add_argument("--second", type=int, default=50, help="messages in the second round (default 50)")
    p.add_argument("--subscription", default="TagA || TagB", help='subscription expression (default "TagA || TagB")')
    p.add_argument("--timeout", type=float, default=120, help="total time limit in seconds (default 120)")
    p.add_argument("--consume-timeout", type=float, default=60, help="limit for each consume round (default 60)")
    p.add_argument("--linger", type=float, default=3,
                   help="keep consuming this long after the last expected message (default 3)")
    p.add_argument("--allow-duplicates", action="store_true", help="report duplicates without failing")
    p.add_argument("--results-file", help="write every send result and delivery as JSON lines")
    p.add_argument("--log-dir", help="HOME for the C++ client's logs (default: a temp dir, removed on success)")
    p.add_argument("--keep-logs", action="store_true", help="keep the temp log dir even on success")
    p.add_argument("--verbose", "-v", action="store_true")
    a = p.parse_args(argv)
    check_namesrv(p, a)
    for what, name in (("topic", a.topic), ("group", a.group)):
        if not NAME_RE.match(name):
            p.error('%s "%s" has characters RocketMQ rejects (allowed: letters, digits, %% | _ -)' % (what, name))
    if a.first < 1 or a.second < 1:
        p.error("--first and --second must be >= 1")
    if a.timeout <= 0 or a.consume_timeout <= 0 or a.linger < 0:
        p.error("time limits must be positive")
    return a


def parse_child_args(argv):
    p = child_arg_parser("pyrocketmq_scenario.py --child")
    p.add_argument("--group", required=True)
    p.add_argument("--start", type=int, required=True)
    p.add_argument("--end", type=int, required=True)
    p.add_argument("--consume-timeout", type=float, default=60)
    p.add_argument("--linger", type=float, default=3)
    p.add_argument("--subscription", default="*")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:], Scenario, parse_args, parse_child_args, child_produce, child_consume))
