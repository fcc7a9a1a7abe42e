"""Fixtures for the Windows suite (``python.exe -m pytest tests/windows``).

Off Windows nothing here is collected. Under Wine, ``GetDesktopWindow`` is called
before any pseudoconsole exists: otherwise Wine's desktop process may start later,
inside a test, inherit the output pipe of a pseudoconsole and delay its EOF.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time

import pytest

if sys.platform != "win32":
    collect_ignore_glob = ["test_*.py"]
else:
    import ctypes

    ctypes.WinDLL("user32").GetDesktopWindow()  # before any pseudoconsole: see above

    from conpty_widget.backends import _win32

    WINE = _win32.wine_version()

    def pytest_report_header(config):
        import platform

        where = f"Wine {WINE}" if WINE else "Windows"
        return f"ConPTY suite on {where}, {platform.platform()}, build {sys.getwindowsversion().platform_version[2]}"


#: Enter: Wine's console turns "\r\n" into two lines; "\r" is what a terminal sends anyway.
ENTER = "\r"
PYTHON = sys.executable

_CSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
_FORWARD = re.compile(r"\x1b\[(\d*)C")


def plain(text: str) -> str:
    """The text of a ConPTY stream without its escape sequences.

    The console renders runs of spaces as cursor moves (``ESC[nC``): those become spaces.
    """
    text = _FORWARD.sub(lambda m: " " * int(m.group(1) or 1), text)
    return _CSI.sub("", text)


class Collector:
    """Reads a ConPtyProcess on a thread, as the session does; ``expect`` on plain text."""

    def __init__(self, proc) -> None:
        import codecs

        self.proc = proc
        self.raw = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self._pos = 0
        self.eof = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                data = self.proc.read(65536)
                if not data:
                    break
                with self._cond:
                    self.raw += data
                    self.text += self._decoder.decode(data)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self.eof.set()
                self._cond.notify_all()

    def expect(self, pattern: str, timeout: float = 20) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                view = plain(self.text)
                m = regex.search(view, self._pos)
                if m:
                    self._pos = m.end()
                    return m
                if self.eof.is_set():
                    raise EOFError(f"EOF before {pattern!r}; output: {view!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{pattern!r} not seen in {timeout}s; output: {view!r}")
                self._cond.wait(left)

    def wait_eof(self, timeout: float = 20) -> str:
        assert self.eof.wait(timeout), f"no EOF within {timeout}s; output: {plain(self.text)!r}"
        self._thread.join(timeout)
        return plain(self.text)


@pytest.fixture
def spawn():
    """``spawn(argv, **kw) -> (proc, collector)``; every process is closed after the test."""
    from conpty_widget.backends.conpty import ConPtyProcess

    made = []

    def _spawn(argv, *, read=True, **kw):
        kw.setdefault("cols", 160)
        proc = ConPtyProcess.spawn(argv, **kw)
        made.append(proc)
        return proc, (Collector(proc) if read else None)

    yield _spawn
    for proc in made:
        proc.close()


@pytest.fixture
def cmd():
    """A Terminal running cmd.exe, at its first prompt; closed after the test."""
    from conpty_widget import Terminal

    t = Terminal("cmd.exe")
    t.expect(r">", timeout=30)
    yield t
    t.close()


SYNCHRONIZE = 0x00100000
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
WAIT_TIMEOUT = 0x102


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (OpenProcess + a zero wait)."""
    k = ctypes.WinDLL("kernel32", use_last_error=True)  # a private instance: its own prototypes
    k.OpenProcess.restype = ctypes.c_void_p
    k.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint32]
    k.WaitForSingleObject.restype = ctypes.c_uint32
    k.WaitForSingleObject.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    k.CloseHandle.argtypes = [ctypes.c_void_p]
    handle = k.OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return False
    try:
        return k.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT
    finally:
        k.CloseHandle(handle)


def minimal_env(**extra: str) -> dict[str, str]:
    """What a Windows program needs to start, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.upper() in {"SYSTEMROOT", "SYSTEMDRIVE", "PATH", "COMSPEC", "TEMP", "TMP", "WINDIR"}}
    env.update(extra)
    return env
