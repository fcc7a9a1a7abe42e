"""Reliability stress: the trials of tests/test_reliability.py, with bigger counts.

    .venv/bin/python bench/stress.py [--trials 100] [--fuzz-examples 5000] [--terminals 200]
                                     [--repeat 3] [--only orphans,fuzz,...]

Prints one line per item: what ran, how many times, the failures (0 expected) and the time.
The checks are the tests' own functions, so a figure here means what the test asserts.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time
import traceback

from harness.protocol_client import Page, start_kernel
from tests import test_reliability as rel


def report(name: str, runs: int, failures: int, seconds: float, detail: str = "") -> None:
    print(f"{name}: {runs} runs, {failures} failures, {seconds:.1f}s{'  ' + detail if detail else ''}", flush=True)


def survivors_line(name: str, results: list[list[int]], seconds: float) -> None:
    left = sum(len(r) for r in results)
    report(name, len(results), sum(1 for r in results if r), seconds, f"({left} surviving processes)")


def orphans(args: argparse.Namespace) -> None:
    n = args.trials
    start = time.monotonic()
    survivors_line("orphans after close()", rel.close_trials(n), time.monotonic() - start)
    km, kc = start_kernel()
    try:
        for how, name in (("close", "orphans after widget close (t.close() in a kernel)"),
                          ("comm_close", "orphans after the page closes the comm")):
            start = time.monotonic()
            results: list[list[int]] = []
            for batch in range(0, n, 20):  # batches keep the kernel's own load moderate
                results += rel.kernel_close_trials(kc, min(20, n - batch), how)
            survivors_line(name, results, time.monotonic() - start)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    for how, name in (("shutdown", "orphans after kernel shutdown"), ("sigkill", "orphans after kernel SIGKILL")):
        start = time.monotonic()
        survivors_line(name, rel.kernel_death_trials(n, how), time.monotonic() - start)


def attempt(name: str, runs: int, fn) -> None:
    """Run ``fn`` ``runs`` times, counting failures (an assertion or an exception)."""
    failures = 0
    start = time.monotonic()
    for _ in range(runs):
        try:
            fn()
        except Exception:
            failures += 1
            traceback.print_exc()
    report(name, runs, failures, time.monotonic() - start)


def fuzz(args: argparse.Namespace) -> None:
    from conpty_widget import Terminal

    t = Terminal(["sh", "-c", "stty raw -echo; echo ready; exec cat"])
    t.expect("ready")
    start = time.monotonic()
    try:
        sent = rel.fuzz_handler(t, args.fuzz_examples)
        report("malformed messages at the handler", sent, 0, time.monotonic() - start)
    except Exception:
        traceback.print_exc()
        report("malformed messages at the handler", args.fuzz_examples * 10, 1, time.monotonic() - start)
    attempt("close() after the fuzz", 1, t.close)


def data_paths(args: argparse.Namespace) -> None:
    km, kc = start_kernel()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            attempt("dropped and repeated chunk, each repaired", args.repeat, lambda: (
                rel.test_a_lost_or_repeated_chunk_is_noticed_and_the_screen_repaired((km, kc), 0),
                rel.test_a_lost_or_repeated_chunk_is_noticed_and_the_screen_repaired((km, kc), 2)))
            attempt("10 MB paste, byte-exact", args.repeat,
                    lambda: rel.test_ten_megabyte_paste_through_the_comm_arrives_byte_exact((km, kc), pathlib.Path(tmp)))
            attempt("1 MB mixed Unicode in and out, no U+FFFD", args.repeat,
                    lambda: rel.test_a_megabyte_of_mixed_unicode_in_and_out_without_replacement_characters(
                        (km, kc), pathlib.Path(tmp)))
            attempt("1000-resize storm, then stty size", args.repeat,
                    lambda: rel.test_a_thousand_resizes_then_stty_reports_the_last((km, kc)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def lifecycle(args: argparse.Namespace) -> None:
    km, kc = start_kernel()
    page = Page(kc)
    try:
        attempt(f"{args.terminals} terminals open/close: fds and threads at baseline", 1,
                lambda: rel.open_close_terminals(km, page, args.terminals))
        attempt("no listening socket", args.repeat, lambda: rel.test_a_terminal_opens_no_listening_socket((km, kc, page)))
        attempt("clean child environment", args.repeat,
                lambda: rel.test_the_childs_environment_is_clean_in_a_real_kernel((km, kc, page)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


ITEMS = {"orphans": orphans, "fuzz": fuzz, "data": data_paths, "lifecycle": lifecycle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100, help="orphan trials per case")
    parser.add_argument("--fuzz-examples", type=int, default=5000, help="hypothesis examples of 10 messages each")
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each data-path and lifecycle check")
    parser.add_argument("--only", default=",".join(ITEMS), help="comma-separated: " + ", ".join(ITEMS))
    args = parser.parse_args()
    for item in args.only.split(","):
        ITEMS[item](args)


if __name__ == "__main__":
    main()
