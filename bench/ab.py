"""Before/after: the kernel flood of throughput.py, alternating between kernels that import
conpty_widget from different trees (``PYTHONPATH``), all in one run.

    git archive <commit> conpty_widget | tar -x -C /tmp/before; cp -r conpty_widget/static /tmp/before/conpty_widget/
    .venv/bin/python bench/ab.py --mb 30 --runs 3 /tmp/before "$PWD"

A tree needs its front end only for the browser; here the page is the protocol-level one.
"""

from __future__ import annotations

import os
import sys

from _common import median, parser, percentile
from throughput import kernel_flood


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--mb", type=float, default=30)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--echo", type=int, default=0, help="keystroke echoes to time per tree (0: none)")
    p.add_argument("trees", nargs="+", help="directories holding a conpty_widget package")
    args = p.parse_args()
    from jupyter_client.manager import start_new_kernel

    from harness.protocol_client import Page

    kernels = []
    saved = os.environ.get("PYTHONPATH")
    try:
        for tree in args.trees:
            os.environ["PYTHONPATH"] = tree
            km, kc = start_new_kernel(kernel_name="python3", extra_arguments=[], startup_timeout=60)
            kernels.append((tree, km, kc, Page(kc)))
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    size = int(args.mb * 1e6)
    results: dict[str, list[float]] = {tree: [] for tree in args.trees}
    echoes: dict[str, list[float]] = {tree: [] for tree in args.trees}
    try:
        for _ in range(args.runs):
            for tree, _km, _kc, page in kernels:
                results[tree].append(kernel_flood(page, size) / 1e6)
        if args.echo:
            from latency import KernelCat

            cats = [(tree, KernelCat(page)) for tree, _km, _kc, page in kernels]
            for _ in range(10):  # warm up
                for _tree, cat in cats:
                    cat.key("w")
            for i in range(args.echo):
                ch = "\r" if i % 64 == 63 else chr(ord("a") + i % 26)  # keep cat's line short
                for tree, cat in cats[i % len(cats):] + cats[: i % len(cats)]:
                    echoes[tree].append(cat.key(ch) * 1000)
    finally:
        for _tree, km, kc, _page in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    for tree in args.trees if args.echo else []:
        print(f"ab_echo[{tree}]: p50 {percentile(echoes[tree], 50):.2f} ms, p99 {percentile(echoes[tree], 99):.2f} ms "
              f"({len(echoes[tree])} keys)")
    if not args.runs:
        return 0
    first = median(results[args.trees[0]])
    for tree in args.trees:
        runs = ", ".join(f"{x:.1f}" for x in results[tree])
        print(f"ab_kernel_flood[{tree}]: {median(results[tree]):.1f} MB/s "
              f"({args.trees[0]} {first:.1f} MB/s, ratio {median(results[tree]) / first:.2f}x)  [runs: {runs}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
