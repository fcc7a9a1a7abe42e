"""Draw bench/results.png from the figures the scripts saved with ``--json``.

    .venv/bin/python bench/chart.py [--json bench/results.json] [--out bench/results.png]

Left: throughput (MB/s) of this widget beside its baselines. Right: keystroke echo latency
(p50 and p99, ms) beside terminado's. Figures missing from the JSON are left out.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", type=pathlib.Path, default=HERE / "results.json")
    p.add_argument("--out", type=pathlib.Path, default=HERE / "results.png")
    args = p.parse_args()
    data = json.loads(args.json.read_text())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def fig(script: str, name: str) -> dict | None:
        return data.get(script, {}).get("figures", {}).get(name)

    bars: list[tuple[str, float, str]] = []  # label, MB/s, colour
    ours, base = "#1f77b4", "#bbbbbb"
    if f := fig("throughput", "throughput_kernel_vs_raw_pty"):
        bars += [("raw pty\n(os.read)", f["baseline_value"], base)]
    if f := fig("throughput", "throughput_kernel_vs_terminado"):
        bars += [("terminado\n(websocket)", f["baseline_value"], base), ("widget\n(kernel)", f["value"], ours)]
    if f := fig("server_limits", "server_limits_throughput"):
        bars += [("widget via\njupyter server", f["value"], ours)]
    if f := fig("browser", "browser_throughput"):
        bars += [("xterm.js alone\n(Chromium)", f["baseline_value"], base), ("widget in\nJupyterLab", f["value"], ours)]
    if not bars:
        print("no throughput figures in", args.json, file=sys.stderr)
        return 1

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    xs = range(len(bars))
    left.bar(xs, [b[1] for b in bars], color=[b[2] for b in bars])
    left.set_xticks(list(xs), [b[0] for b in bars], fontsize=8)
    left.set_ylabel("MB/s (higher is better)")
    left.set_title("Throughput of a flood (medians)")
    for x, b in zip(xs, bars):
        left.annotate(f"{b[1]:.1f}", (x, b[1]), ha="center", va="bottom", fontsize=8)

    lat = [(q, fig("latency", f"latency_p{q}"), fig("latency", f"comm_floor_p{q}")) for q in (50, 99)]
    lat = [(q, f, floor) for q, f, floor in lat if f]
    if lat:
        width = 0.27
        for i, (q, f, floor) in enumerate(lat):
            series = [(-width, f["baseline_value"], base, "terminado"), (width, f["value"], ours, "widget (kernel)")]
            if floor:
                series.insert(1, (0.0, floor["value"], "#9ecae1", "bare comm echo (ipykernel floor)"))
            for dx, value, colour, label in series:
                right.bar(i + dx, value, width, color=colour, label=label if i == 0 else None)
                right.annotate(f"{value:.2f}", (i + dx, value), ha="center", va="bottom", fontsize=8)
        right.set_xticks(range(len(lat)), [f"p{q}" for q, *_ in lat])
        right.set_ylabel("ms (lower is better)")
        right.set_title("Keystroke echo under cat")
        right.legend(fontsize=8)
    meta = next((v.get("meta", {}) for v in data.values() if v.get("meta")), {})
    date = max((v.get("date", "") for v in data.values()), default="")
    figure.suptitle(f"conpty_widget benchmarks, {date}, {meta.get('nproc', '?')} cores, "
                    f"{meta.get('memory_gib', '?')} GiB (noisy shared machine)", fontsize=10)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
