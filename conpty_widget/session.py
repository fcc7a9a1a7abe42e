"""A terminal session: the child in a pty, and the threads that move its bytes.

Three threads per session, each with one job, so nothing ever waits on the kernel's
event loop and no write can block a read:

* the *reader* reads the pty, feeds the ``expect`` buffer and queues output; it stops
  reading while the read-ahead is full (the views are behind), so the child blocks exactly
  as in a real terminal;
* the *sender* cuts queued output into numbered chunks (at most ``CHUNK_MAX`` bytes,
  paced by ``PACER``, shared by every terminal of the kernel) and sends them on each
  transport with a view (``views.Transport``); sparse output such as an echo goes out from the reader at once;
* the *writer* feeds input to the pty from an unbounded-in-time, bounded-in-size queue
  (typing, with nothing queued, is written at once by the thread that received it).

Flow control (``output.FlowControl``): chunks carry their byte offset in the output stream;
views acknowledge the offset their xterm.js has parsed. At most ``WINDOW`` bytes may be sent and not yet
acknowledged by the most advanced view, and at most ``READAHEAD`` bytes read and not yet
sent: the next chunk is ready the moment an acknowledgement opens the window. With no
view attached (headless), output keeps being read into bounded buffers. A view that stays
silent for ``VIEW_TIMEOUT`` while output waits is dropped (a long busy cell can hold its
acknowledgements back); when it speaks again it is re-attached with a fresh screen.

Views live in one ``ViewTable`` (conpty_widget/views.py), each on its transport: output goes
once to each transport that has a view on it, a screen reset only to its view's transport.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import logging
import os
import re
import signal
import threading
import time
import weakref
from collections.abc import Callable, Mapping

from . import shell_integration
from .backends import Command, PtyProcess, backend
from .output import ExpectBuffer, FlowControl, OutputLog
from .screen import QueryScanner, ScreenModel, answer
from .views import MAX_VIEWS, CommTransport, Transport, ViewTable

log = logging.getLogger(__name__)


#: Receives ``(kind, data, t)``: ``"o"`` output as read, ``"i"`` input as written, ``"r"`` a
#: resize (``b"COLSxROWS"``), at ``t = time.monotonic()`` (``Session.observe``).
Observer = Callable[[str, bytes, float], None]


# Sizes, from bench/browser.py in JupyterLab (bench/RESULTS.md has the trade-off measured):
# every message costs the page more than its bytes do (an acknowledgement also makes the kernel
# publish busy and idle, which JupyterLab shows, favicon included), so chunks are big and
# acknowledged once each; but all that is queued ahead of a key typed mid-flood (read-ahead +
# window) delays its echo: 2 x 768 KiB keeps that delay near 100 ms at the page's ~15 MB/s.
WINDOW = 768 * 1024  # bytes sent to the views and not yet acknowledged
READAHEAD = 768 * 1024  # bytes read and not yet sent, ready for when the window opens
CHUNK_MAX = 768 * 1024  # largest output message
# In a flood, wait for a batch: a flood read as it comes (4 KiB pty reads) went out in 4-8 KiB
# messages, at half the speed (bench/throughput.py, bench/RESULTS.md).
FLOOD_BYTES = 16 * 1024  # a chunk this big (or a full read-ahead) means a flood: batch the next ones...
FLOOD_BATCH = 768 * 1024  # ...until this much is waiting...
FLOOD_DELAY = 0.015  # ...or for at most this long (seconds)
DIRECT_MAX = 1024  # a read smaller than this, with nothing else waiting, goes out at once
REPLAY_MAX = 1024 * 1024  # recent output kept for the screen model (new views, saved screens)
EXPECT_MAX = 1024 * 1024  # characters of unconsumed output kept for expect()
# expect() searches all unconsumed output: waking it for every 4 KiB read of a flood made the
# flood 8x slower. It is woken when output starts, per chunk cut, and per this many bytes read.
EXPECT_WAKE = 64 * 1024
INPUT_MAX = 64 * 1024 * 1024  # input queued for the child, not yet written
VIEW_TIMEOUT = 30.0  # seconds a view may leave the window full before it is dropped

# Set by Jupyter kernels for their own display, wrong for a terminal.
_KERNEL_ENV = ("PAGER", "GIT_PAGER", "MPLBACKEND", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR")
_KERNEL_ENV_PREFIXES = ("JPY_", "PYDEVD_")


def child_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The environment for the child: the kernel's, cleaned, then ``env`` on top (``None`` removes)."""
    result = {
        k: v
        for k, v in os.environ.items()
        if k not in _KERNEL_ENV and not k.startswith(_KERNEL_ENV_PREFIXES)
    }
    result.update(TERM="xterm-256color", COLORTERM="truecolor")
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


class Pacer:
    """A token bucket for output messages, shared by every terminal of the process (kernel).

    Jupyter's server drops every iopub message over 1000/s, averaged over 3 s, counting each
    kernel's messages together, comm messages included (``iopub_msg_rate_limit``). A fixed
    interval between one terminal's messages instead delayed each echo of fast typing by up
    to the interval (bench/latency.py, bench/RESULTS.md), and did not add up over terminals.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._tokens, self._at = self.burst, clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def delay(self) -> float:
        """Seconds until a message may go out (0: now)."""
        with self._lock:
            self._refill()
            return max(0.0, (1 - self._tokens) / self.rate)

    def take(self) -> None:
        """A message went out. Terminals racing for the last token may overdraw by one each:
        the debt is paid by the next waits, so the average rate holds."""
        with self._lock:
            self._refill()
            self._tokens -= 1


#: Half the server's limit, leaving the rest to the kernel's other output (prints, widgets).
PACER = Pacer(rate=500.0, burst=100)


def exit_banner(code: int) -> bytes:
    """The line a view shows when the child has exited (a negative code: killed by that signal)."""
    if code >= 0:
        return f"\r\n[process exited with code {code}]\r\n".encode()
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    how = f"hung up ({name})" if name == "SIGHUP" else f"killed by {name}"
    return f"\r\n[process {how}]\r\n".encode()


class Session:
    """A child process in a pseudo-terminal, with its reader, sender and writer threads."""

    def __init__(
        self,
        command: Command = None,
        *,
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str | None] | None = None,
        rows: int = 24,
        cols: int = 80,
        comm: Callable[[dict, bytes], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        pty_class = backend()
        self.argv = pty_class.command_argv(command)
        # The child first: spawn() validates the command, the folder and the size.
        spawn_argv, spawn_env = shell_integration.inject(self.argv, child_env(env))  # OSC 133 marks
        self._pty: PtyProcess = pty_class.spawn(spawn_argv, cwd=cwd, env=spawn_env, rows=rows, cols=cols)
        self._finalizer = weakref.finalize(self, self._pty.close)
        self.pid = self._pty.pid
        self.rows, self.cols = rows, cols
        #: The widget's comm, sent ``(message, payload)`` in stream order (attach()'s default transport).
        self.comm = CommTransport(comm) if comm is not None else None
        self._on_exit = on_exit

        self._cond = threading.Condition()  # guards everything below
        self._send_lock = threading.Lock()  # orders what is sent: chunks and resets
        self._flow = FlowControl(WINDOW, READAHEAD, CHUNK_MAX, FLOOD_BYTES, DIRECT_MAX)
        self._log = OutputLog(rows, cols, keep=REPLAY_MAX)  # everything read, recent part
        self._queries = QueryScanner()
        self._screen = ScreenModel(self.output_since, rows, cols)
        self.views = ViewTable(write=self._typed)
        self._expecting = 0  # threads waiting in expect()
        self._unexpected = ExpectBuffer(EXPECT_MAX)  # output expect() has not consumed
        self._input: collections.deque[bytes] = collections.deque()
        self._input_size = 0
        self._eof = False  # reader finished, exit banner queued
        self._closed = False
        self.exit_code: int | None = None
        self._observers: tuple[Observer, ...] = ()  # observe(): called with the lock held

        self._reader = threading.Thread(target=self._read_loop, name=f"conpty-reader-{self.pid}", daemon=True)
        self._threads = [
            self._reader,
            threading.Thread(target=self._send_loop, name=f"conpty-sender-{self.pid}", daemon=True),
            threading.Thread(target=self._write_loop, name=f"conpty-writer-{self.pid}", daemon=True),
        ]
        for t in self._threads:
            t.start()
        _live_sessions.add(self)

    # -- output ---------------------------------------------------------------------------

    def _read_loop(self) -> None:
        while True:
            self._wait_for_room()
            try:
                data = self._pty.read(65536)
            except OSError:
                log.exception("reading the terminal failed")
                data = b""
            if not data:
                break
            at, viewed, at_once = self._take(data)
            if at_once:
                self._send_now()
            if viewed:
                self._queries.skip()
            else:
                self._answer_queries(data, at)
        self._finish()

    def _wait_for_room(self) -> None:
        """While the read-ahead is full, read no more: the child blocks, as in a real terminal.
        Views silent for ``VIEW_TIMEOUT`` meanwhile are dropped (not while a view is being
        attached: rendering its screen can take seconds)."""
        with self._cond:
            if self._flow.full(bool(self.views)):
                self._flow.flood = True
            while self._flow.full(bool(self.views)) and not self._closed:
                if self._cond.wait(timeout=1.0) or self._send_lock.locked():
                    continue
                if self.views.silent_for() > VIEW_TIMEOUT:
                    log.info("views silent for %.0fs with output waiting: dropped", VIEW_TIMEOUT)
                    self.views.drop_all()

    def _take(self, data: bytes) -> tuple[int, bool, bool]:
        """Output read: queue it for the views, the screen model and expect(). Returns its
        stream offset, whether a view is attached, and whether to send it from this thread."""
        with self._cond:
            at = self._log.end  # stream offset of data[0]
            viewed = bool(self.views)
            self._queue(data)
            self._unexpected.feed(data)
            # Sparse output (an echo) goes out from this thread: handing it to the sender cost a
            # thread switch, about 1.5 ms while the kernel's main thread holds the GIL.
            at_once = self._flow.at_once(viewed, len(data))
            if at_once:
                at_once = PACER.delay() == 0
            # Else wake the other threads only when it matters: notify_all wakes the sender and
            # the writer, and waking them for every 4 KiB read of a flood cost more GIL
            # hand-offs than the bytes were worth (about 1.6x the throughput without).
            # Other waiters on output are woken at the latest when the sender cuts it.
            pending = len(self._flow.pending)
            if not at_once and (
                pending == len(data) or pending >= FLOOD_BATCH or self._flow.full(viewed)
                or self._expecting and self._unexpected.undecoded >= EXPECT_WAKE
            ):  # fmt: skip
                self._cond.notify_all()
        return at, viewed, at_once

    def _send_now(self) -> None:
        """Send the output just read, from the reader; while another thread sends (attach()),
        it is the sender's."""
        if not self._send_lock.acquire(blocking=False):
            with self._cond:
                self._cond.notify_all()
            return
        try:
            self._cut(windowed=True)
        finally:
            self._send_lock.release()

    def _finish(self) -> None:
        """The child exited (or we closed): hang up the rest of its session, as a terminal does;
        the exit code, then the exit banner, end the output."""
        self._pty.terminate()
        code = self._pty.wait()
        assert code is not None
        with self._cond:
            self.exit_code = code
        # Before end of output is announced: whoever wait()s then sees the exit everywhere.
        if self._on_exit is not None:
            try:
                self._on_exit(code)
            except Exception:
                log.exception("exit callback failed")
        with self._cond:
            self._queue(exit_banner(code))
            self._eof = True
            self._cond.notify_all()

    def _queue(self, data: bytes) -> None:
        """Output read: for the views, and for the screen model (lock held)."""
        self._flow.read(data)
        self._log.append(data)
        if self._observers:
            self._notify("o", data)

    def _answer_queries(self, data: bytes, at: int) -> None:
        """With no view to answer them, answer the terminal queries in ``data`` (at offset ``at``)."""
        for query, end in self._queries.scan(data, at):
            reply = answer(query, functools.partial(self.screen_model, end))
            with contextlib.suppress(BrokenPipeError, BufferError):
                if reply:
                    self.write(reply)

    def _send_loop(self) -> None:
        flow = self._flow
        while True:
            with self._cond:
                # Until the reader's last bytes (the exit banner, also after close()) are cut:
                # the saved screen of a closed terminal must not depend on timing.
                quiet_since = time.monotonic()
                while not flow.pending and not self._eof:
                    self._cond.wait()
                if not flow.pending:
                    return
                if time.monotonic() - quiet_since > FLOOD_DELAY:
                    flow.flood = False  # output paused: the next key's echo is not a flood
                if self.views:
                    self._pace()
            with self._send_lock:
                self._cut(windowed=not self._closed)  # closed: the rest is for the saved screen

    def _pace(self) -> None:
        """Under load, wait before the next chunk (lock held): a quiet terminal echoes at once,
        a flood is batched, and no chunk goes out before the views' window has room for it."""
        flow = self._flow
        while (wait := PACER.delay()) > 0 and not self._closed:
            self._cond.wait(wait)
        if flow.flood:  # bounded by FLOOD_DELAY; a full window cannot grow: send
            due = time.monotonic() + FLOOD_DELAY
            while (
                len(flow.pending) < FLOOD_BATCH
                and not (flow.full(bool(self.views)) or self._closed or self._eof)
                and (now := time.monotonic()) < due
            ):
                self._cond.wait(due - now)
            flow.settle(bool(self.views))
        # Room in the views' window for the batch (or all there is); acks wake us.
        while flow.room(bool(self.views)) < min(len(flow.pending), FLOOD_BATCH, WINDOW) and not self._closed:
            self._cond.wait(1.0)

    def _cut(self, windowed: bool) -> None:
        """Cut waiting output into the next chunk (if ``windowed``, no more than the views'
        window has room for) and send it to the views (``_send_lock`` held)."""
        with self._cond:
            viewed = bool(self.views)
            cut = self._flow.cut(viewed, windowed)
            if cut is None:
                return
            if viewed:
                PACER.take()
            self._cond.notify_all()
        if viewed:
            self._emit(*cut)

    def _emit(self, msg: dict, payload: bytes, to: Transport | None = None) -> None:
        """Send to ``to``, or once on each transport with a view."""
        for transport in [to] if to is not None else self.views.transports():
            try:
                transport.send(msg, payload)
            except Exception:
                log.exception("sending terminal output over %s failed", transport.name)

    def output_since(self, offset: int) -> tuple[int, bytes, list[tuple[int, int, int]]]:
        """Output read so far (sent or not yet), from stream offset ``offset`` on as far as still kept.

        Returns ``(start, data, resizes)``: ``start`` is past ``offset`` when older output was
        dropped; ``resizes`` are the ``(offset, rows, cols)`` size changes from ``start`` on.
        """
        with self._cond:
            return self._log.since(offset)

    def wait_output(self, timeout: float | None, beyond: int = 0) -> int:
        """Wait until the child has written more than ``beyond`` bytes in all (or exited); return how many."""
        with self._cond:
            self._cond.wait_for(lambda: self._log.end > beyond or self._eof, timeout)
            return self._log.end

    def wait_until(self, done: Callable[[], bool], timeout: float | None, step: float | None = None) -> bool:
        """Wait up to ``timeout`` (None: no limit) until ``done()``, checking it as output comes
        (and every ``step`` seconds, for conditions that change without output); whether it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = self.wait_output(0)
        while not done():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            wait = left if step is None else step if left is None else min(left, step)
            seen = self.wait_output(wait, beyond=seen)
        return True

    def screen_model(self, upto: int | None = None) -> ScreenModel:
        """The screen model, up to date with all output read so far (or up to offset ``upto``)."""
        self._screen.update(upto)
        return self._screen

    # -- views (called by the widget from whatever thread delivers page messages) --------

    def attach(self, view: str, transport: Transport | None = None) -> bool:
        """A view appeared (on ``transport``, default the comm): send it the current screen,
        then the live stream. False when ``MAX_VIEWS`` others are attached."""
        transport = transport or self.comm
        if transport is None:
            raise ValueError("no transport to reach the view")
        with self._send_lock:
            # Output read but not yet sent goes out first, so the new view's screen is all
            # that has been read (what expect() already saw), whatever the pacing.
            with self._cond:
                read = self._log.end
            while self._flow.offset < read:
                self._cut(windowed=False)
            with self._cond:
                if not self.views.add(view, transport):
                    # Each new view costs a screen snapshot: a page inventing ids gets no more.
                    log.warning("conpty_widget: %d views already attached; ignored view %r", MAX_VIEWS, view)
                    return False
                seq, offset = self._flow.reset()
                self._cond.notify_all()
            # The current screen, rendered by the model: right for full-screen programs, and bounded.
            self._screen.update(upto=offset)
            snapshot = self._screen.ansi().encode("utf-8")
            self._emit({"type": "reset", "view": view, "seq": seq, "offset": offset}, snapshot, to=transport)
        self.views.heard(view)  # its silence counts from its screen on
        return True

    def detach(self, view: str) -> None:
        """A view said goodbye; the window no longer waits for it, and late messages of it are ignored."""
        with self._cond:
            self.views.remove(view)
            self._cond.notify_all()

    def disconnect(self, transport: Transport) -> list[str]:
        """A transport is gone (a closed connection): detach its views; they may come back."""
        with self._cond:
            gone = self.views.remove_transport(transport)
            self._cond.notify_all()
        return gone

    def hear(self, view: str, transport: Transport | None = None) -> bool:
        """``view`` sent a message: note it; a view dropped for silence (or whose connection
        broke) is attached again with a fresh screen. False for a view not attached."""
        if self.views.heard(view):
            return True
        return self.views.dropped(view) and self.attach(view, transport)

    def ack(self, view: str, offset: int, transport: Transport | None = None) -> None:
        """A view has parsed the stream up to ``offset``."""
        if self.views.heard(view):
            with self._cond:
                self._flow.ack(offset)
                self._cond.notify_all()
        else:
            self.hear(view, transport)  # its reset carries the offset to ack from

    # -- input ----------------------------------------------------------------------------

    def write(self, data: str | bytes) -> None:
        """Queue input for the child, exactly as if typed; never blocks."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes str or bytes, not {type(data).__name__}")
        data = bytes(data)
        with self._cond:
            if self._eof or self._closed:
                raise BrokenPipeError(f"the terminal's process has exited (code {self.exit_code})")
            if self._input_size + len(data) > INPUT_MAX:
                raise BufferError(
                    f"{self._input_size} bytes of input are still waiting for the child to read them"
                )
            if self._observers:
                self._notify("i", data)
            if not self._input_size:
                # Nothing queued or being written: write from this thread, saving the writer's
                # wake-up (about 0.2 ms of each echo, bench/latency.py). Errors are the writer's.
                with contextlib.suppress(OSError):
                    data = data[self._pty.write_nowait(data) :]
                if not data:
                    return
            self._input.append(data)
            self._input_size += len(data)
            self._cond.notify_all()

    def _typed(self, data: bytes) -> None:
        """Keys from a view (``views.InputOrder``): written while the child runs."""
        if self.running:
            self.write(data)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._input and not (self._eof or self._closed):
                    self._cond.wait()
                if self._eof or self._closed:
                    return
                data = self._input.popleft()
            try:
                self._pty.write(data)
            except OSError:
                return
            finally:
                with self._cond:
                    self._input_size -= len(data)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the terminal (rows, then columns)."""
        with self._cond:
            if self._eof or self._closed or (rows, cols) == (self.rows, self.cols):
                return
            self._pty.setwinsize(rows, cols)
            self.rows, self.cols = rows, cols
            self._log.resize(rows, cols)
            if self._observers:
                self._notify("r", f"{cols}x{rows}".encode())

    # -- observers (conpty_widget.recording) ------------------------------------------------

    def observe(self, observer: Observer) -> tuple[int, Callable[[], None]]:
        """Call ``observer`` with every output read, input written and resize from now on, in
        stream order, with the session's lock held (it must be quick: the recorder appends to a
        list). Returns the stream offset it starts at (``screen_model(upto=...)`` is the screen
        there) and a function that stops it."""

        def stop() -> None:
            with self._cond:
                self._observers = tuple(o for o in self._observers if o is not observer)

        with self._cond:
            self._observers = (*self._observers, observer)
            return self._log.end, stop

    def _notify(self, kind: str, data: bytes) -> None:
        now = time.monotonic()
        for observer in self._observers:
            try:
                observer(kind, data, now)
            except Exception:
                log.exception("an output observer failed")

    # -- scripting ------------------------------------------------------------------------

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = 30) -> re.Match[str]:
        """Wait for ``pattern`` in output not yet consumed; consume through the match."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                m = self._unexpected.search(regex, final=self._eof)
                if m is not None:
                    return m
                if self._eof:
                    raise EOFError(
                        f"process exited (code {self.exit_code}) before {regex.pattern!r} appeared; "
                        f"last output: {self._unexpected.tail()!r}"
                    )
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"{regex.pattern!r} did not appear within {timeout}s; last output: {self._unexpected.tail()!r}"
                    )
                self._expecting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._expecting -= 1

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit and its output to be read; return its exit code."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._eof, timeout):
                raise TimeoutError(f"process {self.pid} still running after {timeout}s")
            assert self.exit_code is not None
            return self.exit_code

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """End every process of the terminal, stop the threads, free the pty; idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self.views.roll_call.cancel()
        _live_sessions.discard(self)
        self._pty.terminate()
        me = threading.current_thread()
        if self._reader is not me:
            self._reader.join()
        self._pty.close()
        for t in self._threads:
            if t is not me:
                t.join()
        self._finalizer.detach()

    @property
    def running(self) -> bool:
        return self.exit_code is None and not self._closed


_live_sessions: weakref.WeakSet[Session] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Interpreter (kernel) shutdown ends every terminal's processes, all at once: one after
    another, each job that ignores SIGHUP would add the grace periods (~2 s), and a kernel
    manager kills a kernel that takes longer than a few seconds (the watchdog then ends the
    rest, later)."""
    sessions = list(_live_sessions)
    if sessions:
        with contextlib.suppress(Exception):
            backend().terminate_all([s._pty for s in sessions])
    for session in sessions:
        with contextlib.suppress(Exception):
            session.close()
