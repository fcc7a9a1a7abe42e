"""Keystroke echo latency under ``cat``: a Terminal in a real kernel vs terminado's websocket.

    .venv/bin/python bench/latency.py [--keys 500] [--gap-ms 0] [--json bench/results.json]

Each key is sent once the previous one's echo arrived (after ``--gap-ms``), and timed from send
to the echo arriving at the client. The kernel's client is the protocol-level page of
harness/protocol_client.py, acknowledging output as js/src/widget.ts does; terminado's is a websocket.
Keys rotate between the sides, so all see the same machine load. A third side, a bare comm
echoing each message from its handler in the same kernel, shows the floor ipykernel's comm path
sets for any widget.
"""

from __future__ import annotations

import string
import sys
import time

from _common import Reporter, Terminado, jupyter_server, kernel, machine, open_terminal, parser, percentile


class KernelCat:
    """A view that acknowledges as js/src/widget.ts does: at 512 KiB or 10 ms after a parse.

    Acknowledging every echo at once instead puts an ack ahead of each key in the kernel's
    queue (about +1.5 ms per key), which the real page does not do.
    """

    ACK_BYTES, ACK_DELAY = 512 * 1024, 0.010

    def __init__(self, page) -> None:
        self.page = page
        comm = open_terminal(page, ["cat"])
        self.view = page.attach(comm)
        page.read_until(self.view, b"")  # our reset
        self.parsed = self.acked = 0
        self.parsed_at = 0.0  # when output beyond `acked` was first parsed

    def _ack_due(self) -> None:
        now = time.perf_counter()
        if self.parsed > self.acked and (
            self.parsed - self.acked >= self.ACK_BYTES or now - self.parsed_at >= self.ACK_DELAY
        ):
            self.view.send({"type": "ack", "offset": self.parsed})
            self.acked = self.parsed

    def key(self, ch: str) -> float:
        page, view = self.page, self.view
        self._ack_due()
        start = time.perf_counter()
        view.send({"type": "input", "data": ch})
        while True:
            msg, buffers = page.next_message(view, 10)
            if msg.get("type") == "output":
                if self.parsed == self.acked:
                    self.parsed_at = time.perf_counter()
                self.parsed = msg["offset"] + len(buffers[0])
                self._ack_due()
                if ch.encode() in buffers[0]:
                    return time.perf_counter() - start


class CommEcho:
    """The floor under any widget: a bare comm in the same kernel that echoes each message back
    from its handler (no pty, no threads), through the same client and kernel path."""

    def __init__(self, page) -> None:
        from harness.protocol_client import View

        self.page = page
        page.execute("from comm import create_comm\n"
                     "echo = create_comm(target_name='bench-echo')\n"
                     "echo.on_msg(lambda msg: echo.send(msg['content']['data']))")
        comm_id = next(c for c, o in page.comm_opens.items() if o.get("target_name") == "bench-echo")
        self.view = View(page.kc, comm_id)
        page.views.append(self.view)

    def key(self, ch: str) -> float:
        start = time.perf_counter()
        self.view.send({"type": "input", "data": ch})
        while self.page.next_message(self.view, 10)[0].get("data") != ch:
            pass
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
        ours, theirs, floor = KernelCat(page), TerminadoCat(server), CommEcho(page)
        for _ in range(10):  # warm up every path
            for side in (ours, theirs, floor):
                side.key("w")
        k, t, f = [], [], []
        letters = string.ascii_lowercase
        for i in range(args.keys):
            ch = letters[i % 26]
            if i % 64 == 63:
                ch = "\r"  # keep cat's line short
            sides = [(ours, k), (theirs, t), (floor, f)]
            for side, out in sides[i % 3 :] + sides[: i % 3]:
                time.sleep(args.gap_ms / 1000)
                out.append(side.key(ch if ch != "\r" else "\r") * 1000)
        theirs.term.close()
        page.execute("t.close()")
    r = Reporter("latency")
    for q in (50, 99):
        r.line(f"latency_p{q}", percentile(k, q), "ms", "terminado", percentile(t, q),
               note=f"goal <= {1 if q == 50 else 5} ms")
        r.line(f"comm_floor_p{q}", percentile(f, q), "ms", "terminado", percentile(t, q),
               note="a bare comm echo in the same kernel: what any widget pays")
    r.save(args.json, {**machine(), "keys": args.keys, "gap_ms": args.gap_ms,
                       "kernel_ms": sorted(k), "terminado_ms": sorted(t),
                       "comm_floor_ms": sorted(f)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
