"""The headless session (``Session``: threads, flow control, expect, lifecycle) with a real bash in a real pty."""

import hashlib
import os
import queue
import signal
import sys
import time

import pytest

from conpty_widget.backends.posix import _alive, _session_members
from conpty_widget.session import Session
from harness.process import children_named
from harness.wait import poll

from .conftest import PROMPT, bash_argv

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pty")


def test_echo_resize_and_ctrl_c(shell):
    shell.write("echo hi-$((6*7))\r")
    shell.expect(r"\rhi-42\r\n")
    shell.resize(33, 101)
    shell.write("stty size\r")
    assert shell.expect(r"\r(\d+) (\d+)\r\n").groups() == ("33", "101")
    shell.expect(PROMPT)
    shell.write("sleep 100; echo not-interrupted\r")
    poll("sleep to run", lambda: children_named(shell.pid, "sleep"))  # ^C before it would reach only bash: a race
    start = time.monotonic()
    shell.write("\x03")
    shell.expect(PROMPT, timeout=5)
    assert time.monotonic() - start < 5
    shell.write("echo after-$((1+1))\r")
    shell.expect("after-2")


def test_exit_code_and_eof(shell):
    shell.write("exit 7\r")
    assert shell.wait(10) == 7
    with pytest.raises(EOFError, match="code 7"):
        shell.expect("never", timeout=5)
    with pytest.raises(BrokenPipeError):
        shell.write("more\r")


def test_expect_timeout_shows_tail(shell):
    shell.write("echo some-output-here\r")
    shell.expect("some-output-here\r\n")
    with pytest.raises(TimeoutError, match="does-not-appear.*0.3s.*\\$ "):
        shell.expect("does-not-appear", timeout=0.3)


def test_utf8_split_across_reads_arrives_intact(shell):
    text = "é€😀한"
    code = (
        "import sys, time\n"
        f"b = {text!r}.encode()\n"
        "for i in range(len(b)):\n"
        "    sys.stdout.buffer.write(b[i:i+1]); sys.stdout.flush(); time.sleep(0.02)\n"
        "print()\n"
    )
    script = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"split-{os.getpid()}.py")
    with open(script, "w") as f:
        f.write(code)
    shell.write(f"{sys.executable} {script}\r")
    m = shell.expect(r"\r([^\r\n]*)\r\n(\x1b\[\?2004h)?\$ $")
    assert m.group(1) == text
    os.unlink(script)


def test_ten_megabyte_paste_arrives_whole(shell, tmp_path):
    import base64

    data = base64.encodebytes(os.urandom(7_500_000))  # 76-char lines, about 10 MB
    target = tmp_path / "paste.txt"
    shell.write("stty -echo; cat > " + str(target) + "; stty echo\r")
    poll("cat to run", lambda: children_named(shell.pid, "cat"))
    start = time.monotonic()
    shell.write(data)  # queued: must not block the caller
    assert time.monotonic() - start < 1.0
    shell.write(b"\x04")
    shell.expect(PROMPT, timeout=60)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_close_ends_the_whole_session_even_hup_ignoring_jobs():
    s = Session(bash_argv() + ["-i"], env={"PS1": "$ "})
    s.expect(PROMPT, timeout=10)
    # A background job in its own process group that ignores HUP and TERM, and a stopped job.
    s.write("(trap '' HUP TERM; exec sleep 1000) & sleep 1001 & sleep 1002\r")
    poll("three sleeps to run", lambda: len(children_named(s.pid, "sleep")) == 3)
    s.write("\x1a")  # ^Z: the third job is stopped
    s.expect(r"Stopped", timeout=5)
    members = _session_members(s.pid)
    assert len(members) >= 4, members
    s.close()
    assert not any(_alive(p) for p in members)
    assert s.exit_code is not None
    s.close()  # idempotent


def test_shell_exit_hangs_up_leftover_jobs():
    s = Session(["sh", "-c", "sleep 1000 & echo started; exit 0"])
    s.expect("started")
    assert s.wait(10) == 0
    members = _session_members(s.pid)
    assert not members
    s.close()


def test_environment_is_cleaned_for_a_terminal(monkeypatch):
    for k, v in {"PAGER": "cat", "GIT_PAGER": "cat", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                 "CLICOLOR": "1", "TERM": "xterm-color", "JPY_PARENT_PID": "1", "KEEP_ME": "yes"}.items():
        monkeypatch.setenv(k, v)
    s = Session(["env"], env={"EXTRA": "x", "KEEP_ME": None, "GIT_PAGER": "less"})
    s.wait(10)
    env = dict(line.split("=", 1) for line in s.expect(r"(?s).*").group(0).splitlines() if "=" in line)
    s.close()
    assert env["TERM"] == "xterm-256color" and env["COLORTERM"] == "truecolor"
    assert env["EXTRA"] == "x" and env["GIT_PAGER"] == "less"
    for gone in ("PAGER", "MPLBACKEND", "CLICOLOR", "JPY_PARENT_PID", "KEEP_ME"):
        assert gone not in env


def test_close_with_unread_output_and_a_blocked_writer():
    s = Session(["sh", "-c", "sleep 1000"])  # never reads its input
    s.write(b"x" * 1_000_000)
    start = time.monotonic()
    s.close()
    assert time.monotonic() - start < 30  # a hang guard: close() must not wait for the blocked writer
    # The hang-up ended it: sh killed by it, or (sh waits for sleep with signals blocked, and the
    # hang-up kills sleep first) sh exiting with sleep's status; seen once in a loop under load.
    assert s.exit_code in (-signal.SIGHUP, 128 + signal.SIGHUP)


@pytest.mark.parametrize("window", [None, 64 * 1024], ids=["default", "window-smaller-than-a-batch"])
def test_a_slow_view_gets_every_byte_in_order_within_the_window(monkeypatch, window):
    from conpty_widget import session as session_module

    if window is not None:
        monkeypatch.setattr(session_module, "WINDOW", window)
    limit = session_module.WINDOW
    chunks: queue.Queue = queue.Queue()
    s = Session(["sh", "-c", "read go; head -c 3000000 /dev/zero | tr '\\0' a; echo; echo END-$((6*7))"],
                comm=lambda msg, payload: chunks.put((msg, payload)))
    s.attach("v")
    assert chunks.get(timeout=10)[0]["type"] == "reset"
    s.write("go\n")
    out, acked, seq, inflight_max = bytearray(), 0, None, 0
    while b"END-42" not in out[-4096:]:
        msg, payload = chunks.get(timeout=20)
        assert msg["type"] == "output" and msg["offset"] == len(out)
        assert seq is None or msg["seq"] == seq + 1
        seq = msg["seq"]
        out += payload
        inflight_max = max(inflight_max, len(out) - acked)
        time.sleep(0.002)  # a view slower than the pty
        acked = len(out)
        s.ack("v", acked)
    assert out.count(b"a") == 3_000_000
    assert inflight_max <= limit
    assert len(s._flow.pending) <= session_module.READAHEAD
    s.close()


def test_the_pacer_allows_a_burst_then_holds_the_average_rate():
    from conpty_widget.session import Pacer

    now = [0.0]
    pacer = Pacer(rate=500.0, burst=100, clock=lambda: now[0])
    for _ in range(100):
        assert pacer.delay() == 0
        pacer.take()
    assert pacer.delay() == pytest.approx(1 / 500)
    pacer.take()  # a racing terminal overdraws: the debt lengthens the next wait
    assert pacer.delay() == pytest.approx(2 / 500)
    now[0] += 0.1  # 50 tokens later, less the debt
    assert pacer.delay() == 0
    for _ in range(49):
        pacer.take()
    assert pacer.delay() == pytest.approx(1 / 500)
    now[0] += 10  # a long quiet spell refills the burst, no more
    for _ in range(100):
        assert pacer.delay() == 0
        pacer.take()
    assert pacer.delay() > 0
