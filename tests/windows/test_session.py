"""The headless session and the Terminal widget, on the ConPTY backend."""

from __future__ import annotations

import pathlib
import time

import pytest

from conpty_widget.backends import backend
from conpty_widget.backends.conpty import ConPtyProcess
from conpty_widget.session import Session
from harness.wait import poll

from .conftest import ENTER, PYTHON, process_alive

STATIC = pathlib.Path(__file__).resolve().parents[2] / "conpty_widget" / "static" / "widget.js"


def test_backend_is_conpty():
    assert backend() is ConPtyProcess


def test_session_with_the_default_shell():
    s = Session(None, env={"CONPTY_SESSION": "sess-ok"})
    try:
        assert s.argv == ConPtyProcess.default_shell()
        s.expect(r">", timeout=20)
        s.write(f"echo marker-%CONPTY_SESSION%{ENTER}")
        s.expect(r"marker-sess-ok", timeout=20)
        s.write(f"exit 5{ENTER}")
        assert s.wait(20) == 5
        assert s.exit_code == 5
        with pytest.raises(BrokenPipeError):
            s.write("too late\r")
    finally:
        s.close()
    assert not process_alive(s.pid)


def test_session_python_child_input_and_resize_call():
    s = Session([PYTHON, "-c", "x = input('who? '); print('hi-' + x)"], rows=20, cols=90)
    try:
        s.expect(r"who\?", timeout=20)
        s.resize(25, 100)  # a no-op under Wine (no ResizePseudoConsole), real on Windows
        s.write(f"wine{ENTER}")
        s.expect(r"hi-wine", timeout=20)
        assert s.wait(20) == 0
    finally:
        s.close()


def test_session_close_ends_a_running_tree():
    s = Session([PYTHON, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    s.expect("up", timeout=20)
    pid = s.pid
    s.close()
    poll(f"process {pid} to end", lambda: not process_alive(pid))
    s.close()  # idempotent


def test_session_str_command_with_quotes():
    s = Session(f'"{PYTHON}" -c "print(\'str-\' + \'ok\')"')
    try:
        s.expect(r"str-ok", timeout=20)
        assert s.wait(20) == 0
    finally:
        s.close()


@pytest.mark.skipif(not STATIC.exists(), reason="conpty_widget/static/widget.js is not built (the wheel check covers Terminal)")
def test_terminal_widget_headless():
    from conpty_widget import Terminal

    t = Terminal("cmd.exe")
    try:
        assert t.command == "cmd.exe"
        t.expect(r">", timeout=20)
        t.write(f"echo widget-%COMSPEC:~-7%{ENTER}")
        t.expect(r"widget-cmd\.exe", timeout=20)
        t.write(f"exit 7{ENTER}")
        assert t.wait(20) == 7
        # the trait is set by the session's exit callback, which may run just after wait() returns
        deadline = time.monotonic() + 5
        while t.exit_code is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert t.exit_code == 7
    finally:
        t.close()
