"""The kernel-side screen model: screen text, full-screen programs, snapshots, headless answers."""

import os
import sys
import textwrap
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conpty_widget import Terminal
from conpty_widget.screen import REPARSE_MAX, SCROLLBACK, SNAPSHOT_MAX
from conpty_widget.session import Session

from .conftest import PROMPT, bash_argv, parse

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")


def wait_screen(session: Session, predicate, timeout: float = 10) -> list[str]:
    """The screen's lines once ``predicate(lines)`` holds; each retry waits for more output."""
    deadline = time.monotonic() + timeout
    while not predicate(lines := session.screen_model().lines()):
        session.expect(r"[\s\S]+", timeout=max(0.1, deadline - time.monotonic()))
    return lines


class Reset:
    """A sink that keeps the resets the session sends to views."""

    def __init__(self) -> None:
        self.resets: list[bytes] = []

    def __call__(self, msg: dict, payload: bytes) -> None:
        if msg["type"] == "reset":
            self.resets.append(payload)


@pytest.fixture
def viewed():
    sink = Reset()
    s = Session(bash_argv(), env={"PS1": "$ ", "HISTFILE": os.devnull, "LESS": "", "LESSHISTFILE": "-"}, comm=sink)
    s.expect(PROMPT, timeout=10)
    yield s, sink
    s.close()


def test_screen_lines_show_what_a_terminal_shows(shell):
    shell.write("printf 'one\\ntwo\\rTW\\n\\033[31mred\\033[0m\\n'\r")
    shell.expect(r"red.*\n.*\$ $")
    lines = shell.screen_model().lines()
    assert len(lines) == 24
    i = lines.index("one")
    assert lines[i : i + 4] == ["one", "TWo", "red", "$"]


def test_a_full_screen_program_and_the_alternate_screen(shell):
    shell.write("echo before-less; seq 1 500 | less\r")
    lines = wait_screen(shell, lambda lines: lines[:3] == ["1", "2", "3"] and lines[-1] == ":")
    assert lines[20:23] == ["21", "22", "23"]
    assert "before-less" not in "\n".join(lines)
    shell.write("G")  # to the end
    lines = wait_screen(shell, lambda lines: lines[-1] == "(END)")
    assert lines[-2] == "500"
    shell.write("q")
    text = "\n".join(wait_screen(shell, lambda lines: "$" in lines))
    # Back on the main screen, as it was before less.
    assert "before-less" in text and "\n500" not in text


def test_a_new_view_starts_from_the_current_screen(viewed):
    s, sink = viewed
    s.write("printf '\\033[1;32mgreen\\033[0m plain\\n'; seq 1 5000 | less\r")
    wait_screen(s, lambda lines: lines[:2] == ["1", "2"] and lines[-1] == ":")
    s.attach("v1")
    model = s.screen_model()
    snapshot = sink.resets[-1]
    assert len(snapshot) <= SNAPSHOT_MAX
    view = parse(snapshot)
    assert view.lines() == model.lines()
    assert view.cursor == model.cursor
    s.write("q")
    wait_screen(s, lambda lines: "$" in lines)
    # After less, the snapshot has the main screen underneath, with its colours.
    s.detach("v1")
    s.attach("v2")
    snapshot = sink.resets[-1]
    assert b"\x1b[0;1;32mgreen\x1b[0m plain" in snapshot
    assert parse(snapshot).lines() == s.screen_model().lines()


def test_snapshots_are_bounded_and_keep_some_scrollback(viewed):
    s, sink = viewed
    s.write("seq 1 100000\r")
    s.expect(r"100000\r\n.*\$ $", timeout=30)
    s.attach("v1")
    snapshot = sink.resets[-1]
    assert len(snapshot) <= SNAPSHOT_MAX
    # The screen (23 numbers and the prompt) and SCROLLBACK lines above it.
    assert snapshot.startswith(b"%d\r\n" % (100000 - 22 - SCROLLBACK))
    assert parse(snapshot).lines() == s.screen_model().lines()


def test_the_model_catches_up_with_a_flood_in_bounded_work(shell):
    size = 4 * REPARSE_MAX
    shell.write(f"head -c {size} /dev/zero | tr '\\0' x; echo; echo flood-$((40+2))\r")
    shell.expect(r"flood-42\r\n.*\$ $", timeout=30)
    lines = shell.screen_model().lines()
    assert lines[-2:] == ["flood-42", "$"]
    assert lines[-3] and not lines[-3].strip("x")


def test_the_screen_follows_resizes_in_stream_order(shell):
    shell.write("stty size\r")
    shell.expect(r"24 80")
    shell.resize(10, 40)
    shell.write("stty size; printf '%050d\\n' 7\r")
    shell.expect(r"10 40\r\n.*\r\n.*\$ $")
    lines = shell.screen_model().lines()
    assert len(lines) == 10
    i = lines.index("10 40")
    assert lines[i + 1 :] == ["0" * 40, "0" * 9 + "7", "$"] + [""] * (len(lines) - i - 4)


def test_headless_cursor_position_and_device_attribute_answers(shell):
    # Echo off first, so the answers are read by the program, not echoed by the tty.
    shell.write(
        "stty -echo; printf '\\033[5;10H\\033[6n'; IFS= read -rd R pos; printf '\\033[c'; IFS= read -rd c da; "
        "stty echo; echo; echo \"pos=${pos#*[} da=${da#*[}\"\r"
    )
    m = shell.expect(r"pos=([\d;]+) da=(\?[\d;]+)\r\n", timeout=10)
    assert m.groups() == ("5;10", "?1;2")


def test_a_query_split_across_reads_is_answered_once(shell):
    script = textwrap.dedent(
        """
        import os, sys, termios, time, tty
        tty.setraw(0)
        os.write(1, b"\\x1b[")
        time.sleep(0.3)  # two separate reads for the session
        os.write(1, b"3;7H\\x1b[6")
        time.sleep(0.3)
        os.write(1, b"n\\x1b[5n")
        got = b""
        while not got.endswith(b"0n"):
            got += os.read(0, 100)
        termios.tcsetattr(0, termios.TCSANOW, termios.tcgetattr(0))
        os.write(1, b"\\r\\ngot " + got.replace(b"\\x1b", b"ESC") + b"\\r\\n")
        """
    )
    shell.write(f"{sys.executable} -c '{script}'; stty sane\r")
    m = shell.expect(r"got (\S+)\r\n", timeout=10)
    assert m.group(1) == "ESC[3;7RESC[0n"


def test_strings_are_never_printed_and_a_status_request_is_answered_once(shell):
    # At start vim asks for capabilities (XTGETTCAP: xterm.js does not answer) and a kitty
    # program sends graphics (APC); a setting request (DECRQSS) is answered, once, before the
    # status report asked after it.
    script = textwrap.dedent(
        r"""
        import os, termios, tty
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        os.write(1, b"\x1bP+q436f;6b75\x1b\\\x1b_Gf=100;AAAA\x1b\\\x1bP$qm\x1b\\\x1b]2;the title\x07\x1b[5n")
        got = b""
        while not got.endswith(b"0n"):
            got += os.read(0, 100)
        termios.tcsetattr(0, termios.TCSANOW, saved)
        os.write(1, b"got " + got.replace(b"\x1b", b"ESC") + b"\r\n")
        """
    )
    shell.write(f"{sys.executable} -c '{script}'\r")
    m = shell.expect(r"got (\S+)\r+\n", timeout=10)
    assert m.group(1) == "ESCP1$r0mESC\\ESC[0n"
    # The strings printed nothing: the row of the output starts with what the program printed after them.
    wait_screen(shell, lambda lines: "got ESCP1$r0mESC\\ESC[0n" in lines)
    assert shell.screen_model().title == "the title"


def test_the_title_is_kept_with_no_view():
    titles: list[str] = []
    second = threading.Event()

    def seen(change) -> None:
        titles.append(change["new"])
        if change["new"] == "second":
            second.set()

    with Terminal(bash_argv(), env={"PS1": "$ ", "HISTFILE": os.devnull}) as t:
        t.observe(seen, "title")
        t.write("printf '\\033]0;first\\007'; printf '\\033]2;second\\033\\\\'\r")
        assert second.wait(10), titles
        assert titles == ["first", "second"]
        assert t.title == "second"


def test_no_answer_while_a_view_answers(viewed):
    s, _ = viewed
    s.attach("v1")
    s.write("stty -echo; printf '\\033[6n'; IFS= read -t 1 -rd R pos; echo \"status=$?\"; stty echo\r")
    # read timed out (status > 128): the session left the question to the view.
    m = s.expect(r"status=(\d+)", timeout=10)
    assert int(m.group(1)) > 128


def test_malformed_sequences_never_break_the_model():
    # pyte itself raises on some of these (a handler called with too many arguments).
    model = parse(b"\x1b[1;2;3c\x1b[5;6;7;8A\x1b[?1;2;3;4n\x1b]x\x07\x1b[99999999999Lafter\r\nline two")
    assert model.lines()[:2] == ["after", "line two"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\x1b[", b"\x1b]", b"\x1b", b";", b"?", b"1", b"42", b"m", b"H", b"J", b"K",
                                 b"c", b"n", b"h", b"l", b"\r\n", b"\x07", b"ab", "é漢".encode(), b"\xff"]),
                max_size=80).map(b"".join))
def test_any_output_is_parsed_and_a_snapshot_reproduces_it(data: bytes):
    model = parse(data, rows=6, cols=12)
    snapshot = model.ansi().encode()
    assert len(snapshot) <= SNAPSHOT_MAX
    view = parse(snapshot, rows=6, cols=12)
    assert (view.lines(), view.cursor) == (model.lines(), model.cursor)
