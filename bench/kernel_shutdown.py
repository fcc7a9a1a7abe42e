"""How long a kernel with terminals takes to shut down, and whether it ends their processes itself.

    .venv/bin/python bench/kernel_shutdown.py [--terminals 1 3 6] [--rounds 2] [--json bench/results.json]

A real kernel (jupyter_client) opens ``n`` terminals, each an interactive bash holding a job
that ignores SIGHUP (the slow case: the job takes the grace periods, ~2 s, before its SIGTERM).
Then a shutdown request, as a server sends it. Printed for each ``n``: the time from the request
to the kernel's exit with a patient kernel manager (``shutdown_wait_time`` 60 s), and, with
jupyter_client's default (SIGTERM to the kernel 2.5 s after the request), how many of the
terminals' processes were still alive when the kernel exited: those the kernel's atexit did not
reach in time, which the watchdog ends later.
"""

from __future__ import annotations

import ast
import os
import time

from _common import Reporter, machine, median, parser

from conpty_widget.backends.posix import _alive
from harness.protocol_client import Page, start_kernel

SETUP = r"""
import time as _time
from conpty_widget import Terminal
from conpty_widget.backends.posix import _session_members

def _job(n):
    t = Terminal(['bash', '--norc', '--noprofile', '-i'], env={'PS1': '$ ', 'HISTFILE': '/dev/null'})
    t.expect(r'\$ $', timeout=30)
    t.write("(trap '' HUP; exec sleep 1001) &\r")
    deadline = _time.monotonic() + 30
    while len(_session_members(t.pid)) < 2 and _time.monotonic() < deadline:
        _time.sleep(0.02)
    return t

ts = [_job(i) for i in range(N)]
"""


def shutdown(terminals: int, wait: float | None) -> tuple[float, int]:
    """(seconds from the shutdown request to the kernel's exit, processes of the terminals left then)."""
    km, kc = start_kernel()
    pids: list[int] = []
    try:
        page = Page(kc)
        page.execute(SETUP.replace("N)", f"{terminals})"), timeout=60 * terminals)
        pids = ast.literal_eval(page.evaluate("sorted(p for t in ts for p in _session_members(t.pid))"))
        kc.stop_channels()
        if wait is not None:
            km.shutdown_wait_time = wait
        start = time.monotonic()
        km.shutdown_kernel(now=False)
        took = time.monotonic() - start
        return took, sum(_alive(p) for p in pids)
    finally:
        for pid in pids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        if km.is_alive():
            km.shutdown_kernel(now=True)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--terminals", type=int, nargs="+", default=[1, 3, 6])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    r = Reporter("kernel_shutdown")
    print(f"{'terminals':>9} {'shutdown (s), patient':>22} {'left at exit, default wait':>27}")
    for n in args.terminals:
        patient = [shutdown(n, 60) for _ in range(args.rounds)]
        default = [shutdown(n, None) for _ in range(args.rounds)]
        print(f"{n:>9} {' / '.join(f'{t:.2f}' for t, _ in patient):>22} "
              f"{' / '.join(str(left) for _, left in default):>27}", flush=True)
        r.line(f"kernel_shutdown_{n}", median([t for t, _ in patient]), "s",
               note=f"{n} terminals with a HUP-ignoring job; left: {[left for _, left in default]} of {2 * n}")
    r.save(args.json, {**machine(), "terminals": args.terminals, "rounds": args.rounds})


if __name__ == "__main__":
    main()
