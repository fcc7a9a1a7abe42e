"""How long a terminal's view stays frozen while the kernel's main thread holds the GIL.

    .venv/bin/python bench/gil_hold.py [--sizes 22 24 25] [--rounds 2]

A real kernel (jupyter_client) runs a Terminal whose program prints a line every 50 ms; a
protocol-level view (harness/protocol_client.py, attached over the comm, acknowledging output)
notes when each output chunk arrives. The kernel then runs a cell whose ``re`` match backtracks
(``(a+)+b`` against ``"a" * size``: C code that never releases the GIL), and, for comparison, a
cell that sleeps as long (``time.sleep`` releases it). Printed for each: how long the cell held
the main thread (measured in the kernel), and the longest gap between two output chunks the view
saw meanwhile: the time the view was frozen.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time

from harness.protocol_client import Page, View, start_kernel

TICKER = "import time\nwhile True:\n    print(time.time(), flush=True)\n    time.sleep(0.05)\n"


def run_cell(page: Page, view: View, code: str) -> tuple[float, float]:
    """Run ``code``; return (the longest gap between output chunks meanwhile, the cell's own time)."""
    msg_id = page.kc.execute(code, user_expressions={"held": "held"})
    arrivals = [time.monotonic()]
    reply = None
    while reply is None:
        page.pump(0.005)
        while True:
            try:
                msg, buffers = view.inbox.get_nowait()
            except queue.Empty:
                break
            if msg.get("type") == "output":
                arrivals.append(time.monotonic())
                view.send({"type": "ack", "offset": msg["offset"] + len(buffers[0])})
        try:
            shell = page.kc.get_shell_msg(timeout=0)
            if shell["parent_header"].get("msg_id") == msg_id:
                reply = shell
        except queue.Empty:
            pass
    if reply["content"]["status"] != "ok":
        raise RuntimeError(reply["content"])
    held = float(reply["content"]["user_expressions"]["held"]["data"]["text/plain"])
    arrivals.append(time.monotonic())
    return max(b - a for a, b in zip(arrivals, arrivals[1:])), held


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sizes", type=int, nargs="+", default=[22, 24, 25], help="lengths of the backtracking match")
    args.add_argument("--rounds", type=int, default=2)
    options = args.parse_args()
    km, kc = start_kernel()
    try:
        page = Page(kc)
        page.execute(
            f"import sys, time, re\nfrom conpty_widget import Terminal\nt = Terminal([sys.executable, '-c', {TICKER!r}])"
        )
        view = page.attach(page.terminal_comm())
        page.read_until(view, b"\n")  # the view's screen, then the ticker's lines
        print(f"{'cell':<28} {'held (s)':>9} {'view frozen (s)':>16}")
        for _ in range(options.rounds):
            for size in options.sizes:
                hold = (
                    f"start = time.perf_counter(); re.match(r'(a+)+b', 'a' * {size}); "
                    "held = time.perf_counter() - start"
                )
                frozen, held = run_cell(page, view, hold)
                print(f"{'re backtracking, ' + str(size):<28} {held:>9.2f} {frozen:>16.2f}", flush=True)
                frozen, slept = run_cell(
                    page, view, f"start = time.perf_counter(); time.sleep({held:.2f}); held = time.perf_counter() - start"
                )
                print(f"{'time.sleep (control)':<28} {slept:>9.2f} {frozen:>16.2f}", flush=True)
        page.execute("t.close()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
