"""Keystroke echo latency under ``cat``: a Terminal in a real kernel vs terminado's websocket.

    .venv/bin/python bench/latency.py [--keys 500] [--gap-ms 0] [--json bench/results.json]

Each key is sent once the previous one's echo arrived (after ``--gap-ms``), and timed from send
to the echo arriving at the client. The kernel's client is the protocol-level page of
tests/protocol_client.py (it acknowledges output as xterm.js does); terminado's is a websocket.
Keys alternate between the two, so both see the same machine load.
"""

from __future__ import annotations

import string
import sys
import time

from _common import Reporter, Terminado, jupyter_server, kernel, machine, open_terminal, parser, percentile


class KernelCat:
    def __init__(self, page) -> None:
        self.page = page
        comm = open_terminal(page, ["cat"])
        self.view = page.attach(comm)
        page.read_until(self.view, b"")  # our reset

    def key(self, ch: str) -> float:
        page, view = self.page, self.view
        start = time.perf_counter()
        view.send({"type": "input", "data": ch})
        while True:
            msg, buffers = page.next_message(view, 10)
            if msg.get("type") == "output":
                view.send({"type": "ack", "offset": msg["offset"] + len(buffers[0])})
                if ch.encode() in buffers[0]:
                    return time.perf_counter() - start


class TerminadoCat:
    def __init__(self, server: dict) -> None:
        self.term = Terminado(server)
        self.term.send("exec cat\r")
        self.term.read_until("exec cat\r\n")

    def key(self, ch: str) -> float:
        start = time.perf_counter()
        self.term.send(ch)
        self.term.read_until(ch, timeout=10)
        return time.perf_counter() - start


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--gap-ms", type=float, default=0.0, help="pause between a key's echo and the next key")
    args = p.parse_args()
    with jupyter_server() as server, kernel() as (_km, _kc, page):
        ours, theirs = KernelCat(page), TerminadoCat(server)
        for _ in range(10):  # warm up both paths
            ours.key("w")
            theirs.key("w")
        k, t = [], []
        letters = string.ascii_lowercase
        for i in range(args.keys):
            ch = letters[i % 26]
            if i % 64 == 63:
                ch = "\r"  # keep cat's line short
            for side, out in ((ours, k), (theirs, t)) if i % 2 else ((theirs, t), (ours, k)):
                time.sleep(args.gap_ms / 1000)
                out.append(side.key(ch if ch != "\r" else "\r") * 1000)
        theirs.term.close()
        page.execute("t.close()")
    r = Reporter("latency")
    for q in (50, 99):
        r.line(f"latency_p{q}", percentile(k, q), "ms", "terminado", percentile(t, q),
               note=f"goal <= {1 if q == 50 else 5} ms")
    r.save(args.json, {**machine(), "keys": args.keys, "gap_ms": args.gap_ms,
                       "kernel_ms": sorted(k), "terminado_ms": sorted(t)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
