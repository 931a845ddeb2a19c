#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python `data[key] = value` on faultguard against the original faultguard's
mechanism, `multiprocessing.Manager().dict()`.

Both run inside a faultguard.start() child, as an application would: the
subject is the dictionary launch() receives, storing a small value (pickled
by the assignment); the baseline assigns the same value's pickled bytes to
a Manager dict (one round trip to the manager process, as in the original
faultguard). Runs alternate, RUNS times each after a warm-up.

stdout: table rows `| benchmark | figure | baseline | ratio | goal |` (see
scripts/bench.sh); everything else goes to stderr.

    PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py
"""

import gc
import multiprocessing
import os
import pickle
import statistics
import sys
import time

import faultguard

RUNS = 9
SUBJECT_OPS = 20000
BASELINE_OPS = 500
GOAL_SPEEDUP = 20.0
VALUE = {"cursor": 1234, "zoom": 1.5, "file": "notes.txt"}  # a small value


def per_op_ns(fn, n):
    gc.disable()
    try:
        t = time.perf_counter_ns()
        fn(n)
        return (time.perf_counter_ns() - t) / n
    finally:
        gc.enable()


def figure(values):
    """'median (min-max)' with a unit, as the other benchmarks print it."""
    med, lo, hi = statistics.median(values), min(values), max(values)
    if med >= 10000:
        return "%.1f µs (%.1f-%.1f)" % (med / 1000, lo / 1000, hi / 1000)
    return "%.0f ns (%.0f-%.0f)" % (med, lo, hi)


def breakdown(data):
    """Where the time of one assignment goes (stderr only)."""
    from faultguard import _dict

    raw = pickle.dumps(VALUE)
    fg_set = _dict._fg_set
    handle = data._h  # the call exactly as FaultguardDict makes it
    size_t = _dict._size_t

    def pickling(n):
        for _ in range(n):
            pickle.dumps(VALUE)

    def c_call(n):
        for _ in range(n):
            fg_set(handle, b"bench", raw, size_t(len(raw)))

    for name, fn in (("pickle.dumps", pickling), ("ctypes fg_set call", c_call)):
        ns = statistics.median(per_op_ns(fn, SUBJECT_OPS) for _ in range(5))
        sys.stderr.write("bench_python:   %-20s %6.0f ns\n" % (name, ns))


def launch(data):
    manager = multiprocessing.Manager()
    try:
        shared = manager.dict()
        raw = pickle.dumps(VALUE)

        def subject(n):
            for _ in range(n):
                data["bench"] = VALUE

        def baseline(n):
            for _ in range(n):
                shared["bench"] = raw

        subject(SUBJECT_OPS)
        baseline(BASELINE_OPS)
        s, b = [], []
        for _ in range(RUNS):
            s.append(per_op_ns(subject, SUBJECT_OPS))
            b.append(per_op_ns(baseline, BASELINE_OPS))
        assert data["bench"] == VALUE and pickle.loads(shared["bench"]) == VALUE
    finally:
        manager.shutdown()
    ratio = statistics.median(s) / statistics.median(b)
    sys.stdout.write(
        "| python `data[key] = value` (small value, %d B pickled) | %s | "
        "`Manager().dict()[key] = pickled`: %s | %.3fx (%.1fx faster) | ≤ %.2fx (≥ %.0fx faster) |\n"
        % (len(raw), figure(s), figure(b), ratio, 1 / ratio, 1 / GOAL_SPEEDUP, GOAL_SPEEDUP)
    )
    sys.stdout.flush()
    sys.stderr.write(
        "bench_python: %.1fx faster than the Manager dict%s\n"
        % (1 / ratio, "" if 1 / ratio >= GOAL_SPEEDUP else " (below the goal)")
    )
    breakdown(data)


def rescue(data, exit_code):
    sys.stderr.write("bench_python: the benchmark child failed (exit code %d)\n" % exit_code)


if __name__ == "__main__":
    sys.stderr.write(
        "bench_python: %s %s, %d runs\n" % (sys.executable, sys.version.split()[0], RUNS)
    )
    sys.exit(1 if faultguard.start(launch, rescue) != 0 else 0)
