#!/usr/bin/env python3
"""Chaos workload for the PyPI ``rocketmq`` 0.4.4 wheel (rocketmq-client-cpp): a
producer that a fault campaign runs as a child process while it kills, pauses
and partitions brokers.

    compat/.venv/bin/python compat/pyrocketmq_chaos.py --namesrv "127.0.0.1:9876;127.0.0.2:9876" \\
        --topic T --client p2 --group G [--duration 60] [--interval-ms 20]

Sends one message at a time, keys <client>-0, <client>-1, ..., 3 s send
timeout, with no retry inside the client: send_sync cannot be told (the C API
has no retry setting and the C++ producer makes up to 5 attempts), so each
message goes through send_orderly(retry_times=0), exactly one attempt, to
queue i % n (the same round robin). Each send call prints one JSON line on
stdout, the campaign history's `send` event (times in epoch ms):
  {"event":"send","client":"p2","producer":"python","key":"p2-7","topic":"T",
   "start_ms":..,"end_ms":..,"retries":0,"outcome":{"status":"ok","queue_offset":31}}
The client exposes neither broker name, queue id nor offset msgId (its msg_id
is the client-made UNIQ_KEY), so these are left out. Anything else is
{"status":"unknown","reason":..}: after an attempt the client's error never
says whether a broker refused the message, so "failed" never occurs.

The producer runs in a child process (``--child``) because a send blocks in C
and cannot be interrupted; this parent prints the lines. A send that has not
returned after 10 s is recorded unknown, its child killed and a new one started
with the next key. Stops after --duration s, or on SIGTERM/SIGINT: no new send,
the one in flight gets up to 5 s, the producer is shut down (at most 4 s more),
exit 0. Logs go to stderr; the C++ client's to a scratch HOME (or --log-dir).
Exit codes: 0 ok, 1 unexpected error, 2 usage/setup error.
"""

import argparse
import ctypes
import json
import os
import queue
import shutil
import signal
import sys
import threading
import time

from common import (CLIENT, EXIT_USAGE, NAME_RE, ScenarioBase, ScenarioError, check_namesrv, child_arg_parser,
                    emit, hard_exit, start_producer)

SEND_LIMIT_S = 10
STOP_GRACE_S = 5
SHUTDOWN_LIMIT_S = 4
FAILURE_PAUSE_S = 0.1


def now_ms():
    return int(time.time() * 1000)


def child_produce(a):
    """Sends from index a.first until a.until (epoch s) or a signal, reporting each send."""
    from rocketmq.client import Message, SendStatus

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    try:  # end with the parent even if it is SIGKILLed (PR_SET_PDEATHSIG)
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass
    producer = start_producer(a, group=a.group)
    i = a.first
    while not stop and time.time() < a.until:
        key = "%s-%d" % (a.client, i)
        msg = Message(a.topic)
        msg.set_keys(key)
        msg.set_body("%s from %s chaos" % (key, CLIENT))
        start = now_ms()
        emit({"kind": "begin", "index": i, "start_ms": start})
        try:
            # The wrapper's default selector picks queue i % n.
            res = producer.send_orderly(msg, i, retry_times=0)
            if res.status == SendStatus.OK:
                outcome = {"status": "ok", "queue_offset": int(res.offset)}
            else:
                outcome = {"status": "unknown", "reason": "send status %s" % res.status.name}
        except Exception as e:  # ProducerSendOrderlyFailed: no route, refused, timeout, connection
            # The message is the C++ exception's, then ",error:-1,in file <source> line:N".
            reason = "%s: %s" % (type(e).__name__, str(e).split(",error:")[0].strip(" ,"))
            outcome = {"status": "unknown", "reason": reason[:200]}
        emit({"kind": "sent", "index": i, "start_ms": start, "end_ms": now_ms(), "outcome": outcome})
        i += 1
        pause_until = time.time() + max(a.interval_ms / 1000.0, 0 if outcome["status"] == "ok" else FAILURE_PAUSE_S)
        while not stop and time.time() < pause_until:
            time.sleep(min(0.02, max(0.0, pause_until - time.time())))
    hard_exit(producer.shutdown, 0)


class Chaos(ScenarioBase):
    SCRIPT = __file__

    def __init__(self, a):
        a.timeout = a.duration  # ScenarioBase's deadline; this script keeps its own clock
        ScenarioBase.__init__(self, a)
        self.LOG_TAG = "%s chaos %s" % (CLIENT, a.client)
        self.end_at = self.started + a.duration
        self.stop_at = None
        self.next_index = 0
        self.counts = {"ok": 0, "unknown": 0, "failed": 0}

    def request_stop(self, signum, _frame):
        if self.stop_at is None:
            self.stop_at = time.time()
            self.log("%s: stopping" % signal.Signals(signum).name)

    def print_send(self, index, start_ms, end_ms, outcome):
        a = self.a
        outcome = dict(status=outcome["status"], **{k: v for k, v in outcome.items() if k != "status"})
        sys.stdout.write(json.dumps({
            "event": "send", "client": a.client, "producer": "python", "key": "%s-%d" % (a.client, index),
            "topic": a.topic, "start_ms": start_ms, "end_ms": end_ms, "retries": 0, "outcome": outcome},
            separators=(",", ":")) + "\n")
        sys.stdout.flush()
        self.counts[outcome["status"]] += 1
        self.next_index = index + 1

    def run(self):
        a = self.a
        self.log("rocketmq 0.4.4, nameserver %s, topic %s, group %s, %gs; C++ logs in %s/logs/rocketmq-cpp"
                 % (a.namesrv, a.topic, a.group, a.duration, self.log_home))
        self.load_client()
        self.probe_nameserver(3.0)
        first = True
        while self.stop_at is None and time.time() < self.end_at:
            started = self.run_child()
            if not started and first:
                raise ScenarioError("the producer did not start: %s" % ("; ".join(self.child_errors) or "no report"),
                                    code=EXIT_USAGE)
            first = False
            time.sleep(FAILURE_PAUSE_S if started else 1.0)
        self.log("done: %(ok)d ok, %(unknown)d unknown, %(failed)d failed" % self.counts)

    def run_child(self):
        """Runs one producer child to its end, printing its sends; True if its producer started."""
        a = self.a
        proc = self.spawn_child(["produce", "--namesrv", a.namesrv, "--topic", a.topic, "--group", a.group,
                                 "--client", a.client, "--first", str(self.next_index),
                                 "--until", repr(self.end_at), "--interval-ms", str(a.interval_ms)])
        lines = queue.Queue()

        def pump():
            for raw in proc.stdout:
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        started, inflight, signalled, why = False, None, False, None
        while True:
            try:
                raw = lines.get(timeout=0.1)
            except queue.Empty:
                raw = ""
            if raw is None:
                break
            obj = self.read_report("producer", raw) if raw else None
            kind = obj and obj.get("kind")
            if kind == "started":
                started = True
            elif kind == "begin":
                inflight = obj
            elif kind == "sent":
                inflight = None
                self.print_send(obj["index"], obj["start_ms"], obj["end_ms"], obj["outcome"])
            elif kind == "error":
                self.log("producer: %s" % obj.get("error"))
            now = time.time()
            if self.stop_at is not None and not signalled:
                proc.send_signal(signal.SIGTERM)
                signalled = True
            if inflight is not None and now > inflight["start_ms"] / 1000.0 + SEND_LIMIT_S:
                why = "no answer within %d s (producer process killed)" % SEND_LIMIT_S
            elif inflight is not None and self.stop_at is not None and now > self.stop_at + STOP_GRACE_S:
                why = "no answer within %d s of the stop signal" % STOP_GRACE_S
            elif now > min(self.end_at, self.stop_at or self.end_at) + STOP_GRACE_S + SHUTDOWN_LIMIT_S:
                why = "producer shutdown did not finish in time"
            if why:
                self.log(why)
                break
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if inflight is not None:
            reason = why or "producer process died during the send (exit code %s)" % proc.returncode
            self.print_send(inflight["index"], inflight["start_ms"], now_ms(), {"status": "unknown", "reason": reason})
        return started


def parse_args(argv):
    p = argparse.ArgumentParser(description="Chaos workload producer for the PyPI rocketmq 0.4.4 client.")
    p.add_argument("--namesrv", default=os.environ.get("NAMESRV_ADDR", ""),
                   help='nameserver address(es), ";"-separated (default: env NAMESRV_ADDR)')
    p.add_argument("--topic", required=True, help="topic to send to (must already exist)")
    p.add_argument("--client", required=True, help="client name written in every line; keys are NAME-<i>")
    p.add_argument("--group", required=True, help="producer group")
    p.add_argument("--duration", type=float, default=60, help="stop sending after S seconds (default 60)")
    p.add_argument("--interval-ms", type=float, default=20,
                   help="pause after each send (default 20; 100 after a failed one)")
    p.add_argument("--log-dir", help="HOME for the C++ client's logs (default: a temp dir, removed at the end)")
    a = p.parse_args(argv)
    check_namesrv(p, a)
    for what, name in (("topic", a.topic), ("group", a.group)):
        if not NAME_RE.match(name):
            p.error('%s "%s" has characters RocketMQ rejects (allowed: letters, digits, %% | _ -)' % (what, name))
    if a.duration < 0 or a.interval_ms < 0:
        p.error("--duration and --interval-ms must be >= 0")
    return a


def parse_child_args(argv):
    p = child_arg_parser("pyrocketmq_chaos.py --child")
    for flag in ("--group", "--client"):
        p.add_argument(flag, required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--until", type=float, required=True)
    p.add_argument("--interval-ms", type=float, required=True)
    return p.parse_args(argv)


def main(argv):
    if argv[:1] == ["--child"]:
        try:
            child_produce(parse_child_args(argv[1:]))  # ends the process itself
        except Exception as e:
            emit({"kind": "error", "error": "%s: %s" % (type(e).__name__, e)})
            os._exit(1)
    chaos = Chaos(parse_args(argv))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, chaos.request_stop)
    try:
        chaos.run()
        return 0
    except ScenarioError as e:
        chaos.log("setup failed: %s" % e)
        return e.code
    finally:
        if not chaos.a.log_dir:
            shutil.rmtree(chaos.log_home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
