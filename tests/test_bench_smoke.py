"""The bench/ scripts still run: each once with a tiny size, all at once (they are not timed here).

Speed is measured by the scripts themselves (bench/RESULTS.md), never asserted in tests.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

# The scripts run at once, beside the other suites: on a loaded 2-core machine the slowest takes
# minutes. The deadline below is a hang guard, not a measure.
HANG_GUARD = 600
pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="the benchmarks run on POSIX"),
              pytest.mark.timeout(HANG_GUARD + 60)]

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"
CHROMIUM = "/usr/bin/chromium"

# script -> (tiny arguments, {tmp} standing for a temporary directory; figures it must print)
SCRIPTS = {
    "throughput": (["--mb", "0.3", "--runs", "1"], ["throughput_raw_pty", "throughput_kernel_vs_terminado", "throughput_kernel_vs_raw_pty"]),
    "latency": (["--keys", "20"], ["latency_p50", "latency_p99", "comm_floor_p50", "comm_floor_p99"]),
    "flood_memory": (["--seconds", "1"], ["flood_memory_growth"]),
    "server_limits": (["--mb", "0.5"], ["server_limits_lost_bytes", "server_limits_rate_exceeded", "server_limits_throughput"]),
    "browser": (["--mb", "0.3", "--runs", "1", "--trace", "{tmp}/trace"], ["browser_throughput", "browser_echo_mid_flood"]),
    "startup": (["--count", "3", "--runs", "2", "--idle", "0.5"], ["startup_to_prompt", "idle_cpu", "idle_memory_each"]),
    "typing_latency": (["--keys", "5", "--rounds", "1", "--protocol-keys", "0"],  # latency.py runs above
                       [f"typing_{side}_p{q}" for side in ("widget", "terminado", "bare") for q in (50, 90, 99)]),
    "gil_hold": (["--sizes", "16", "--rounds", "1"], ["gil_hold_held", "gil_hold_view_frozen"]),
}
BROWSER = {"browser", "typing_latency"}  # the scripts that need Chromium
LINE = re.compile(r"^(\w+): (-?[\d.]+) [^(\n]*(\(.*\))?", re.M)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, pathlib.Path]]:
    """Start every script at once, then collect them: the whole smoke run takes as long as the slowest."""
    tmp = tmp_path_factory.mktemp("bench")
    procs = {}
    for name, (args, _) in SCRIPTS.items():
        if name in BROWSER and not os.path.exists(CHROMIUM):
            continue
        out = tmp / f"{name}.json"
        args = [a.replace("{tmp}", str(tmp)) for a in args]
        procs[name] = (subprocess.Popen([sys.executable, str(BENCH / f"{name}.py"), *args, "--json", str(out)],
                                        cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL), out)
    results = {}
    deadline = time.monotonic() + HANG_GUARD
    for name, (proc, out) in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.terminate()  # the scripts stop their servers and kernels on SIGTERM
            try:
                stdout, stderr = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
        results[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out)
    return results


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script_measures_and_prints_its_figures(runs, name):
    if name in BROWSER and not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    done, out = runs[name]
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
    printed = {m.group(1) for m in LINE.finditer(done.stdout)}
    for figure in SCRIPTS[name][1]:
        assert figure in printed, f"{figure} missing from:\n{done.stdout}"
    saved = json.loads(out.read_text())[name]["figures"]
    assert set(SCRIPTS[name][1]) <= set(saved)
    if name == "browser":  # --trace: both sides recorded and summarized
        for side in ("local", "widget"):
            assert re.search(rf"^# trace {side}.json: main thread busy \d+ of \d+ ms; favicon requests \d+",
                             done.stdout, re.M), done.stdout


def test_chart_draws_a_png(runs, tmp_path):
    merged = {}
    for _, out in runs.values():
        if out.exists():
            merged.update(json.loads(out.read_text()))
    (tmp_path / "r.json").write_text(json.dumps(merged))
    done = subprocess.run([sys.executable, str(BENCH / "chart.py"), "--json", str(tmp_path / "r.json"),
                           "--out", str(tmp_path / "r.png")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
