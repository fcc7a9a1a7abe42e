"""Memory growth while ``yes`` floods a terminal whose client never acknowledges (or never reads).

    .venv/bin/python bench/flood_memory.py [--seconds 10] [--json bench/results.json]

Ours: a Terminal in a real kernel, a protocol-level page that reads every message but never
acknowledges; the kernel's RSS growth (peak minus before). Baseline: terminado in a jupyter
server whose websocket client never reads; the server's RSS growth. Both floods run at once.
"""

from __future__ import annotations

import sys
import time

import psutil

from _common import Reporter, Terminado, jupyter_server, kernel, machine, open_terminal, parser


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    mib = 2**20
    with jupyter_server() as server, kernel() as (km, _kc, page):
        kproc = psutil.Process(km.provisioner.process.pid)
        sproc = psutil.Process(server.proc.pid)
        comm = open_terminal(page)
        view = page.attach(comm)
        page.read_until(view, b"$ ")
        term = Terminado(server)
        time.sleep(0.5)
        k0, s0 = kproc.memory_info().rss, sproc.memory_info().rss
        kpeak, speak = k0, s0
        view.send({"type": "input", "data": "yes\r"})
        term.send("yes\r")
        received = 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            if page.pump(0.05):
                while not view.inbox.empty():
                    msg, buffers = view.inbox.get()
                    if msg.get("type") == "output":
                        received += len(buffers[0])
            kpeak = max(kpeak, kproc.memory_info().rss)
            speak = max(speak, sproc.memory_info().rss)
        sent_total = int(page.evaluate("t._session._flow.offset"))
        page.execute("t.close()")
        term.close()
    r = Reporter("flood_memory")
    r.line("flood_memory_growth", (kpeak - k0) / mib, "MiB", "terminado", (speak - s0) / mib, note="goal <= 20 MB")
    print(f"# {args.seconds:.0f} s of yes: our client received {received} bytes un-acknowledged "
          f"(the session sent {sent_total} then paused the child)")
    r.save(args.json, {**machine(), "seconds": args.seconds, "received_unacked": received})
    return 0


if __name__ == "__main__":
    sys.exit(main())
