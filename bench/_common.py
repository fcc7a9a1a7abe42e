"""Shared helpers for the bench/ scripts: reporting, a raw pty, a jupyter server, terminado.

Every script prints one line per figure, ``name: value (baseline value, ratio x)``, and can
merge its figures into a JSON file (``--json``) that ``bench/chart.py`` turns into a PNG.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from harness.jupyter_server import RunningServer, api, running_server

# SIGTERM (timeout, a test's clean-up) unwinds like Ctrl+C, so the servers and kernels we started
# are stopped by their context managers instead of being left behind.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

BASH = ["bash", "--norc", "--noprofile"]
MARK_CMD = "echo END-$((40+2))"  # the shell prints END-42: the echo of the command does not match
MARK = b"END-42"


def flood_cmd(size: int) -> str:
    """The flood of the issue: ``size`` bytes of 'a' in one long line, then the end mark."""
    return f"head -c {size} /dev/zero | tr '\\0' a; echo; {MARK_CMD}"


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--json", type=pathlib.Path, help="merge the figures into this JSON file (for chart.py)")
    return p


@dataclass(frozen=True)
class Shell:
    """What the page benchmarks type into, on one stack: the widget's ``Terminal(...)``; the end
    of the cursor's line at the prompt (the widget's, JupyterLab's terminal's); a command that
    copies its input lines back, like ``cat`` under a tty; the keys that drop the one key typed; and the
    flood command: a file of ``size`` bytes (written where the shell starts), then the end mark."""

    terminal: str
    prompt: str
    cat: str
    clear: str
    flood_file: bool

    def flood(self, size: int, folder: pathlib.Path) -> str:
        if not self.flood_file:
            return flood_cmd(size)
        line = b"a" * 78 + b"\r\n"  # lines: a console re-wraps one long line row by row
        (folder / "flood.txt").write_bytes(line * (size // len(line)))
        return "type flood.txt & echo END-4^2"  # cmd prints END-42; the echo of the command shows 4^2


def shell(stack: str) -> Shell:
    """The shell of ``stack``: bash on Linux; cmd.exe on the Windows stack (harness/wine_stack.py)."""
    if stack == "linux":
        terminal = f"Terminal({BASH!r}, env={{'PS1': '$ ', 'HISTFILE': '/dev/null'}})"
        return Shell(terminal, "$ ", "cat", "\x15", False)
    from harness.wine_stack import configured, windows_path

    venv, _prefix = configured() or (pathlib.Path("."), None)
    python = windows_path(venv / "Scripts" / "python.exe")
    cat = f'"{python}" -c "import sys; sys.stdout.writelines(sys.stdin)"'
    return Shell("Terminal('cmd.exe', prompt='> ')", ">", cat, "\x7f", True)  # Backspace (Wine's cmd ignores Esc)


@contextlib.contextmanager
def stack_server(stack: str, extra: list[str] | None = None) -> Iterator[RunningServer]:
    """JupyterLab on ``stack``: this machine's (as :func:`jupyter_server`), or the Windows lab stack
    under Wine (prepared by tests/windows/run-under-wine.sh, named by its environment variables).
    ``CONPTY_WIDGET_DIRECT=0`` in this environment reaches the kernels of either."""
    if stack == "linux":
        with jupyter_server("lab", extra) as server:
            yield server
        return
    from harness.wine_stack import PREFIX_ENV, STACK_ENV, configured, windows_server

    found = configured()
    if found is None:
        raise SystemExit(f"--stack windows needs {STACK_ENV} and {PREFIX_ENV} (bash tests/windows/run-under-wine.sh makes them)")
    with tempfile.TemporaryDirectory(prefix="conpty-bench-") as tmp:
        with windows_server(pathlib.Path(tmp), *found, options=extra or []) as server:
            yield server


class Reporter:
    """Prints ``name: value (baseline value, ratio x)`` lines and remembers them for --json."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.figures: dict[str, dict] = {}

    def line(self, name: str, value: float, unit: str, baseline: str | None = None,
             base_value: float | None = None, ratio: float | None = None, note: str = "") -> None:
        if ratio is None and base_value:
            ratio = value / base_value
        text = f"{name}: {_fmt(value)} {unit}".rstrip()
        if baseline is not None:
            base = f"{baseline} {_fmt(base_value)} {unit}" if base_value is not None else baseline
            text += f" ({base}, ratio {ratio:.2f}x)" if ratio is not None else f" ({base})"
        if note:
            text += f"  [{note}]"
        print(text, flush=True)
        self.figures[name] = {"value": value, "unit": unit, "baseline": baseline, "baseline_value": base_value,
                              "ratio": ratio, "note": note}

    def save(self, path: pathlib.Path | None, meta: dict | None = None) -> None:
        if path is None:
            return
        data = json.loads(path.read_text()) if path.exists() else {}
        data[self.script] = {"figures": self.figures, "meta": meta or {}, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0 or abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def venv_bin(name: str) -> str:
    return str(pathlib.Path(sys.executable).parent / name)


# -- a raw pty: the ceiling --------------------------------------------------------------------

def raw_pty_flood(size: int) -> float:
    """Bytes/s of ``flood_cmd(size)`` read straight off a pty master with os.read (64 KiB)."""
    import errno
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(["sh", "-c", flood_cmd(size)], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    got = 0
    tail = b""
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            got += len(data)
            tail = (tail + data)[-64:]
            if MARK in tail:
                break
        elapsed = time.perf_counter() - start
    finally:
        os.close(master)
        proc.wait()
    if got < size:
        raise RuntimeError(f"raw pty: only {got} of {size} bytes")
    return size / elapsed


# -- a jupyter server (for terminado, server limits) -------------------------------------------

@contextlib.contextmanager
def jupyter_server(app: str = "server", extra: list[str] | None = None) -> Iterator[RunningServer]:
    """A throwaway ``jupyter server`` (or ``lab``) on localhost, with default IOPub limits unless
    ``extra`` says otherwise; terminado's terminals run bash with a plain ``$ `` prompt."""
    command = [sys.executable, "-m", "jupyter_server" if app == "server" else "jupyterlab",
               '--ServerApp.terminado_settings={"shell_command": ["bash", "--norc", "--noprofile"]}', *(extra or [])]
    # Without the extensions it does not need, a server starts in a fraction of the time.
    off = ["notebook", "notebook_shim", "jupyter_lsp", "voila.server_extension"]
    if app == "lab":
        command.append("--LabApp.expose_app_in_browser=True")
    else:
        off.append("jupyterlab")
    with tempfile.TemporaryDirectory(prefix="conpty-bench-") as tmp:
        with running_server(pathlib.Path(tmp), command, env={"PS1": "$ "}, disabled_extensions=off) as server:
            yield server


class Terminado:
    """A JupyterLab terminal (jupyter_server_terminals + terminado) driven over its websocket.

    Uses tornado's websocket client on a private event loop: websocket-client (also installed)
    reads so slowly that it, not terminado, would be measured (4 MB/s against 27 MB/s here).
    """

    def __init__(self, server: dict, rows: int = 24, cols: int = 80) -> None:
        import asyncio

        from tornado.websocket import websocket_connect

        self.loop = asyncio.new_event_loop()
        self.name = api(server, "POST", "/api/terminals")["name"]
        url = f"ws://127.0.0.1:{server.port}/terminals/websocket/{self.name}?token={server.token}"

        async def connect():
            return await websocket_connect(url, max_message_size=1 << 30)

        self.ws = self.loop.run_until_complete(connect())
        self.send_raw(["set_size", rows, cols, rows * 17, cols * 8])
        self.read_until("$ ")

    def send_raw(self, msg: list) -> None:
        async def write():
            await self.ws.write_message(json.dumps(msg))

        self.loop.run_until_complete(write())

    def send(self, text: str) -> None:
        self.send_raw(["stdin", text])

    def recv(self, timeout: float | None = None) -> list:
        import asyncio

        async def read():
            return await asyncio.wait_for(self.ws.read_message(), timeout)

        text = self.loop.run_until_complete(read())
        if text is None:
            raise EOFError("terminado: websocket closed")
        return json.loads(text)

    def read_until(self, needle: str, timeout: float = 60, count: str | None = None) -> int:
        """Read stdout until ``needle``; return how many ``count`` characters went by."""
        deadline = time.monotonic() + timeout
        tail, n = "", 0
        while needle not in tail:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"terminado: {needle!r} not seen; tail {tail[-200:]!r}")
            msg = self.recv(remaining)
            if msg[0] == "stdout":
                text = msg[1]
                if count:
                    n += text.count(count)
                tail = tail[-len(needle):] + text
            elif msg[0] == "disconnect":
                raise EOFError("terminado: terminal closed")
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


# -- a real kernel with a protocol-level page (harness/protocol_client.py) -------------------------

@contextlib.contextmanager
def kernel() -> Iterator[tuple]:
    from harness.protocol_client import Page, start_kernel

    km, kc = start_kernel()
    try:
        yield km, kc, Page(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def open_terminal(page, argv: list[str] | None = None, extra: str = "") -> str:
    """Create ``t = Terminal(...)`` in the kernel; return its comm id."""
    page.execute("from conpty_widget import Terminal\n"
                 f"t = Terminal({(argv or BASH)!r}, env={{'PS1': '$ ', 'HISTFILE': '/dev/null'}}{extra})")
    return page.terminal_comm()


def machine() -> dict:
    import psutil

    return {"nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": sys.version.split()[0], "loadavg_1min_at_end": round(os.getloadavg()[0], 1)}
