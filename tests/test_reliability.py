"""Reliability and security suite: no orphans, no lost bytes, no crash on bad input.

Everything runs for real: bash in a pty, ipykernel kernels driven by jupyter_client and the
protocol-level page of protocol_client.py. bench/stress.py runs the same trials with bigger
counts. Trials run concurrently where they are independent, to keep the suite fast.
"""

from __future__ import annotations

import ast
import codecs
import collections
import concurrent.futures
import hashlib
import logging
import os
import random
import re
import signal
import sys
import time
import uuid

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.protocol_client import Page, View, start_kernel

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the Windows suite is tests/windows")

if sys.platform != "win32":
    from conpty_widget.backends.posix import _alive, _session_members

ORPHAN_TRIALS = 20

# Defines trial_terminal() wherever it runs (here and inside kernels): an interactive bash with
# job control whose session holds a `sleep 1000 &` grandchild (its own process group) and a
# job that ignores SIGHUP. Returns the Terminal once both sleeps run (the HUP-ignoring one has
# set its trap before exec).
TRIAL_CODE = r"""
import time as _time
from conpty_widget import Terminal
from conpty_widget.backends.posix import _session_members

def _sleeps(sid):
    names = []
    for p in _session_members(sid):
        try:
            names.append(open(f'/proc/{p}/comm').read().strip())
        except OSError:
            pass
    return names.count('sleep')

def trial_terminal():
    t = Terminal(['bash', '--norc', '--noprofile', '-i'], env={'PS1': '$ ', 'HISTFILE': '/dev/null'})
    t.expect(r'\$ $', timeout=30)
    t.write("sleep 1000 & (trap '' HUP; exec sleep 1001) &\r")
    deadline = _time.monotonic() + 30
    while _sleeps(t.pid) < 2 and _time.monotonic() < deadline:
        _time.sleep(0.02)
    return t
"""


def _ignores_hup(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
    except OSError:
        pass
    return False


def check_hard_case(members: list[int]) -> None:
    """The trial really has a shell, a grandchild and a HUP-ignoring job (else it proves nothing)."""
    assert len(members) >= 3, members
    assert any(_ignores_hup(p) for p in members), members


def survivors(members: list[int], timeout: float = 0) -> list[int]:
    """Members still alive (zombies count as gone) after waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in members if _alive(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def _reap(pids: list[int]) -> None:
    """Kill what a failed trial left behind, so one failure does not leak into the next."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# -- 1. orphans ---------------------------------------------------------------------------------


def close_trials(n: int) -> list[list[int]]:
    """``n`` terminals in this process, each ended by Terminal.close() (concurrently); the survivors."""
    scope: dict = {}
    exec(TRIAL_CODE, scope)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        terms = list(pool.map(lambda _: scope["trial_terminal"](), range(n)))
        trees = [sorted(_session_members(t.pid)) for t in terms]
        for tree in trees:
            check_hard_case(tree)
        list(pool.map(lambda t: t.close(), terms))
    # close() returns once the whole tree is gone: no grace period here.
    return [survivors(tree) for tree in trees]


def kernel_close_trials(kc, n: int, how: str) -> list[list[int]]:
    """``n`` terminals in a kernel, each ended by ``t.close()`` in the kernel or by the page closing its comm."""
    page = Page(kc)
    setup = f"\nimport concurrent.futures\nts = list(concurrent.futures.ThreadPoolExecutor(10).map(lambda _: trial_terminal(), range({n})))"
    page.execute(TRIAL_CODE + setup, timeout=120)
    trees = ast.literal_eval(page.evaluate("[sorted(_session_members(t.pid)) for t in ts]"))
    comms = ast.literal_eval(page.evaluate("[t.comm.comm_id for t in ts]"))
    for tree in trees:
        check_hard_case(tree)
    if how == "close":
        page.execute("list(concurrent.futures.ThreadPoolExecutor(10).map(lambda t: t.close(), ts))")
        result = [survivors(tree) for tree in trees]  # close() returned: nothing may be left
    else:
        # What a page does when it disposes of the model: comm_close on the shell channel.
        for comm in comms:
            kc.session.send(kc.shell_channel.socket, "comm_close", {"comm_id": comm, "data": {}})
        result = [survivors(tree, timeout=30) for tree in trees]
        assert ast.literal_eval(page.evaluate("[t._session.running for t in ts]")) == [False] * n
    page.execute("del ts")
    return result


def kernel_death_trial(how: str, terminals: int = 1) -> list[int]:
    """``terminals`` terminals in a fresh kernel, then the kernel is shut down or killed; the
    survivors. The kernels start in parallel: over ipc (``start_kernel``)."""
    km, kc = start_kernel(transport="ipc")
    tree: list[int] = []
    try:
        page = Page(kc)
        page.execute(TRIAL_CODE + f"\nts = [trial_terminal() for _ in range({terminals})]", timeout=60 * terminals)
        trees = ast.literal_eval(page.evaluate("[sorted(_session_members(t.pid)) for t in ts]"))
        for one in trees:
            check_hard_case(one)
        tree = sorted(p for one in trees for p in one)
        if how == "shutdown":
            kc.stop_channels()
            # Each HUP-ignoring job takes the grace periods (~2 s; the kernel's atexit ends all the
            # terminals in one escalation): jupyter_client's default (SIGTERM 2.5 s after the
            # request) could cut a loaded kernel's atexit short; the watchdog then ends the
            # trees, later (the sigkill case).
            km.shutdown_wait_time = 30
            km.shutdown_kernel(now=False)
            # The kernel's atexit ended the tree before the kernel exited. The watchdog would
            # need the HUP grace period for the HUP-ignoring job: checking at once tells them apart.
            return survivors(tree)
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        return survivors(tree, timeout=20)  # the watchdog sees EOF and escalates HUP -> TERM -> KILL
    finally:
        _reap(tree)
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
        else:
            km.cleanup_resources()


def kernel_death_trials(n: int, how: str, parallel: int = 5, terminals: int = 1) -> list[list[int]]:
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda _: kernel_death_trial(how, terminals), range(n)))


def test_no_orphans_after_close():
    assert close_trials(ORPHAN_TRIALS) == [[]] * ORPHAN_TRIALS


@pytest.mark.parametrize("how", ["close", "comm_close"])
def test_no_orphans_after_widget_or_comm_close(kernel, how):
    _, kc = kernel
    assert kernel_close_trials(kc, ORPHAN_TRIALS, how) == [[]] * ORPHAN_TRIALS


@pytest.mark.parametrize("how", ["shutdown", "sigkill"])
def test_no_orphans_after_kernel_shutdown_or_sigkill(how):
    assert kernel_death_trials(ORPHAN_TRIALS, how) == [[]] * ORPHAN_TRIALS


def test_a_kernel_shut_down_ends_all_its_terminals_itself():
    """Several terminals with HUP-ignoring jobs: the kernel's atexit ends every tree before the kernel exits."""
    assert kernel_death_trials(5, "shutdown", terminals=3) == [[]] * 5


def test_watchdog_is_restarted_if_killed_and_ends_sessions_of_a_killed_process():
    """The helper itself: killed -> restarted with every live session; EOF -> sessions ended."""
    from conpty_widget.backends import watchdog

    scope: dict = {}
    exec(TRIAL_CODE, scope)
    first = scope["trial_terminal"]()
    helper = watchdog.helper_pid()
    assert helper is not None
    os.kill(helper, signal.SIGKILL)
    survivors([helper], timeout=10)
    second = scope["trial_terminal"]()  # registering notices the dead helper and starts another
    new_helper = watchdog.helper_pid()
    assert new_helper not in (None, helper)
    trees = [sorted(_session_members(t.pid)) for t in (first, second)]
    try:
        # Close the pipe as a dying kernel would: the new helper must end *both* sessions.
        with watchdog._lock:
            watchdog._helper.stdin.close()
            watchdog._helper.wait(20)
            watchdog._helper = None
        assert [survivors(tree, timeout=10) for tree in trees] == [[], []]
    finally:
        _reap(trees[0] + trees[1])
        first.close()
        second.close()


# -- 2. bad input -------------------------------------------------------------------------------

VIEW = "fuzz-view"
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=4,
)
_numbers = st.one_of(
    st.integers(-10, 3000),
    st.integers(),
    st.sampled_from([0, -1, 1000, 1001, 2000, 2001, 2**31, 2**63, -(2**63), 10**30]),
    st.booleans(),
    st.floats(),
    st.text(max_size=6),
    st.none(),
)
_buffers = st.lists(st.binary(max_size=64) | st.binary(max_size=64).map(memoryview), max_size=2)


def messages(json_only: bool = False) -> st.SearchStrategy:
    """Page messages, mostly malformed: wrong types, missing fields, bad sizes, unknown types."""
    json = _json.filter(lambda v: "nan" not in repr(v) and "inf" not in repr(v)) if json_only else _json
    kinds = st.sampled_from(["input", "ack", "resize", "hello", "sync", "bye", "output", "reset", ""]) | json
    views = st.sampled_from([VIEW, "other-view", "", "x" * 65, "../etc", "é"]) | st.text(alphabet="ab-_9", max_size=8) | json
    numbers = _numbers.filter(lambda v: not isinstance(v, float)) if json_only else _numbers
    fields = {"view": views, "data": st.text(max_size=40) | json, "offset": numbers, "rows": numbers,
              "cols": numbers, "version": json}
    return st.fixed_dictionaries({"type": kinds}, optional=fields) | json


def variants(content: object) -> list[object]:
    """The message as drawn, and (if it is an object) from the valid view: most drawn view ids
    are rejected first, and the fields behind that check deserve the same abuse."""
    return [content, {**content, "view": VIEW}] if isinstance(content, dict) else [content]


def still_echoes(deliver, read_until) -> None:
    """A fresh, well-behaved view attaches, opens the flow-control window, and sees its keys echoed."""
    view = f"check-{uuid.uuid4().hex[:8]}"
    marker = f"still-alive-{uuid.uuid4().hex[:8]}"
    deliver({"type": "hello", "view": view, "version": 1})
    deliver({"type": "input", "view": view, "data": marker})
    read_until(view, marker)


@pytest.fixture(scope="module")
def raw_cat():
    """A Terminal in this process running `cat` on a raw pty: random keystrokes can neither
    run commands nor send signals, and everything typed comes straight back."""
    from conpty_widget import Terminal

    t = Terminal(["sh", "-c", "stty raw -echo; echo ready; exec cat"])
    t.expect("ready")
    yield t
    t.close()


class _Records(logging.Handler):
    """Keeps the package's log records (lighter than caplog, which formats every one of them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fuzz_handler(t, examples: int) -> int:
    """Throw ``examples`` x 10 drawn messages (plus their valid-view variants) at ``t``'s handler;
    check nothing went wrong and the terminal still echoes; return how many were sent."""
    sent = 0

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(messages(), _buffers), min_size=10, max_size=10))
    def throw(batch):
        nonlocal sent
        for content, buffers in batch:
            for variant in variants(content):
                t._on_custom_msg(t, variant, buffers)  # the widget's real entry point
                sent += 1

    def read_until(view: str, marker: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            # Views the fuzz attached never acknowledge; ours does, which reopens the window.
            t._on_custom_msg(t, {"type": "ack", "view": view, "offset": t._session._flow.offset}, [])
            try:
                t.expect(marker, timeout=0.2)
                return
            except TimeoutError:
                pass
        raise TimeoutError(f"{marker!r} not echoed")

    logger, records = logging.getLogger("conpty_widget"), _Records()
    logger.addHandler(records)
    propagate, logger.propagate = logger.propagate, False
    try:
        # cat echoes what it is given, so the screen model also parses garbage output, e.g. an
        # ESC [ c with too many parameters (pyte raised on it); a view attaching afterwards
        # (still_echoes) renders that screen.
        t.write("\x1b[1;2;3c\x1b[5;5;5A\x1b]0;\xff\x07\x1b[?1049h\x1b[?1049l")
        throw()
        still_echoes(lambda msg: t._on_custom_msg(t, msg, []), read_until)
    finally:
        logger.removeHandler(records)
        logger.propagate = propagate
    # Every rejection was a deliberate ValueError, not a bug (TypeError, KeyError...) swallowed
    # by the handler's catch-all; nothing else went wrong on the session's threads.
    ignored = [r for r in records.records if r.getMessage().startswith("conpty_widget: ignored message")]
    assert ignored
    assert {type(r.args[-1]) for r in ignored} == {ValueError}
    assert not [r for r in records.records if r.levelno >= logging.ERROR]
    # The terminal works, and the widget and the pty agree on the size.
    assert t.exit_code is None
    assert (t.rows, t.cols) == (t._session.rows, t._session.cols) == t._session._pty.getwinsize()
    return sent


def test_ten_thousand_malformed_messages_at_the_handler(raw_cat):
    assert fuzz_handler(raw_cat, 600) >= 10_000


@pytest.fixture(scope="module")
def kernel_cat(kernel):
    """A raw `cat` Terminal inside the module's kernel, with its page and comm id."""
    _, kc = kernel
    page = Page(kc)
    page.execute("from conpty_widget import Terminal\n"
                 "fuzzed = Terminal(['sh', '-c', 'stty raw -echo; echo ready; exec cat'])\n"
                 "fuzzed.expect('ready')")
    # Record, in the kernel, why messages were rejected and whether anything logged an error.
    page.execute("import logging\n"
                 "class _Seen(logging.Handler):\n"
                 "    def emit(self, r):\n"
                 "        m = r.getMessage()\n"
                 "        fuzz_log.append('ERROR' if r.levelno >= logging.ERROR else type(r.args[-1]).__name__\n"
                 "                        if m.startswith('conpty_widget: ignored') else 'version'\n"
                 "                        if m.startswith('conpty_widget: view speaks protocol') else m)\n"
                 "fuzz_log = []\n"
                 "_seen = _Seen(logging.WARNING)\n"
                 "logging.getLogger('conpty_widget').addHandler(_seen)")
    yield page, page.terminal_comm()
    page.execute("logging.getLogger('conpty_widget').removeHandler(_seen)\nfuzzed.close()")


def test_malformed_messages_through_a_real_kernel(kernel_cat):
    page, comm = kernel_cat
    sender = View(page.kc, comm, view=VIEW)
    sent = 0

    @settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(messages(json_only=True), st.lists(st.binary(max_size=64), max_size=2)),
                    min_size=10, max_size=10))
    def throw(batch):
        nonlocal sent
        for content, buffers in batch:
            for variant in variants(content):
                sender.send_raw(variant, buffers=buffers)
                sent += 1
        page.pump(0)

    throw()
    assert sent >= 500
    views: dict[str, View] = {}

    def deliver(msg: dict) -> None:
        if msg["view"] not in views:
            views[msg["view"]] = View(page.kc, comm, view=msg["view"])
            page.views.append(views[msg["view"]])
        view = views[msg["view"]]
        view.send_raw(msg)

    still_echoes(deliver, lambda view, marker: page.read_until(views[view], marker.encode(), timeout=60))
    assert page.evaluate("fuzzed.exit_code") == "None"
    assert page.evaluate("(fuzzed.rows, fuzzed.cols) == (fuzzed._session.rows, fuzzed._session.cols)") == "True"
    # Messages reached the handler; each rejection was a deliberate ValueError (a hello of the
    # wrong version is served with a warning); nothing logged an error.
    assert set(ast.literal_eval(page.evaluate("sorted(set(fuzz_log))"))) <= {"ValueError", "version"}
    assert "ValueError" in page.evaluate("fuzz_log")


# -- 3. lost or repeated output ------------------------------------------------------------------


class ScreenView:
    """A view that follows js/src/widget.ts: it checks ``seq``, asks for a ``sync`` on a gap,
    ignores chunks until its ``reset``, and keeps what xterm.js would have been given since
    the last reset (the screen it reconstructs). ``tamper`` decides what each chunk becomes
    on the way in: ``[]`` drops it, two copies repeat it."""

    def __init__(self, page: Page, comm: str, tamper) -> None:
        self.page, self.tamper = page, tamper
        self.view = page.attach(comm)
        self.screen = bytearray()
        self.syncing = True
        self.next_seq = 0
        self.syncs = 0

    def _receive(self, msg: dict, buffers: list[bytes]) -> None:
        data = buffers[0] if buffers else b""
        if msg.get("type") == "reset" and msg.get("view") == self.view.view:
            self.screen[:] = data
            self.syncing = False
            self.next_seq = msg["seq"] + 1
        elif msg.get("type") == "output" and not self.syncing:
            if msg["seq"] != self.next_seq:
                self.syncing = True
                self.syncs += 1
                self.view.send({"type": "sync"})
                return
            self.next_seq += 1
            self.screen += data
            self.view.send({"type": "ack", "offset": msg["offset"] + len(data)})

    def display(self, rows: int = 24, cols: int = 80) -> list[str]:
        """What this view shows: its stream since the last reset, through a terminal emulator."""
        import pyte

        screen = pyte.Screen(cols, rows)
        pyte.ByteStream(screen).feed(bytes(self.screen))
        return [line.rstrip() for line in screen.display]

    def until(self, needle: bytes, timeout: float = 30, done=None) -> None:
        """Take messages until ``needle`` is on the screen (or until ``done()`` is true)."""
        deadline = time.monotonic() + timeout
        while not done() if done else (self.syncing or needle not in self.screen):
            msg, buffers = self.page.next_message(self.view, deadline - time.monotonic())
            for delivered in (self.tamper(msg, buffers) if msg.get("type") == "output" else [(msg, buffers)]):
                self._receive(*delivered)


def _tamper_once(condition, copies: int):
    done = []

    def tamper(msg: dict, buffers: list[bytes]) -> list:
        if not done and condition(buffers[0]):
            done.append(msg["seq"])
            return [(msg, buffers)] * copies
        return [(msg, buffers)]

    return tamper, done


@pytest.mark.parametrize("copies", [0, 2], ids=["dropped", "repeated"])
def test_a_lost_or_repeated_chunk_is_noticed_and_the_screen_repaired(kernel, copies):
    _, kc = kernel
    page = Page(kc)
    page.execute("from conpty_widget import Terminal\n"
                 "rs = Terminal(['bash', '--norc', '--noprofile'], env={'PS1': '$ ', 'HISTFILE': '/dev/null'})")
    tamper, tampered = _tamper_once(lambda data: b"first-42\r\n" in data, copies)
    view = ScreenView(page, page.terminal_comm(), tamper)
    view.until(b"$ ")
    view.view.send({"type": "input", "data": "echo first-$((6*7))\r"})
    view.until(b"", done=lambda: tampered)
    # A dropped chunk shows as a gap only when the next one comes: more output.
    view.view.send({"type": "input", "data": "echo second-$((1+1))\r"})
    view.until(b"", done=lambda: not view.syncing and re.search(rb"second-2\r\n(\x1b\[\?2004h)?\$ ", view.screen))
    assert tampered and view.syncs == 1
    # Repaired: the view shows what a fresh, untouched view shows, each line once.
    fresh = ScreenView(page, view.view.comm_id, lambda msg, buffers: [(msg, buffers)])
    fresh.until(b"$ ")
    shown = view.display()
    assert shown == fresh.display()
    assert sum("first-42" in line for line in shown) == 1 and sum("second-2" in line for line in shown) == 1
    page.execute("rs.close()")


# -- 4. and 5. big input, Unicode ----------------------------------------------------------------


def open_bash(page: Page, name: str) -> View:
    """``name`` = a bash Terminal in the page's kernel, with a view attached and its prompt read."""
    page.execute(f"from conpty_widget import Terminal\n"
                 f"{name} = Terminal(['bash', '--norc', '--noprofile'], env={{'PS1': '$ ', 'HISTFILE': '/dev/null'}})")
    view = page.attach(page.terminal_comm())
    page.read_until(view, b"$ ")
    return view


def test_ten_megabyte_paste_through_the_comm_arrives_byte_exact(kernel, tmp_path):
    """One 10 MB input message (xterm.js sends a paste as one onData string), into `cat > file`."""
    import base64

    _, kc = kernel
    page = Page(kc)
    view = open_bash(page, "paste")
    data = base64.encodebytes(random.Random(4).randbytes(7_500_000)).decode()  # 76-char lines: cooked mode
    target = tmp_path / "paste.txt"
    view.send({"type": "input", "data": f"stty -echo; echo READY; cat > {target}; stty echo; echo DONE-$((4*4))\r"})
    page.read_until(view, b"READY\r\n")
    view.send({"type": "input", "data": data})
    # No deadlock: the kernel answers while the child is still swallowing the paste.
    assert page.evaluate("1 + 1", timeout=30) == "2"
    view.send({"type": "input", "data": "\x04"})
    page.read_until(view, b"DONE-16\r\n", timeout=120)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data.encode()).hexdigest()
    page.execute("paste.close()")


def mixed_text(size: int, seed: int = 5) -> str:
    """``size`` UTF-8 bytes or more of lines mixing CJK, Hangul, emoji (with ZWJ sequences and
    flags), combining marks, Devanagari, Arabic, Greek, Cyrillic and Latin-1."""
    rng = random.Random(seed)
    pieces = [
        lambda: chr(rng.randint(0x4E00, 0x9FFF)),
        lambda: chr(rng.randint(0xAC00, 0xD7A3)),
        lambda: chr(rng.randint(0x1F300, 0x1F64F)),
        lambda: rng.choice(["👩\u200d👩\u200d👧", "🇯🇵", "👍🏽", "🏳️\u200d🌈"]),
        lambda: rng.choice("aeiou") + rng.choice(["\u0301", "\u0308\u0323", "\u0302"]),
        lambda: rng.choice(["क्षि", "नमस्ते", "مرحبا", "Ωμέγα", "Жук", "é", "ß", " "]),
    ]
    lines, total = [], 0
    while total < size:
        line = "".join(rng.choice(pieces)() for _ in range(rng.randint(5, 30)))
        lines.append(line)
        total += len(line.encode()) + 1
    return "\n".join(lines) + "\n"


def test_a_megabyte_of_mixed_unicode_in_and_out_without_replacement_characters(kernel, tmp_path):
    """In through the comm into `cat > file`, out through `cat file` in chunks cut anywhere."""
    _, kc = kernel
    page = Page(kc)
    view = open_bash(page, "uni")
    text = mixed_text(1_000_000)
    target = tmp_path / "unicode.txt"
    view.send({"type": "input", "data": f"stty -echo; echo READY; cat > {target}; stty echo\r"})
    page.read_until(view, b"READY\r\n")
    view.send({"type": "input", "data": text})
    view.send({"type": "input", "data": "\x04"})
    view.send({"type": "input", "data": f"echo; cat {target}; echo END-$((5*5))\r"})
    out = page.read_until(view, b"END-25\r\n", timeout=120)
    assert target.read_text(encoding="utf-8") == text
    # xterm.js decodes the stream with a streaming decoder: decoding it whole is equivalent.
    shown = codecs.decode(out, "utf-8", "replace")
    assert "\ufffd" not in shown
    assert text.replace("\n", "\r\n") in shown
    page.execute("uni.close()")


def test_a_megabyte_of_mixed_unicode_reaches_expect_without_replacement_characters(tmp_path):
    from conpty_widget.session import Session

    text = mixed_text(1_000_000, seed=6)
    source = tmp_path / "unicode.txt"
    source.write_text(text, encoding="utf-8")
    s = Session(["sh", "-c", f"cat {source}; echo END-$((6*6))"])
    try:
        match = s.expect(r"END-36")  # a plain needle: `(.*)END` would rescan the megabyte quadratically
        shown = match.string[: match.start()]
    finally:
        s.close()
    assert "\ufffd" not in shown and shown == text.replace("\n", "\r\n")


# -- 6. resize storm -----------------------------------------------------------------------------


def test_a_thousand_resizes_then_stty_reports_the_last(kernel):
    _, kc = kernel
    page = Page(kc)
    view = open_bash(page, "storm")
    rng = random.Random(6)
    start = time.monotonic()
    for _ in range(999):
        view.send({"type": "resize", "rows": rng.randint(1, 200), "cols": rng.randint(1, 400)})
    view.send({"type": "resize", "rows": 37, "cols": 111})
    sent_in = time.monotonic() - start
    view.send({"type": "input", "data": "stty size\r"})
    page.read_until(view, b"37 111\r\n", timeout=60)
    assert sent_in < 5  # the storm really was a storm (a second is typical), not a trickle
    assert page.evaluate("(storm.rows, storm.cols, storm._session.rows, storm._session.cols)") == "(37, 111, 37, 111)"
    deadline = time.monotonic() + 30
    while (page.states[view.comm_id].get("rows"), page.states[view.comm_id].get("cols")) != (37, 111):
        assert time.monotonic() < deadline, "the page's traits never settled on the last size"
        page.pump()
    page.execute("storm.close()")


# -- 7., 8., 9. many terminals, no network, environment ------------------------------------------


@pytest.fixture(scope="module")
def quiet_kernel():
    """A kernel of its own: descriptor, thread and socket counts are not disturbed by other tests."""
    km, kc = start_kernel()
    yield km, kc, Page(kc)
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def _counts(pid: int) -> tuple[list[str], int]:
    """The process's open descriptors (what they point to, so a failure shows the leak) and threads."""
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds.append(os.readlink(f"/proc/{pid}/fd/{fd}").split("[")[0])
        except OSError:
            pass
    return sorted(fds), psutil.Process(pid).num_threads()


def open_close_terminals(km, page: Page, n: int) -> None:
    """``n`` terminals opened, used and closed in turn in one kernel: its descriptors and threads
    end where they started, and no child is left but the watchdog."""
    pid = km.provisioner.process.pid
    # One terminal first: imports, the watchdog's pipe and ipykernel's own lazy threads are
    # created once per kernel, not per terminal.
    page.execute(TRIAL_CODE + "\nwarm = Terminal(['bash', '--norc', '--noprofile']); warm.close()")
    before = _counts(pid)
    page.execute(
        f"for i in range({n}):\n"
        "    t = Terminal(['bash', '--norc', '--noprofile'], env={'PS1': '$ '})\n"
        "    t.write(f'echo round-{i}\\r'); t.expect(f'\\rround-{i}\\r\\n')\n"
        "    t.close()\n"
        "del t",
        timeout=30 + 2 * n,
    )
    # ipykernel gives each thread that publishes (our reader, when it sets exit_code) a socket of
    # its own and closes those of finished threads every 10 s: let that happen before comparing.
    deadline = time.monotonic() + 40
    while True:
        after = _counts(pid)
        leaked = collections.Counter(after[0]) - collections.Counter(before[0])
        if (not leaked and after[1] == before[1]) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not leaked and after[1] == before[1], (leaked, before[1], after[1])
    helper = ast.literal_eval(page.evaluate("__import__('conpty_widget.backends.watchdog').backends.watchdog.helper_pid()"))
    children = psutil.Process(pid).children(recursive=True)
    assert [c.pid for c in children if c.pid != helper and c.status() != psutil.STATUS_ZOMBIE] == []


def test_fifty_terminals_open_and_close_leave_fds_and_threads_at_baseline(quiet_kernel):
    km, _, page = quiet_kernel
    open_close_terminals(km, page, 50)


def _listening(pids: list[int]) -> set[tuple]:
    """Listening or bound-unconnected sockets owned by ``pids``: from /proc/net and from psutil."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    found = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{table}") as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            # TCP state 0A is LISTEN; any UDP socket of ours is a bound port.
            if row[9] in inodes and (table.startswith("udp") or row[3] == "0A"):
                found.add((table, row[1]))
    with open("/proc/net/unix") as f:
        for row in (line.split() for line in f.readlines()[1:]):
            if row[6] in inodes and int(row[3], 16) & 0x10000:  # __SO_ACCEPTCON: listening
                found.add(("unix", row[-1] if len(row) > 7 else "(unnamed)"))
    for pid in pids:
        try:
            for c in psutil.Process(pid).net_connections(kind="all"):
                if c.status == psutil.CONN_LISTEN:
                    found.add(("psutil", str(c.laddr)))
        except psutil.Error:
            pass
    return found


def test_a_terminal_opens_no_listening_socket(quiet_kernel):
    km, _, page = quiet_kernel
    kernel_pid = km.provisioner.process.pid

    def tree() -> list[int]:
        return [kernel_pid] + [c.pid for c in psutil.Process(kernel_pid).children(recursive=True)]

    before = _listening(tree())
    assert any(kind == "tcp" for kind, _ in before), "sanity: the kernel's own ZMQ ports are seen"
    view = open_bash(page, "net")
    view.send({"type": "input", "data": "echo used-$((7*7))\r"})
    page.read_until(view, b"used-49\r\n")
    terminal_pids = [int(page.evaluate("net.pid"))] + [c.pid for c in psutil.Process(int(page.evaluate("net.pid"))).children(recursive=True)]
    # The one new socket is the direct path's, a Unix socket in a directory only the user can enter.
    direct = ast.literal_eval(page.evaluate("__import__('conpty_widget.direct').direct.listener().endpoint.directory"))
    added = _listening(tree()) - before
    assert added <= {("unix", os.path.join(direct, "s"))}, added
    assert os.stat(direct).st_mode & 0o777 == 0o700
    assert _listening(terminal_pids) == set()
    page.execute("net.close()")
    assert _listening(tree()) - before == added


def test_the_childs_environment_is_clean_in_a_real_kernel(quiet_kernel):
    _, _, page = quiet_kernel
    kernel_env = ast.literal_eval(page.evaluate("dict(__import__('os').environ)"))
    # Sanity: the kernel really sets what must not leak (ipykernel and jupyter_client do).
    for name in ("PAGER", "GIT_PAGER", "MPLBACKEND", "JPY_PARENT_PID"):
        assert name in kernel_env, name

    def child_env(env: str) -> dict[str, str]:
        page.execute(f"from conpty_widget import Terminal\ne = Terminal(['env'], env={env}); e.wait(30)")
        text = ast.literal_eval(page.evaluate("e.expect(r'(?s).*', timeout=10).group(0)"))
        page.execute("e.close()")
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    env = child_env("None")
    assert env["TERM"] == "xterm-256color"
    leaked = [k for k in env if k in ("PAGER", "GIT_PAGER", "MPLBACKEND") or k.startswith("JPY_")]
    assert leaked == []
    assert env.get("PATH") == kernel_env.get("PATH")
    # What the user passes explicitly does come through.
    env = child_env("{'PAGER': 'less', 'JPY_MINE': 'yes', 'MPLBACKEND': 'agg'}")
    assert (env["PAGER"], env["JPY_MINE"], env["MPLBACKEND"]) == ("less", "yes", "agg")
