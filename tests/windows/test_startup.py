"""What ConPTY sends and expects at start-up: queries, modes, the Windows build.

Newer ConPTY (Windows 11) asks its terminal for device attributes (``ESC[c``) at start and
waits up to 3 s for the answer; with no view attached the session answers, as it does any
cursor-position or device-attribute query (conpty_widget/session.py, ``_answer_queries``).
It also turns on win32-input-mode (``ESC[?9001h``) and focus reports (``ESC[?1004h``):
focus reports sent to a console that turned them on are consumed, never typed into the shell.

Wine 8's conhost does neither: it sends no query and turns on no mode at start, and it types
whatever it is sent as text (``ESC[I`` reaches cmd.exe as ``[I``): a view must send focus
reports only when the terminal asked for them (mode 1004), which is what xterm.js does.
"""

from __future__ import annotations

import pytest

from conpty_widget.backends import _win32 as w
from conpty_widget.backends.conpty import windows_build
from conpty_widget.screen import QUERY
from conpty_widget.session import Session

from .conftest import ENTER, PYTHON

WINE = w.wine_version()
#: Any escape sequences between a line's start and its text (ConPTY hides the cursor around writes).
ESCAPES = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"


def startup_output(spawn) -> tuple[object, object, bytes]:
    """A cmd.exe on ConPTY, its first prompt, and every byte before it."""
    proc, out = spawn(["cmd.exe"])
    out.expect(r">")
    return proc, out, bytes(out.raw)


def test_windows_build_is_the_one_cmd_reports(spawn):
    proc, out = spawn(["cmd.exe", "/c", "ver"])
    m = out.expect(r"\[?Version (\d+)\.(\d+)\.(\d+)|Windows (\d+)\.(\d+)\.(\d+)")
    build = int(m.group(3) or m.group(6))
    assert windows_build() == build
    assert windows_build() >= w.CONPTY_MIN_BUILD  # Windows 10 1809+ (under Wine: winecfg -v win10)


def test_a_headless_session_leaves_the_shell_input_clean():
    """Whatever ConPTY asked at start-up was answered as a terminal would: the first
    command line the shell reads is exactly what was typed."""
    s = Session(["cmd.exe"])
    try:
        s.expect(r">", timeout=30)
        # cmd's output line starts with the echoed text (escapes aside), not with an error
        # about a command line that began with the bytes of an answer ("[?1;2c").
        s.write(f"echo x-%COMSPEC:~-7%-y{ENTER}")
        s.expect(rf"\n{ESCAPES}x-cmd\.exe-y", timeout=30)
        s.write(f"echo second-%COMSPEC:~-7%{ENTER}")
        s.expect(rf"\n{ESCAPES}second-cmd\.exe", timeout=30)
    finally:
        s.close()


def test_focus_reports_reach_the_shell_only_as_the_console_allows(spawn):
    proc, out, startup = startup_output(spawn)
    focus_on = b"\x1b[?1004h" in startup
    if WINE:
        # Wine's conhost: no start-up query, no win32-input-mode, no focus reports.
        assert not QUERY.search(startup), startup
        assert b"\x1b[?9001h" not in startup and not focus_on, startup
        return
    if focus_on:
        # ConPTY turned focus reports on: it consumes them.
        proc.write(b"\x1b[I\x1b[O")
    proc.write(f"echo f-%COMSPEC:~-7%-g{ENTER}".encode())
    m = out.expect(r"\n([^\r\n]*)f-cmd\.exe-g")
    assert m.group(1) == "", m.group(0)


@pytest.mark.skipif(not WINE, reason="on Windows the console host answers its programs' queries itself")
def test_a_headless_session_answers_a_query_that_reaches_it():
    """Under Wine a program's ``ESC[c`` passes through conhost to the session, which answers it
    as xterm.js would; Wine's conhost then types the answer into the program's input."""
    child = "import sys; sys.stdout.write('\\x1b[c'); sys.stdout.flush(); print('got=' + ascii(input()))"
    s = Session([PYTHON, "-c", child])
    try:
        s.expect(r"\x1b\[c", timeout=30)
        s.write(ENTER)
        m = s.expect(r"got='([^']*)'", timeout=30)
        assert m.group(1).endswith("[?1;2c"), m.group(0)
        assert s.wait(30) == 0
    finally:
        s.close()
