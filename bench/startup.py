"""Start-up time of a Terminal, and the cost of many idle ones in one kernel.

    .venv/bin/python bench/startup.py [--count 100] [--runs 10] [--idle 5] [--json bench/results.json]

* ``startup``: ``Terminal(bash)`` to its first prompt (seen by ``expect``), timed inside a real
  kernel; baseline: the same bash spawned on a bare pty (os.openpty + subprocess) and read
  until its prompt, in the same kernel. Medians of ``--runs``.
* ``idle``: ``--count`` idle terminals in one kernel: the kernel's CPU over ``--idle`` seconds
  (baseline: the same kernel, same time, before they were created) and its RSS growth per
  terminal (the shells' own memory is reported apart: it is bash's, not ours).
"""

from __future__ import annotations

import sys
import time

import psutil

from _common import Reporter, kernel, machine, parser

SETUP = r"""
import os, subprocess, time, statistics
from conpty_widget import Terminal
ENV = {'PS1': '$ ', 'HISTFILE': '/dev/null'}
BASH = ['bash', '--norc', '--noprofile']

def ours():
    t0 = time.perf_counter()
    t = Terminal(BASH, env=ENV)
    t.expect(r'\$ $', timeout=10)
    dt = time.perf_counter() - t0
    t.close()
    return dt

def bare():
    t0 = time.perf_counter()
    master, slave = os.openpty()
    p = subprocess.Popen(BASH, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         env={**os.environ, **ENV}, close_fds=True)
    os.close(slave)
    out = b''
    while not out.endswith(b'$ '):
        out += os.read(master, 4096)
    dt = time.perf_counter() - t0
    p.kill(); p.wait(); os.close(master)
    return dt
"""


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--idle", type=float, default=5)
    args = p.parse_args()
    with kernel() as (km, _kc, page):
        proc = psutil.Process(km.provisioner.process.pid)
        page.execute(SETUP)
        page.execute("ours(); bare()")  # warm: imports, first fork
        page.execute(f"S = [(ours(), bare()) for _ in range({args.runs})]")
        ours = float(page.evaluate("statistics.median(a for a, b in S)"))
        bare = float(page.evaluate("statistics.median(b for a, b in S)"))

        def cpu_percent(seconds: float) -> float:
            c0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
            time.sleep(seconds)
            return 100 * (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)

        time.sleep(0.5)
        cpu_before = cpu_percent(args.idle)
        rss0 = proc.memory_info().rss
        page.execute(f"TS = [Terminal(BASH, env=ENV) for _ in range({args.count})]\n"
                     "for t in TS: t.expect(r'\\$ $', timeout=30)", timeout=120)
        time.sleep(1)
        rss1 = proc.memory_info().rss
        threads = proc.num_threads()
        children = [c for c in proc.children(recursive=True)]
        child_rss = sum(c.memory_info().rss for c in children if c.is_running())
        cpu_after = cpu_percent(args.idle)
        page.execute("for t in TS: t.close()", timeout=120)
    r = Reporter("startup")
    r.line("startup_to_prompt", ours * 1000, "ms", "bare pty", bare * 1000, note="goal <= 150 ms")
    r.line("idle_cpu", cpu_after, "% of a core", f"kernel alone {cpu_before:.2f} %", None,
           note=f"{args.count} idle terminals, {args.idle:.0f} s; goal ~0 %")
    per = (rss1 - rss0) / args.count / 2**20
    r.line("idle_memory_each", per, "MiB", f"bash itself {child_rss / max(1, len(children)) / 2**20:.2f} MiB each", None,
           note=f"kernel RSS growth / {args.count}; {threads} threads; goal <= 2 MB")
    r.save(args.json, {**machine(), "count": args.count, "runs": args.runs, "threads": threads,
                       "cpu_before": cpu_before, "cpu_after": cpu_after, "startup_ms": ours * 1000, "bare_ms": bare * 1000})
    return 0


if __name__ == "__main__":
    sys.exit(main())
