"""Shared plumbing of the PyPI ``rocketmq`` 0.4.4 compatibility scripts
(pyrocketmq_scenario.py, pyrocketmq_retry.py and pyrocketmq_chaos.py); what
each script sends and checks stays in its script.

Both scripts run every producer and consumer in a child process of
themselves (``--child ...``): the native client can block inside a C call or
crash at teardown, and a child can always be killed on a deadline. This module
holds:

- the constants: exit codes (0 ok, 1 a check failed, 2 usage/setup error,
  3 time limit), the "@@compat " mark of child reports, name checks;
- the child side: ``emit`` (one JSON report line), ``as_text``, starting a
  producer / creating a push consumer, ``hard_exit`` (shutdown without
  interpreter teardown);
- the parent side: ``ScenarioError``, ``probe_nameserver``, ``ScenarioBase``
  (clock and deadline, stderr log, loading the wheel, spawning children with
  a scratch HOME for the C++ logs, reading their reports, the one-line JSON
  summary on stdout in ``finish``);
- ``check_namesrv`` and ``child_arg_parser`` for argument parsing, and
  ``run_main`` (child dispatch, watchdog, the top-level error handling).

The scripts import it as a sibling module (``from common import ...``):
Python puts the running script's directory first on sys.path.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLIENT = "pyrocketmq"
CLIENT_VERSION = "0.4.4"
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
MARK = "@@compat "
SEND_STALL_S = 15
NAME_RE = re.compile(r"^[%|a-zA-Z0-9_-]{1,100}$")


def tag_for(i):
    return "TagA" if i % 2 == 0 else "TagB"


# --------------------------------------------------------------------------
# Children: thin wrappers around the client API, reporting JSON lines.
# --------------------------------------------------------------------------

_out_lock = threading.Lock()


def emit(obj):
    line = MARK + json.dumps(obj, sort_keys=True) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def as_text(v):
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def start_producer(a, group=None):
    """A started producer of group `group` (default <a.group>_P), 3 s send
    timeout; reports "started"."""
    from rocketmq.client import Producer

    producer = Producer(group or "%s_P" % a.group)
    producer.set_namesrv_addr(a.namesrv)
    producer.set_timeout(3000)
    producer.start()
    emit({"kind": "started"})
    return producer


def push_consumer(a):
    """A push consumer of group a.group, not yet started."""
    from rocketmq.client import PushConsumer

    consumer = PushConsumer(a.group)
    consumer.set_namesrv_addr(a.namesrv)
    # One consume thread and one message per callback: deliveries reach us in
    # the order the client pulled them.
    consumer.set_thread_count(1)
    consumer.set_message_batch_max_size(1)
    return consumer


def hard_exit(shutdown, code, closed_event=False):
    try:
        shutdown()
        if closed_event:
            emit({"kind": "closed"})
    except Exception as e:
        emit({"kind": "error", "error": "shutdown: %s: %s" % (type(e).__name__, e)})
        code = code or 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the wrapper's __del__ would shut down and
    # destroy the native objects a second time.
    os._exit(code)


# --------------------------------------------------------------------------
# Parent: orchestration.
# --------------------------------------------------------------------------

class ScenarioError(Exception):
    def __init__(self, message, details=None, code=EXIT_CHECK_FAILED):
        Exception.__init__(self, message)
        self.details = details or []
        self.code = code


def probe_nameserver(addrs, limit):
    """One TCP connection to the nameserver; of an "A;B" list, one is enough."""
    errors = []
    for addr in addrs.split(";"):
        host, _, port = addr.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=max(0.2, limit)).close()
            return
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            errors.append("nameserver %s unreachable: %s" % (addr, reason))
    raise ScenarioError("; ".join(errors), code=EXIT_USAGE)


class ScenarioBase(object):
    """One run of a script. Subclasses set SCRIPT (their __file__, run again for
    the children), LOG_TAG (the stderr prefix) and self.summary, define run(),
    and may override stop_children, on_failure and close_outputs (called by
    finish)."""

    SCRIPT = None
    LOG_TAG = CLIENT

    def __init__(self, a):
        self.a = a
        self.started = time.time()
        self.deadline = self.started + a.timeout
        self.phase = "setup"
        self.summary = {}
        self.log_home = a.log_dir or tempfile.mkdtemp(prefix="compat-cpp-home-")
        self.child_errors = []
        self.finish_lock = threading.Lock()
        self.finished = False

    def log(self, msg):
        sys.stderr.write("[%s %6.1fs] %s\n" % (self.LOG_TAG, time.time() - self.started, msg))
        sys.stderr.flush()

    def remaining(self):
        return self.deadline - time.time()

    def load_client(self):
        self.phase = "import-client"
        try:
            import rocketmq.client  # noqa: F401  (loads the bundled librocketmq.so)
        except Exception as e:
            raise ScenarioError("cannot load the rocketmq wheel (%s: %s); run scripts/compat-install.sh and use "
                                "compat/.venv/bin/python" % (type(e).__name__, e), code=EXIT_USAGE)

    def probe_nameserver(self, limit):
        self.phase = "probe-nameserver"
        probe_nameserver(self.a.namesrv, limit)

    # -- child processes ---------------------------------------------------

    def spawn_child(self, args, **popen_args):
        """Starts this script as `--child ARGS`, stdout piped."""
        env = dict(os.environ)
        # The C++ client writes its logs to $HOME/logs/rocketmq-cpp/ (and a
        # snapshot dir below $HOME): keep them in a scratch dir.
        env["HOME"] = self.log_home
        cmd = [sys.executable, os.path.abspath(self.SCRIPT), "--child"] + args
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, universal_newlines=True, **popen_args)

    def read_report(self, what, raw):
        """One stdout line of child `what`: its report (errors are noted), or
        None (other output is logged)."""
        if raw.startswith(MARK):
            try:
                obj = json.loads(raw[len(MARK):])
            except ValueError:
                return None
            if obj.get("kind") == "error":
                self.child_errors.append("%s: %s" % (what, obj.get("error")))
            return obj
        if raw.strip():
            self.log("%s stdout: %s" % (what, raw.strip()[:300]))
        return None

    # -- the end -------------------------------------------------------------

    def stop_children(self):
        pass

    def on_failure(self):
        pass

    def close_outputs(self):
        pass

    def finish(self, code, reason=None, details=None):
        """Prints the summary as the last stdout line; only the first call counts."""
        with self.finish_lock:
            if self.finished:
                return code
            self.finished = True
        self.stop_children()
        s = self.summary
        s["ok"] = code == EXIT_OK
        s["elapsed_s"] = round(time.time() - self.started, 1)
        if not s["ok"]:
            s["failed_phase"] = self.phase
            s["reason"] = reason
            if details:
                s["details"] = details[:50]
            if os.path.isdir(os.path.join(self.log_home, "logs")):
                s["cpp_log_dir"] = os.path.join(self.log_home, "logs", "rocketmq-cpp")
            self.log('FAILED in phase "%s": %s' % (self.phase, reason))
            for d in (details or [])[:50]:
                self.log("  - " + d)
            self.on_failure()
        else:
            self.log("all checks passed")
        if self.child_errors:
            s["client_errors"] = self.child_errors[:20]
        self.close_outputs()
        sys.stdout.write(json.dumps(s) + "\n")
        sys.stdout.flush()
        if not self.a.log_dir and not self.a.keep_logs:
            has_logs = os.path.isdir(os.path.join(self.log_home, "logs"))
            if s["ok"] or not has_logs:
                shutil.rmtree(self.log_home, ignore_errors=True)
        return code


def check_namesrv(p, a):
    """argparse checks of --namesrv (default: env NAMESRV_ADDR): HOST:PORT, or
    a "HOST:PORT;HOST:PORT" list as RocketMQ takes it."""
    if not a.namesrv:
        p.error("no nameserver: pass --namesrv HOST:PORT or set NAMESRV_ADDR")
    if not re.match(r"^[^:;\s]+:\d+(;[^:;\s]+:\d+)*$", a.namesrv):
        p.error('nameserver address must be HOST:PORT or HOST:PORT;HOST:PORT..., got "%s"' % a.namesrv)


def child_arg_parser(prog):
    """The parser of `--child ARGS`, started: role, --namesrv, --topic."""
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument("role", choices=["produce", "consume"])
    p.add_argument("--namesrv", required=True)
    p.add_argument("--topic", required=True)
    return p


def run_main(argv, scenario_class, parse_args, parse_child_args, child_produce, child_consume):
    """The scripts' main(): `--child produce|consume ...` runs a child, anything
    else a scenario under a watchdog. Returns the exit code."""
    if argv and argv[0] == "--child":
        a = parse_child_args(argv[1:])
        try:
            (child_produce if a.role == "produce" else child_consume)(a)
        except Exception as e:
            emit({"kind": "error", "error": "%s: %s" % (type(e).__name__, e)})
            sys.stdout.flush()
            os._exit(1)
        return 0

    a = parse_args(argv)
    sc = scenario_class(a)

    # Watchdog: whatever happens, the process ends within the time limit.
    def on_deadline():
        code = sc.finish(EXIT_TIMEOUT, "total time limit of %ss reached" % a.timeout)
        os._exit(code)

    timer = threading.Timer(max(0.0, sc.remaining()), on_deadline)
    timer.daemon = True
    timer.start()
    try:
        sc.run()
        code = sc.finish(EXIT_OK)
    except ScenarioError as e:
        code = sc.finish(e.code, str(e), e.details)
    except Exception as e:  # a bug in the script: still report it as JSON
        code = sc.finish(EXIT_CHECK_FAILED, "unexpected error: %s: %s" % (type(e).__name__, e))
    timer.cancel()
    return code
