import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

POSIX = sys.platform != "win32"
PROMPT = r"\$ $"


def bash_argv() -> list[str]:
    return ["bash", "--norc", "--noprofile"]


def parse(data: bytes, rows: int = 24, cols: int = 80):
    """A fresh screen model fed ``data``: what a new xterm.js would show after writing it."""
    from conpty_widget.screen import ScreenModel

    model = ScreenModel(lambda offset: (0, data, []), rows, cols)
    model.update()
    return model


class Xterm:
    """xterm.js itself (@xterm/headless with the unicode11 addon, as the view loads it): one Node
    process running tests/xterm_screen.mjs, asked one screen at a time (``rows`` x ``cols`` unless
    told)."""

    def __init__(self, rows: int = 24, cols: int = 80) -> None:
        here = pathlib.Path(__file__).resolve().parent
        node = shutil.which("node")
        if node is None or not (here.parent / "js" / "node_modules" / "@xterm" / "headless").is_dir():
            raise RuntimeError("needs node and `npm ci` in js/ (@xterm/headless)")
        self.rows, self.cols = rows, cols
        self.proc = subprocess.Popen(
            [node, str(here / "xterm_screen.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def screen(self, data: bytes, rows: int | None = None, cols: int | None = None) -> dict:
        request = {"data": base64.b64encode(data).decode(), "rows": rows or self.rows, "cols": cols or self.cols}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"node exited with {self.proc.wait()}")
        return json.loads(answer)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture
def shell():
    """A headless Session running bash with a plain ``$ `` prompt, closed afterwards."""
    from conpty_widget.session import Session

    s = Session(bash_argv(), env={"PS1": "$ ", "HISTFILE": os.devnull})
    s.expect(PROMPT, timeout=10)
    yield s
    s.close()


@pytest.fixture(scope="module")
def kernel():
    """A real ipykernel (jupyter_client), shared by a module's tests; yields (manager, client)."""
    from harness.protocol_client import start_kernel

    km, kc = start_kernel()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=False)


# tests/windows is the Windows suite: it runs under a Windows Python (tests/windows/run-under-wine.sh).
collect_ignore = ["windows"] if sys.platform != "win32" else []
