"""How long a terminal's view stays frozen while the kernel's main thread holds the GIL.

    .venv/bin/python bench/gil_hold.py [--sizes 22 24 25] [--rounds 2] [--json bench/results.json]

A real kernel (jupyter_client) runs a Terminal whose program prints a line every 50 ms; a
protocol-level view (harness/protocol_client.py, attached over the comm, acknowledging output)
notes when each output chunk arrives. The kernel then runs a cell whose ``re`` match backtracks
(``(a+)+b`` against ``"a" * size``: C code that never releases the GIL), and, for comparison, a
cell that sleeps as long (``time.sleep`` releases it). Printed for each: how long the cell held
the main thread (measured in the kernel), and the longest gap between two output chunks the view
saw meanwhile: the time the view was frozen.
"""

from __future__ import annotations

import queue
import time

from _common import Reporter, kernel, machine, median, parser

from harness.protocol_client import Page, View

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
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[22, 24, 25], help="lengths of the backtracking match")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    held_by_size: dict[int, list[tuple[float, float, float]]] = {size: [] for size in args.sizes}
    with kernel() as (_km, _kc, page):
        page.execute(
            f"import sys, time, re\nfrom conpty_widget import Terminal\nt = Terminal([sys.executable, '-c', {TICKER!r}])"
        )
        view = page.attach(page.terminal_comm())
        page.read_until(view, b"\n")  # the view's screen, then the ticker's lines
        print(f"{'cell':<28} {'held (s)':>9} {'view frozen (s)':>16}")
        for _ in range(args.rounds):
            for size in args.sizes:
                hold = (
                    f"start = time.perf_counter(); re.match(r'(a+)+b', 'a' * {size}); "
                    "held = time.perf_counter() - start"
                )
                frozen, held = run_cell(page, view, hold)
                print(f"{'re backtracking, ' + str(size):<28} {held:>9.2f} {frozen:>16.2f}", flush=True)
                control, slept = run_cell(
                    page, view, f"start = time.perf_counter(); time.sleep({held:.2f}); held = time.perf_counter() - start"
                )
                print(f"{'time.sleep (control)':<28} {slept:>9.2f} {control:>16.2f}", flush=True)
                held_by_size[size].append((held, frozen, control))
        page.execute("t.close()")
    largest = held_by_size[max(args.sizes)]
    r = Reporter("gil_hold")
    r.line("gil_hold_held", median([h for h, _, _ in largest]), "s", note=f"re backtracking, {max(args.sizes)}")
    r.line("gil_hold_view_frozen", median([f for _, f, _ in largest]), "s", "time.sleep as long",
           median([c for _, _, c in largest]), note="longest gap between output chunks the view saw")
    r.save(args.json, {**machine(), "sizes": args.sizes, "rounds": args.rounds})


if __name__ == "__main__":
    main()
