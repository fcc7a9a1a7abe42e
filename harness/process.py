"""A server process for a test or a benchmark: in its own process group (stopped with everything
it started), ready once an HTTP request to it succeeds, and reported with its log if it dies; and
what the tests ask of a process: whether it still runs, which children run a given program."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence

import psutil


@contextlib.contextmanager
def serving(
    argv: Sequence[str],
    ready: str | urllib.request.Request,
    log: pathlib.Path,
    *,
    cwd: pathlib.Path,
    env: Mapping[str, str],
    what: str,
    timeout: float = 60,
) -> Iterator[subprocess.Popen]:
    """Run ``argv`` (output to ``log``) until ``ready`` answers; stop it (SIGTERM to its group, then
    SIGKILL after 20 s; on Windows, ``taskkill /T``: the process and its tree) when the block ends."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited: {log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(ready, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what} did not answer in {timeout:.0f} s: {log.read_text()[-3000:]}") from None
                time.sleep(0.1)
        yield proc
    finally:
        if os.name == "nt":  # no process groups to signal: end the tree
            subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True, check=False)
            proc.wait()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def running(pid: int) -> bool:
    """Whether the process ``pid`` still runs (a zombie has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def children_named(pid: int, name: str) -> list[int]:
    """The children of ``pid`` that run ``name`` (once they have exec'd it)."""
    named = []
    for child in psutil.Process(pid).children():
        try:
            if child.name() == name:
                named.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return named
