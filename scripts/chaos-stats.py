#!/usr/bin/env python3
"""Counts of a fault campaign's history (dledger-chaos run ... history.jsonl), for RELIABILITY.md.

    scripts/chaos-stats.py /tmp/dledger-chaos/<seed>/history.jsonl

Prints: the run line, faults started per kind, and per client the sends with their outcomes
(ok, unknown, failed), the terms seen per group and the consumed count. The verdict itself is
the checker's (`dledger-chaos check HISTORY`); this only tallies.
"""
import collections
import json
import sys


def main(path):
    faults = collections.Counter()
    sends = collections.defaultdict(collections.Counter)
    terms = collections.defaultdict(set)
    consumed = 0
    run = None
    first_ms = last_ms = None
    with open(path, encoding="utf-8") as history:
        for line in history:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = e.get("event")
            t = e.get("time_ms", e.get("end_ms"))
            if isinstance(t, int):
                first_ms = t if first_ms is None else min(first_ms, t)
                last_ms = t if last_ms is None else max(last_ms, t)
            if kind == "run" and run is None:
                run = e
            elif kind == "fault" and e.get("phase") == "start":
                faults[e.get("kind", "?")] += 1
            elif kind == "send":
                status = (e.get("outcome") or {}).get("status", "?")
                sends[e.get("client", "?")][status] += 1
            elif kind == "term":
                terms[e.get("broker_group", "?")].add(e.get("term"))
            elif kind == "consumed":
                consumed += 1
    print(f"run: {run}")
    if first_ms is not None:
        print(f"history spans {(last_ms - first_ms) / 60000:.1f} min")
    print(f"faults: {sum(faults.values())} " + ", ".join(f"{k} {n}" for k, n in sorted(faults.items())))
    for client, outcomes in sorted(sends.items()):
        total = sum(outcomes.values())
        parts = ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
        print(f"sends {client}: {total} ({parts})")
    for group, seen in sorted(terms.items()):
        print(f"terms {group}: {len(seen)}")
    print(f"consumed: {consumed}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
