#!/usr/bin/env python3
"""Retry / dead-letter / delay-level scenario for the PyPI ``rocketmq`` 0.4.4
wheel (bundled rocketmq-client-cpp) against dledger-broker (remoting.md §4.2
steps 5 and 9, §5.7).

    compat/.venv/bin/python compat/pyrocketmq_retry.py --namesrv 127.0.0.1:9876 \
        --topic T --group G --delay-topic TD --max-reconsume 2 \
        --delay-table "1s 1s 2s 3s 2s 1s ..."

The C++ client cannot set maxReconsumeTimes (its CONSUMER_SEND_MSG_BACK header
has only group, offset and delayLevel = 0), so the broker decides with the
group's retryMaxTimes: the caller sets it first (``mqadmin updateSubGroup -r``)
and passes the same number as --max-reconsume.

One consumer child (group G) subscribes to --topic and --delay-topic and one
producer child sends on request; the parent checks:

warm-up: a message "warm" that fails once; its redelivery proves the client
  has the %RETRY%G queue (the C++ client only pulls it after a rebalance that
  follows the retry topic's creation; rebalances run every 10 s).
retry: --messages keyed messages (key-<i>); the listener answers
  RECONSUME_LATER for odd keys, CONSUME_SUCCESS for even ones. Even keys: one
  delivery. Odd keys: 1 + max deliveries with reconsumeTimes 0..max, each
  redelivery no sooner than the delay of level 3 + previous reconsumeTimes
  after the failure and at most --retry-late-ms later, with the original topic,
  tag, keys, body and the same message id (UNIQ_KEY); then nothing more (the
  caller checks %DLQ%G).
delay: a ping, then --delayed messages with DELAY = --delay-levels in turn;
  each arrives once, no sooner than its level's delay after the send ack and
  at most --due-late-ms after it became due.

Last stdout line: one JSON summary. Exit codes: 0 ok, 1 a check failed,
2 usage/setup error, 3 time limit.
"""

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

from common import (CLIENT, CLIENT_VERSION, EXIT_TIMEOUT, NAME_RE, SEND_STALL_S, ScenarioBase, ScenarioError,
                    as_text, check_namesrv, child_arg_parser, emit, hard_exit, push_consumer, run_main,
                    start_producer, tag_for)

DEFAULT_TABLE = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def parse_table(s):
    out = []
    for x in s.split():
        m = re.match(r"^(\d+)(ms|s|m|h|d)$", x)
        if not m:
            raise ValueError('bad --delay-table entry "%s"' % x)
        out.append(int(m.group(1)) * UNITS[m.group(2)])
    if not out:
        raise ValueError("empty --delay-table")
    return out


def body_for(i):
    return "retry-body-%d from %s" % (i, CLIENT)


# --------------------------------------------------------------------------
# Children
# --------------------------------------------------------------------------

def child_produce(a):
    """Sends what the parent asks for, one JSON command per stdin line."""
    from rocketmq.client import Message

    producer = start_producer(a)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "stop":
            break
        msg = Message(cmd["topic"])
        msg.set_keys(cmd["key"])
        msg.set_tags(cmd["tag"])
        msg.set_body(cmd["body"])
        if cmd.get("level"):
            msg.set_delay_time_level(int(cmd["level"]))
        try:
            res = producer.send_sync(msg)
        except Exception as e:
            emit({"kind": "error", "key": cmd["key"], "error": "%s: %s" % (type(e).__name__, e)})
            continue
        emit({"kind": "send", "key": cmd["key"], "ack_at": time.time(), "status": int(res.status),
              "msg_id": res.msg_id, "queue_offset": int(res.offset)})
    hard_exit(producer.shutdown, 0)


def child_consume(a):
    """Consumes --topic and --delay-topic in group --group; answers RECONSUME_LATER for every
    odd key-<i> of --topic and for "warm" at reconsumeTimes 0. Stops on a stdin line."""
    from rocketmq.client import RecvMessage
    from rocketmq.ffi import _CConsumeStatus, dll
    from rocketmq.exceptions import ffi_check

    def should_fail(topic, keys, reconsume_times):
        if topic != a.topic:
            return False
        if keys == "warm":
            return reconsume_times == 0
        m = re.match(r"^key-(\d+)$", keys)
        return bool(m) and int(m.group(1)) % 2 == 1

    def record(msg):
        try:
            keys = as_text(msg.keys) or ""
            topic = msg.topic
            rt = int(msg.reconsume_times)
            d = {"kind": "recv", "at": time.time(), "topic": topic, "keys": keys,
                 "tags": as_text(msg.tags), "body": as_text(msg.body) or "", "msg_id": msg.id,
                 "queue_id": int(msg.queue_id), "queue_offset": int(msg.queue_offset),
                 "reconsume_times": rt, "uniq_key": as_text(msg.get_property("UNIQ_KEY")),
                 "retry_topic": as_text(msg.get_property("RETRY_TOPIC"))}
        except Exception as e:
            d = {"kind": "recv", "at": time.time(), "keys": "", "topic": "",
                 "reconsume_times": -1, "decode_error": "%s: %s" % (type(e).__name__, e)}
        d["fail"] = should_fail(d["topic"], d["keys"], d["reconsume_times"])
        emit(d)
        return d["fail"]

    consumer = push_consumer(a)
    if a.fail_by == "raise":
        # The wrapper's documented way: an exception in the callback. Its _on_message re-raises
        # in a `finally`, so the status the C++ client gets is whatever ctypes leaves in the
        # return slot (observed non-zero = RECONSUME_LATER, but not guaranteed).
        def on_message(msg):
            if record(msg):
                raise RuntimeError("intentional failure of the compat retry scenario")
        consumer.subscribe(a.topic, on_message, "*")
        if a.delay_topic != a.topic:
            consumer.subscribe(a.delay_topic, on_message, "*")
    else:
        # ConsumeStatus.RECONSUME_LATER returned to the C++ client, through the wrapper's own
        # callback registration (its public subscribe() only maps exceptions).
        def on_message(_consumer, cmsg):
            failed = record(RecvMessage(cmsg))
            return (_CConsumeStatus.RECONSUME_LATER if failed else _CConsumeStatus.CONSUME_SUCCESS).value
        ffi_check(dll.Subscribe(consumer._handle, a.topic.encode(), b"*"))
        if a.delay_topic != a.topic:
            ffi_check(dll.Subscribe(consumer._handle, a.delay_topic.encode(), b"*"))
        consumer._register_callback(on_message)
    consumer.start()
    emit({"kind": "started"})
    sys.stdin.readline()  # the parent writes a line (or dies) when it is done
    emit({"kind": "stopping"})
    hard_exit(consumer.shutdown, 0, closed_event=True)


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------

class Child(object):
    """A child process of this script whose reports arrive on a queue."""

    def __init__(self, sc, what, args):
        self.what = what
        self.sc = sc
        self.proc = sc.spawn_child(args, stdin=subprocess.PIPE, bufsize=1)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            obj = self.sc.read_report(self.what, raw)
            if obj is not None:
                self.lines.append(obj)
                self.q.put(obj)
        self.q.put({"kind": "eof"})

    def next(self, timeout):
        try:
            return self.q.get(timeout=max(0.01, timeout))
        except queue.Empty:
            return None

    def write(self, obj):
        try:
            self.proc.stdin.write(json.dumps(obj) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def stop(self, limit):
        self.write({"op": "stop"})
        try:
            self.proc.wait(timeout=limit)
            return self.proc.returncode
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()


class Scenario(ScenarioBase):
    SCRIPT = __file__
    LOG_TAG = CLIENT + "-retry"

    def __init__(self, a):
        self.table = parse_table(a.delay_table)
        self.levels = [int(x) for x in a.delay_levels.split(",")]
        ScenarioBase.__init__(self, a)
        self.summary = {"client": CLIENT, "client_version": CLIENT_VERSION, "scenario": a.scenario,
                        "topic": a.topic, "group": a.group, "ok": False}
        self.children = []
        self.recv = []  # every delivery the consumer child reported
        self.producer = None
        self.consumer = None

    def delay_of(self, level):
        return self.table[min(level, len(self.table)) - 1]

    # -- plumbing -------------------------------------------------------------

    def drain(self, until, stop_when=None):
        """Collects consumer deliveries until `until` (epoch s) or stop_when() holds."""
        while time.time() < until:
            if stop_when is not None and stop_when():
                return True
            obj = self.consumer.next(min(0.05, until - time.time()))
            if obj is None:
                continue
            if obj.get("kind") == "recv":
                self.recv.append(obj)
                if self.a.verbose:
                    self.log("recv %s" % json.dumps(obj, sort_keys=True))
            elif obj.get("kind") == "eof":
                raise ScenarioError("the consumer child exited early (code %s)" % self.consumer.proc.poll())
        return stop_when is not None and stop_when()

    def send(self, topic, key, tag, body, level=0):
        self.producer.write({"topic": topic, "key": key, "tag": tag, "body": body, "level": level})
        limit = time.time() + SEND_STALL_S
        while True:
            obj = self.producer.next(limit - time.time())
            if obj is None:
                raise ScenarioError("send of %s: no result within %ds (send_sync blocked?)" % (key, SEND_STALL_S))
            if obj.get("kind") == "eof":
                raise ScenarioError("the producer child exited during the send of %s" % key)
            if obj.get("kind") == "error":
                raise ScenarioError("send of %s failed: %s" % (key, obj.get("error")))
            if obj.get("kind") == "send" and obj.get("key") == key:
                if obj["status"] != 0:
                    raise ScenarioError("send of %s returned status %s" % (key, obj["status"]))
                return obj

    def wait_started(self, child, limit):
        end = time.time() + limit
        while time.time() < end:
            obj = child.next(end - time.time())
            if obj is None:
                break
            if obj.get("kind") == "started":
                return
            if obj.get("kind") == "eof":
                raise ScenarioError("%s exited before it started (code %s)" % (child.what, child.proc.poll()))
        raise ScenarioError("%s did not start within %.0fs" % (child.what, limit), code=EXIT_TIMEOUT)

    def deliveries(self, key, topic=None):
        return [d for d in self.recv if d.get("keys") == key and (topic is None or d.get("topic") == topic)]

    # -- phases ---------------------------------------------------------------

    def run(self):
        a = self.a
        self.log("rocketmq 0.4.4 (rocketmq-client-cpp), nameserver %s, topic %s, delay topic %s, group %s, "
                 "max reconsume %d (broker side), delay table %s" % (a.namesrv, a.topic, a.delay_topic, a.group,
                                                                   a.max_reconsume, a.delay_table))
        self.load_client()
        self.probe_nameserver(3.0)
        self.phase = "start"
        common = ["--namesrv", a.namesrv, "--topic", a.topic, "--group", a.group, "--delay-topic", a.delay_topic]
        self.producer = Child(self, "producer", ["produce"] + common)
        self.children.append(self.producer)
        self.wait_started(self.producer, 15)
        self.consumer = Child(self, "consumer", ["consume", "--fail-by", a.fail_by] + common)
        self.children.append(self.consumer)
        self.wait_started(self.consumer, 15)
        try:
            if a.scenario != "delay":
                self.warm_up()
                self.retry_phase()
            if a.scenario != "retry":
                self.delay_phase()
        finally:
            self.phase = "shutdown"
            rc = self.consumer.stop(12)
            self.producer.stop(8)
            while True:
                obj = self.consumer.next(0)
                if obj is None or obj.get("kind") == "eof":
                    break
            closed = any(l.get("kind") == "closed" for l in self.consumer.lines)
            if not closed:
                self.log("the consumer child did not shut down cleanly (exit %s)" % rc)

    def warm_up(self):
        self.phase = "warm-up"
        a = self.a
        self.send(a.topic, "warm", "TagA", "warm-up")
        limit = min(time.time() + 30, self.deadline - 25)
        ok = self.drain(limit, lambda: any(d["reconsume_times"] >= 1 for d in self.deliveries("warm")))
        ds = self.deliveries("warm")
        if not ok:
            raise ScenarioError("warm-up: the message 'warm' was %s; its redelivery from %%RETRY%%%s never came "
                                "within 30 s" % ("delivered %d time(s)" % len(ds) if ds else "never delivered",
                                                 a.group),
                                ["warm deliveries: %s" % json.dumps(ds)])
        self.summary["warm_up_redelivery_s"] = round(ds[-1]["at"] - ds[0]["at"], 2)
        self.log("warm-up: the %%RETRY%% queue is consumed (first redelivery after %.1f s)"
                 % self.summary["warm_up_redelivery_s"])

    def retry_phase(self):
        a = self.a
        M, N = a.messages, a.max_reconsume
        self.phase = "retry-produce"
        sent = {}
        for i in range(M):
            if i:
                # One message per pull: the C++ client hands a pulled batch to the listener
                # message by message, stops at the first RECONSUME_LATER and sends the WHOLE
                # batch back (set_message_batch_max_size does not split pulls). Spaced sends
                # keep batches (and the retries, which fall due equally spaced) at one message.
                self.drain(time.time() + a.send_gap_ms / 1000.0)
            sent[i] = self.send(a.topic, "key-%d" % i, tag_for(i), body_for(i))
        self.log("retry: produced %d messages" % M)
        self.phase = "retry-consume"

        def counts():
            return {i: len(self.deliveries("key-%d" % i)) for i in range(M)}

        def done():
            c = counts()
            return all(c[i] >= (N + 1 if i % 2 else 1) for i in range(M))

        limit = self.deadline - 20
        if not self.drain(limit, done):
            self.log("retry: not all expected deliveries arrived in time")
        else:
            linger = max(3.0, (self.delay_of(3 + N) + a.retry_late_ms + 500) / 1000.0)
            self.log("retry: all expected deliveries seen; lingering %.1f s for extra ones" % linger)
            self.drain(min(time.time() + linger, self.deadline - 15))

        problems, gaps = [], []
        for i in range(M):
            key = "key-%d" % i
            ds = self.deliveries(key)
            want = N + 1 if i % 2 else 1
            if len(ds) != want:
                problems.append("%s: %d deliveries, expected %d%s; reconsumeTimes seen %s"
                                % (key, len(ds), want,
                                   " (1 + max %d; more = not dead-lettered, fewer = retry lost or late, or sent back "
                                   "unseen with a batch: see the C++ log's 'consume fail' lines)" % N
                                   if i % 2 else " (it succeeded the first time)",
                                   [d["reconsume_times"] for d in ds]))
            for k, d in enumerate(ds):
                if "decode_error" in d:
                    problems.append("%s delivery %d could not be read: %s" % (key, k, d["decode_error"]))
                    continue
                if d["topic"] != a.topic:
                    problems.append("%s delivery %d: topic %r, expected the original %r (RETRY_TOPIC %r)"
                                    % (key, k, d["topic"], a.topic, d.get("retry_topic")))
                if d["tags"] != tag_for(i):
                    problems.append("%s delivery %d: tag %r, expected %r" % (key, k, d["tags"], tag_for(i)))
                if d["body"] != body_for(i):
                    problems.append("%s delivery %d: body %r" % (key, k, d["body"]))
                if d["reconsume_times"] != k:
                    problems.append("%s delivery %d: reconsumeTimes %d, expected %d" % (key, k, d["reconsume_times"], k))
                if d["msg_id"] != sent[i]["msg_id"]:
                    problems.append("%s delivery %d: msg id %s (UNIQ_KEY %s), expected the send result's %s"
                                    % (key, k, d["msg_id"], d["uniq_key"], sent[i]["msg_id"]))
                if k == 0:
                    continue
                prev = ds[k - 1]
                level = 3 + prev["reconsume_times"]
                due = self.delay_of(level)
                gap = int(round((d["at"] - prev["at"]) * 1000))
                gaps.append(gap - due)
                if gap < due - a.tolerance_ms:
                    problems.append("%s: redelivery %d came %d ms after the failure, sooner than level %d = %d ms"
                                    % (key, k, gap, level, due))
                if gap > due + a.retry_late_ms:
                    problems.append("%s: redelivery %d came %d ms after the failure, more than %d ms after level "
                                    "%d = %d ms" % (key, k, gap, a.retry_late_ms, level, due))
        others = [d for d in self.recv if d.get("topic") == a.topic and d.get("keys") != "warm"
                  and not re.match(r"^key-\d+$", d.get("keys", ""))]
        problems.extend("unexpected delivery: %s" % json.dumps(d, sort_keys=True) for d in others[:10])
        self.summary.update({
            "produced": M, "failing_keys": ["key-%d" % i for i in range(1, M, 2)],
            "dlq_expected": len(range(1, M, 2)),
            "max_reconsume": N,
            "deliveries": sum(len(self.deliveries("key-%d" % i)) for i in range(M)),
            "retry_min_margin_ms": min(gaps) if gaps else None,
            "retry_max_late_ms": max(gaps) if gaps else None,
        })
        self.log("retry: %d deliveries; redelivery gap minus due delay: min %s ms, max %s ms"
                 % (self.summary["deliveries"], self.summary["retry_min_margin_ms"], self.summary["retry_max_late_ms"]))
        if self.child_errors:
            problems.extend("client error: %s" % e for e in self.child_errors)
        if problems:
            raise ScenarioError("retry: %d problem(s)" % len(problems), problems)

    def delay_phase(self):
        a = self.a
        self.phase = "delay-ping"
        self.send(a.delay_topic, "ping", "TagA", "ping")
        if not self.drain(time.time() + 20, lambda: bool(self.deliveries("ping", a.delay_topic))):
            raise ScenarioError("delay: the ping message (no delay) did not arrive within 20 s")
        self.drain(time.time() + 0.5)
        self.phase = "delay-produce"
        sent = {}
        for i in range(a.delayed):
            level = self.levels[i % len(self.levels)]
            s = self.send(a.delay_topic, "delay-%d" % i, "TagA", "delayed-body-%d" % i, level)
            s["level"] = level
            sent[i] = s
        self.log("delay: produced %d messages with levels %s (%s)"
                 % (a.delayed, a.delay_levels, ", ".join("%d ms" % self.delay_of(l) for l in self.levels)))
        self.phase = "delay-consume"
        last_due = max(s["ack_at"] + self.delay_of(s["level"]) / 1000.0 for s in sent.values())
        limit = min(self.deadline - 15, last_due + a.due_late_ms / 1000.0 + 5)
        got = lambda: all(self.deliveries("delay-%d" % i, a.delay_topic) for i in range(a.delayed))  # noqa: E731
        if self.drain(limit, got):
            self.drain(min(time.time() + 2, self.deadline - 15))
        problems, margins = [], []
        for i in range(a.delayed):
            s = sent[i]
            ds = self.deliveries("delay-%d" % i)
            due = self.delay_of(s["level"])
            if len(ds) != 1:
                problems.append("delay-%d (level %d = %d ms): %d deliveries, expected 1" % (i, s["level"], due, len(ds)))
            if not ds:
                continue
            d = ds[0]
            waited = int(round((d["at"] - s["ack_at"]) * 1000))
            margins.append(waited - due)
            if d["topic"] != a.delay_topic:
                problems.append("delay-%d: topic %r, expected %r" % (i, d["topic"], a.delay_topic))
            if d["body"] != "delayed-body-%d" % i:
                problems.append("delay-%d: body %r" % (i, d["body"]))
            if d["msg_id"] != s["msg_id"]:
                problems.append("delay-%d: msg id %s, expected the send result's %s" % (i, d["msg_id"], s["msg_id"]))
            if waited < due - a.tolerance_ms:
                problems.append("delay-%d: arrived %d ms after the send ack, sooner than level %d = %d ms"
                                % (i, waited, s["level"], due))
            if waited > due + a.due_late_ms:
                problems.append("delay-%d: arrived %d ms after the send ack, more than %d ms after level %d = %d ms "
                                "became due" % (i, waited, a.due_late_ms, s["level"], due))
        self.summary.update({
            "delayed": a.delayed, "delay_levels": self.levels,
            "delayed_received": sum(1 for i in range(a.delayed) if self.deliveries("delay-%d" % i)),
            "delay_min_margin_ms": min(margins) if margins else None,
            "delay_max_late_ms": max(margins) if margins else None,
        })
        self.log("delay: %d/%d received; arrival minus due: min %s ms, max %s ms"
                 % (self.summary["delayed_received"], a.delayed, self.summary["delay_min_margin_ms"],
                    self.summary["delay_max_late_ms"]))
        if problems:
            raise ScenarioError("delay: %d problem(s)" % len(problems), problems)

    def stop_children(self):
        for c in self.children:
            c.kill()


def parse_args(argv):
    p = argparse.ArgumentParser(description="Retry / DLQ / delay-level scenario for the PyPI rocketmq 0.4.4 client.")
    p.add_argument("--namesrv", default=os.environ.get("NAMESRV_ADDR", ""))
    p.add_argument("--topic", required=True, help="topic of the retry phase (must exist)")
    p.add_argument("--group", required=True, help="consumer group (fresh); producer group <group>_P")
    p.add_argument("--delay-topic", default="", help="topic of the delay phase (default --topic)")
    p.add_argument("--scenario", choices=["retry", "delay", "both"], default="both")
    p.add_argument("--messages", type=int, default=10, help="retry-phase messages; odd keys fail (default 10)")
    p.add_argument("--max-reconsume", type=int, default=16,
                   help="the group's retryMaxTimes on the broker (set it with mqadmin updateSubGroup -r)")
    p.add_argument("--delay-table", default=DEFAULT_TABLE, help="the broker's messageDelayLevel")
    p.add_argument("--delay-levels", default="3,4", help="levels of the delay phase (default 3,4)")
    p.add_argument("--delayed", type=int, default=6, help="delay-phase messages (default 6)")
    p.add_argument("--send-gap-ms", type=int, default=300,
                   help="pause between the retry-phase sends, so each pull carries one message (default 300)")
    p.add_argument("--tolerance-ms", type=int, default=50)
    p.add_argument("--retry-late-ms", type=int, default=1500)
    p.add_argument("--due-late-ms", type=int, default=1000)
    p.add_argument("--fail-by", choices=["status", "raise"], default="status",
                   help="return RECONSUME_LATER (default) or raise from the wrapper's callback")
    p.add_argument("--timeout", type=float, default=58)
    p.add_argument("--log-dir")
    p.add_argument("--keep-logs", action="store_true")
    p.add_argument("--verbose", "-v", action="store_true")
    a = p.parse_args(argv)
    check_namesrv(p, a)
    a.delay_topic = a.delay_topic or a.topic
    for what, name in (("topic", a.topic), ("group", a.group), ("delay topic", a.delay_topic)):
        if not NAME_RE.match(name):
            p.error('%s "%s" has characters RocketMQ rejects' % (what, name))
    if a.messages < 2 or a.max_reconsume < 1 or a.delayed < 1:
        p.error("--messages >= 2, --max-reconsume >= 1, --delayed >= 1")
    try:
        table = parse_table(a.delay_table)
        levels = [int(x) for x in a.delay_levels.split(",")]
    except ValueError as e:
        p.error(str(e))
    if any(l < 1 or l > len(table) for l in levels):
        p.error("--delay-levels must be levels 1..%d" % len(table))
    return a


def parse_child_args(argv):
    p = child_arg_parser("pyrocketmq_retry.py --child")
    p.add_argument("--delay-topic", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--fail-by", default="status")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:], Scenario, parse_args, parse_child_args, child_produce, child_consume))
