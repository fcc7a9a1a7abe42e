"""Throughput of a flood: raw pty vs terminado (JupyterLab's terminal) vs a Terminal in a real kernel.

    .venv/bin/python bench/throughput.py [--mb 50] [--runs 3] [--json bench/results.json]

The flood is ``head -c N /dev/zero | tr '\\0' a`` typed into bash. The kernel figure goes through a
real ipykernel (jupyter_client) to a protocol-level page that acknowledges every chunk, as
xterm.js would (harness/protocol_client.py). Medians of ``--runs`` runs, interleaved.
"""

from __future__ import annotations

import sys
import time

from _common import MARK, Reporter, Terminado, flood_cmd, jupyter_server, kernel, machine, median, open_terminal, parser, raw_pty_flood


def kernel_flood(page, size: int) -> float:
    comm = open_terminal(page)
    view = page.attach(comm)
    page.read_until(view, b"$ ")
    start = time.perf_counter()
    view.send({"type": "input", "data": flood_cmd(size) + "\r"})
    out = page.read_until(view, b"\r\n" + MARK, timeout=120)
    elapsed = time.perf_counter() - start
    got = out.count(b"a" * 64) * 64
    page.execute("t.close()")
    page.views.remove(view)
    if got < size - 64 * 200:  # the prompt/echo lines hold a few stray 'a'; the flood is one run
        raise RuntimeError(f"kernel: only about {got} of {size} bytes arrived")
    return size / elapsed


def terminado_flood(server: dict, size: int) -> float:
    term = Terminado(server)
    try:
        start = time.perf_counter()
        term.send(flood_cmd(size) + "\r")
        n = term.read_until("\r\n" + MARK.decode(), timeout=120, count="a")
        elapsed = time.perf_counter() - start
    finally:
        term.close()
    if n < size:
        raise RuntimeError(f"terminado: only {n} of {size} bytes arrived")
    return size / elapsed


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--mb", type=float, default=50, help="flood size in MB (10^6 bytes)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    size = int(args.mb * 1e6)
    raw, term, kern = [], [], []
    with jupyter_server() as server, kernel() as (_km, _kc, page):
        for _ in range(args.runs):
            raw.append(raw_pty_flood(size))
            term.append(terminado_flood(server, size))
            kern.append(kernel_flood(page, size))
    r = Reporter("throughput")
    mb = 1e6
    print(f"# {args.runs} runs of {size} bytes; MB/s each: raw {[round(x / mb, 1) for x in raw]}, "
          f"terminado {[round(x / mb, 1) for x in term]}, kernel {[round(x / mb, 1) for x in kern]}")
    r.line("throughput_raw_pty", median(raw) / mb, "MB/s")
    r.line("throughput_terminado", median(term) / mb, "MB/s", "raw pty", median(raw) / mb)
    r.line("throughput_kernel_vs_terminado", median(kern) / mb, "MB/s", "terminado", median(term) / mb, note="goal >= 1.0x")
    r.line("throughput_kernel_vs_raw_pty", median(kern) / mb, "MB/s", "raw pty", median(raw) / mb, note="goal >= 0.5x")
    r.save(args.json, {**machine(), "mb": args.mb, "runs": args.runs, "runs_mb_s": {
        "raw": [x / mb for x in raw], "terminado": [x / mb for x in term], "kernel": [x / mb for x in kern]}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
