"""The Jupyter widget: traits, and the message protocol between the kernel and its views.

Protocol version 1. Messages travel on one of two transports, with the same meaning on both:

* the widget's comm: anywidget custom messages (``comm_msg``), output as raw bytes in the
  message's first binary buffer, never as text; one kernel message reaches every view on it;
* the direct path (``conpty_widget.direct``; where the server companion runs on the kernel's
  machine): a websocket per view, relayed to the kernel's Unix socket, bypassing the kernel's
  channels, their busy/idle status, rate limit and busy cells. Each binary frame is a 4-byte
  big-endian header length, the JSON header, then the payload.

A view first tries the direct path named by the ``_direct`` trait and falls back to the comm
when it cannot connect or its connection breaks (then it says ``hello`` again there); the
``transports`` trait says which path each attached view uses. A view ignores the comm's
messages while it is on the direct path.

Kernel -> views (sent by the session's threads, in stream order):

* ``{"type": "output", "seq": n, "offset": o}`` + bytes: chunk number ``n`` (1, 2, ...),
  whose first byte is byte ``o`` of the terminal's output stream. Sent once on each transport
  with a view on it; chunks are numbered once for all.
* ``{"type": "reset", "view": id, "seq": n, "offset": o}`` + bytes: for view ``id`` only:
  clear the screen and write these bytes (the current screen); the next chunk is ``n + 1``
  and the stream continues at offset ``o``.
* ``{"type": "ended", "model_id": id, "data": bundle, "metadata": m}`` (on the comm, once the
  terminal has ended): the output that every output showing widget ``id`` becomes, its last
  screen (``displays.Displays.end``); the page replaces those its notebook loaded from a file.
* ``{"type": "roll_call"}`` (sent when a new view says ``hello``): every view that can measure
  its box answers with a ``resize``; the sizes of views silent for ``views.ROLL_CALL_TIMEOUT`` (a
  crashed page never says ``bye``) stop counting until they speak again.

Views -> kernel (``id`` is a random string a view picks when it renders):

* ``{"type": "hello", "view": id, "version": 1}``: a view rendered; answered by a ``reset``.
  On the direct path it must be a connection's first message and also carry ``terminal`` from
  ``_direct`` and the token; a connection whose first message is anything else is refused.
* ``{"type": "direct", "view": id}`` (on the comm): answered there by ``{"type": "direct",
  "view": id, "token": t}``, the token of the direct path, which is not in ``_direct``: a
  notebook saved with widget state keeps no token, and a page loaded later asks the live kernel.
* ``{"type": "ack", "view": id, "offset": o}``: xterm.js has parsed the stream up to ``o``;
  this opens the flow-control window. Sent at once past ``ACK_BYTES`` unacknowledged, soon
  past a few KiB, and a little echo only with the next input or after a second (js/src/stream.ts):
  typing costs one message per key each way.
* ``{"type": "sync", "view": id}``: the view saw a gap in ``seq``; answered by a ``reset``.
* ``{"type": "input", "view": id, "n": k, "data": str, "ack": o}``: keys or paste, as typed; or
  the same without ``data`` and the raw bytes in the first buffer (xterm's binary mouse reports).
  ``n`` (1, 2, ... per view; optional) numbers a view's input: the kernel writes it in that order
  whatever order the host delivers it in (``views.InputOrder``). ``ack`` (optional)
  acknowledges as an ``ack`` message would.
* ``{"type": "resize", "view": id, "rows": r, "cols": c}``: the size that fits the view's box.
  The pty gets the smallest rows and columns any view asked for (as tmux does), so that every
  view shows all of it; views follow the ``rows``/``cols`` traits.
* ``{"type": "title", "view": id, "title": str}``: a program set the window title (OSC 0 or 2);
  sent by the answering view (``_answerer``) only, when it differs from the ``title`` trait,
  which the kernel sets (control characters removed, at most ``TITLE_MAX`` characters) and
  every view shows.
* ``{"type": "bye", "view": id}``: the view is going away.

A view dropped after ``VIEW_TIMEOUT`` of silence with output waiting (e.g. behind a long busy
cell), or whose direct connection broke, is attached again with a fresh screen when it sends
``input``, ``ack`` or ``resize``; other views must say ``hello`` first.

Synced traits: ``command``, ``rows``, ``cols`` (the pty's size; views follow it), ``exit_code``
(``None`` while running; views stop taking input once it is set), ``transports``, ``_direct``,
``_conpty_build`` (xterm.js's ``windowsPty``), ``_answerer`` (the one view whose xterm.js
answers terminal queries; the others drop their answers), and ``save_screen`` and
``_snapshot``: the screen as ANSI text (bounded, see ``screen.SNAPSHOT_MAX``), refreshed when the
kernel looks at the screen (``run``, ``screen_text``, ``wait``, exit, ``close``; not ``expect``,
which scripts call in loops), and kept current by an open view in its page's model (never sent
back), so that it is in the widget state a notebook saves; a view paints it before any kernel
answers. Empty when ``save_screen`` is off. What the view adds to a terminal: ``title``
(read-only, from the ``title`` message), ``font_size``, ``copy_on_select``, ``right_click_paste``,
``images``, ``image_memory``, ``renderer``; the view may set ``font_size`` (its zoom keys),
which the kernel validates (a rejected value leaves the old one).
Malformed messages are logged and ignored: they never raise into the kernel.
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import secrets
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anywidget
import traitlets

from . import direct, hosts, jobs, shell_integration
from .backends import MAX_COLS, MAX_ROWS, check_size, conpty_build
from .bundle import LOADER, bundle_trait, bundle_traits
from .displays import Displays
from .jobs import Job
from .recording import IDLE_TIME_LIMIT, MAX_BYTES, PathLike, Recorder, Recording
from .scripting import RunResult, Scripter
from .session import Command, Session
from .views import Transport

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
_STATIC = pathlib.Path(__file__).parent / "static"
_VIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
FONT_MIN, FONT_MAX = 6, 72  # font_size bounds, as js/src/zoom.ts
TITLE_MAX = 1024  # characters of a title kept, as js/src/title.ts


#: What the view adds, settable as ``Terminal(..., name=value)`` and as traits (see below).
VIEW_OPTIONS = ("font_size", "copy_on_select", "right_click_paste", "images", "image_memory", "renderer")


class Terminal(anywidget.AnyWidget):
    """A terminal running ``command`` (default: the user's shell), shown with xterm.js."""

    _esm = LOADER  # the front end itself is in the kernel's one Bundle (conpty_widget/bundle.py)
    _css = _STATIC / "widget.css"
    _bundle = bundle_trait()

    command = traitlets.Unicode(read_only=True).tag(sync=True)
    rows = traitlets.Int(24).tag(sync=True)
    cols = traitlets.Int(80).tag(sync=True)
    #: Which of ``rows`` and ``cols`` were set from Python (the constructor, ``resize()``, the
    #: traits): the pty keeps them and the views' boxes follow; the others fit the views.
    _pinned = traitlets.Dict({"rows": False, "cols": False}, read_only=True).tag(sync=True)
    exit_code = traitlets.Int(None, allow_none=True, read_only=True).tag(sync=True)
    save_screen = traitlets.Bool(True, read_only=True).tag(sync=True)
    _snapshot = traitlets.Unicode("").tag(sync=True)
    #: How a view reaches this terminal without the comm: ``{"name", "terminal"}`` (its token is
    #: asked on the comm: the ``direct`` message)
    #: (``conpty_widget.direct``); empty where there is no direct path, and once closed.
    _direct = traitlets.Dict().tag(sync=True)
    #: Which path each attached view uses: view id -> ``"direct"`` or ``"comm"``.
    transports = traitlets.Dict(read_only=True).tag(sync=True)
    #: The one view that answers the program's terminal queries (cursor position, device
    #: attributes...): a real terminal answers once, however many views show it.
    _answerer = traitlets.Unicode("", read_only=True).tag(sync=True)
    #: The Windows build of the ConPTY behind the terminal (0: not ConPTY): xterm.js then reflows
    #: and handles the cursor as ConPTY expects (its ``windowsPty`` option).
    _conpty_build = traitlets.Int(0, read_only=True).tag(sync=True)
    # -- what the view adds to a terminal (js/src: renderer, search, clipboard, images, title, zoom) --
    #: The window title a program set (OSC 0 or 2), as the answering view (or, with none, the
    #: kernel's screen model) reports it; read-only.
    title = traitlets.Unicode("", read_only=True).tag(sync=True)
    #: Font size of every view, in px (Ctrl+= / Ctrl+- / Ctrl+0 in a view change it); the pty refits.
    font_size = traitlets.Int(13, min=FONT_MIN, max=FONT_MAX).tag(sync=True)
    #: Copy the selection to the clipboard as soon as it is made.
    copy_on_select = traitlets.Bool(False).tag(sync=True)
    #: A right click pastes the clipboard (instead of opening a context menu).
    right_click_paste = traitlets.Bool(False).tag(sync=True)
    #: Show sixel and iTerm2 inline images, keeping at most ``image_memory`` MiB of them per view.
    images = traitlets.Bool(True).tag(sync=True)
    image_memory = traitlets.Int(32, min=1, max=1024).tag(sync=True)
    #: ``"auto"``: WebGL on a hardware GPU (within a page's budget of contexts), else the DOM;
    #: ``"webgl"``: WebGL also on a software rasteriser; ``"dom"``: never WebGL.
    renderer = traitlets.Enum(("auto", "webgl", "dom"), "auto").tag(sync=True)

    def __init__(
        self,
        command: Command = None,
        *,
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str | None] | None = None,
        prompt: str | None = None,
        rows: int | None = None,
        cols: int | None = None,
        save_screen: bool = True,
        record: bool | PathLike = False,
        **options: Any,
    ) -> None:
        unknown = set(options) - set(VIEW_OPTIONS)
        if unknown:
            raise TypeError(f"Terminal() got unexpected arguments {sorted(unknown)}; view options are {VIEW_OPTIONS}")
        env = shell_integration.with_prompt(env, prompt)  # a plain prompt, after the startup files
        self._sizing = False  # resize() or a fit sets both traits: the pty is resized once, first
        self._host_gone = False  # the host ended the session (conpty_widget.hosts)
        pinned = {"rows": rows is not None, "cols": cols is not None}
        rows, cols = check_size(24 if rows is None else rows, 80 if cols is None else cols)
        # Recording (record()): made first, so that a bad path fails before anything starts.
        first = None if record is False else Recorder.new(None if record is True else record, rows, cols)
        self._listener: direct.Listener | None = None
        self._displays = Displays(self)
        super().__init__(rows=rows, cols=cols, **bundle_traits("widget.js"), **options)
        self.set_trait("_pinned", pinned)
        self.set_trait("save_screen", save_screen)
        self.set_trait("_conpty_build", conpty_build())
        try:
            self._session = Session(
                command, cwd=cwd, env=env, rows=rows, cols=cols, comm=self._send_output, on_exit=self._exited
            )
        except BaseException:
            super().close()  # no comm left behind for a terminal that never started
            if first is not None:
                first.stop()
            raise
        self._recorder = Recorder(self._session)
        self._script = Scripter(self._session, looked=self._displays.save)
        # With no view, the title comes from the kernel's screen model (it sees OSC 0/2 as they come).
        self._session.screen_model().on_title = lambda title: self.set_trait("title", _title({"title": title}))
        if first is not None:
            self._recorder.start(first)
        if self._session.exit_code is not None:  # it exited before Session() returned
            self._session.wait()
            self._displays.save()
        shown = command if isinstance(command, str) else subprocess.list2cmdline(self._session.argv)
        self.set_trait("command", shown)
        self.on_msg(self._on_custom_msg)
        self._listener = direct.listener()
        if self._listener is not None:
            terminal, token = secrets.token_hex(8), secrets.token_urlsafe(24)
            self._listener.register(terminal, token, self)
            self._direct_token = token
            self._direct = {"name": self._listener.name, "terminal": terminal}
        hosts.end_with_host(self._ended_by_host)

    # -- public API -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self._session.pid

    def write(self, data: str | bytes) -> None:
        """Send ``data`` to the terminal exactly as if typed (``"\\r"`` is Enter)."""
        self._session.write(data)

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = 30) -> re.Match[str]:
        return self._script.expect(pattern, timeout)

    def run(self, command: str, timeout: float | None = 30) -> RunResult:
        jobs.check_idle(self._script, "run()")  # a started job still runs: not into its input
        return self._script.run(command, timeout)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float | None = 30) -> re.Match[str]:
        return self._script.wait_for(pattern, timeout)

    expect.__doc__, run.__doc__, wait_for.__doc__ = Scripter.expect.__doc__, Scripter.run.__doc__, Scripter.wait_for.__doc__

    def start(self, command: str, yield_time: float = 10.0, max_output: int | None = None) -> Job:
        return jobs.start(self._script, command, yield_time, max_output)

    start.__doc__ = jobs.start.__doc__

    def screen_lines(self) -> list[str]:
        """The visible screen, one string per row, without trailing blanks."""
        lines = self._session.screen_model().lines()
        self._displays.save()
        return lines

    def screen_text(self) -> str:
        """The visible screen as plain text, one line per row."""
        return "\n".join(self.screen_lines())

    def resize(self, rows: int, cols: int) -> None:
        """Resize the terminal to ``rows`` x ``cols`` and keep that size: the views' boxes follow
        it (as after ``Terminal(rows=..., cols=...)``) until ``fit()``."""
        self._set_size(rows, cols, pin=True)

    def fit(self) -> None:
        """Let the views size the terminal again: each asks for what fits its box, and the pty
        gets the smallest (the default when no size is given)."""
        self.set_trait("_pinned", {"rows": False, "cols": False})
        self._fit_views()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit; return its exit code. Every output that showed the
        terminal shows its last screen by then."""
        code = self._session.wait(timeout)
        self._displays.join()
        self._displays.save()
        return code

    def close(self) -> None:
        """End every process of the terminal and close the widget; idempotent. Every output
        that showed it keeps its last screen (as HTML: no view, no kernel needed)."""
        session = self.__dict__.get("_session")
        if session is None:  # construction failed: there is nothing but the widget
            super().close()
            return
        if self._listener is not None and self._direct:
            self._listener.unregister(self._direct["terminal"])
        session.close()
        self._recorder.end()  # complete on disk; stop_recording() still returns it
        self._displays.join()
        try:
            if self.comm is not None:
                self._displays.save()
                self._direct = {}
            self._displays.end()
            super().close()
        except Exception as exc:  # the host's comm or document is gone already
            log.debug("conpty_widget: closing the widget: %s", exc)
        # ipywidgets hides the mimebundle of a closed widget; ours still has the last screen.
        self.__dict__.pop("_repr_mimebundle_", None)

    # -- recording (conpty_widget.recording) --------------------------------------------------

    def record(
        self,
        path: PathLike | None = None,
        *,
        input: bool = False,
        max_bytes: int | None = MAX_BYTES,
        title: str | None = None,
        idle_time_limit: float | None = IDLE_TIME_LIMIT,
    ) -> Recording:
        """Start recording the terminal as an asciicast v2: its output with timing, resizes,
        and with ``input`` what is typed into it (off by default: it holds passwords). The
        recording starts from the screen as it is now. In memory, it holds at most
        ``max_bytes``: there it stops and is marked ``truncated``; with ``path``, it is written
        to that file as it goes (``max_bytes=None``: no cap). Displayed, it replays."""
        return self._recorder.record(
            path, input=input, max_bytes=max_bytes, title=title, idle_time_limit=idle_time_limit
        )  # fmt: skip

    def stop_recording(self) -> Recording:
        """Stop recording; return the recording (display it to replay it, ``save()`` it)."""
        return self._recorder.stop()

    @property
    def recording(self) -> Recording | None:
        """The recording under way, else the last one (None before any)."""
        return self._recorder.last

    def save_cast(self, path: PathLike) -> pathlib.Path:
        """Save the recording under way (so far) or the last one as an asciicast v2 file."""
        return self._recorder.save(path)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.exit_code is None else f"exited {self.exit_code}"
        return f"Terminal(command={self.command!r}, rows={self.rows}, cols={self.cols}, {state})"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        widget = super()._repr_mimebundle_
        return self._displays.mimebundle(lambda: widget(**kwargs))

    def _ipython_display_(self, **kwargs: Any) -> None:
        self._displays.show()

    # -- kernel side of the protocol -------------------------------------------------------------

    @traitlets.validate("rows", "cols")
    def _valid_size(self, proposal: dict) -> int:
        """A rejected size leaves the old one (and the pty) as it was."""
        value = proposal["value"]
        check_size(value, self.cols) if proposal["trait"].name == "rows" else check_size(self.rows, value)
        return value

    @traitlets.observe("rows", "cols")
    def _size_changed(self, change: dict) -> None:
        if "_session" not in self.__dict__ or self._sizing:
            return
        # One trait set from Python: that dimension is kept, whatever the views' boxes fit.
        self.set_trait("_pinned", {**self._pinned, change["name"]: True})
        if (self.rows, self.cols) != (self._session.rows, self._session.cols):
            self._session.resize(self.rows, self.cols)

    def _set_size(self, rows: int, cols: int, pin: bool) -> None:
        """Resize the pty once (it validates), then both traits; ``pin``: keep that size."""
        self._session.resize(rows, cols)
        self._sizing = True
        try:
            with self.hold_sync():
                self.rows, self.cols = rows, cols
                if pin:
                    self.set_trait("_pinned", {"rows": True, "cols": True})
        finally:
            self._sizing = False

    @traitlets.observe("comm")
    def _comm_changed_terminal(self, change: dict) -> None:
        comm = change["new"]
        if comm is None:
            return
        comm.on_close(self._closed_by_page)
        # ipykernel 7 routes a comm's incoming messages to the subshell of the last message
        # the kernel *sent* on it; our output comes from the sender thread, tagged with the
        # main shell's parent, so keystrokes would wait behind a busy cell. Keep the page's
        # own routing (JupyterLab sends comm messages to a subshell). Private, hence guarded.
        if hasattr(comm, "_reply_subshell_for"):
            comm._reply_subshell_for = lambda data, default: default

    def _ended_by_host(self) -> None:
        """The host's session or cell ended (``conpty_widget.hosts``): end the terminal, off the
        host's thread (a job ignoring SIGHUP takes the grace periods). The host's document is
        gone: what would be sent to it (the exit code, the last screen) fails, and is no error."""
        self._host_gone = True
        threading.Thread(target=self.close, name=f"conpty-close-{self._session.pid}").start()

    def _to_host(self, what: str, send: Callable[[], object]) -> None:
        """Run ``send`` (it tells the front end something) from one of the terminal's threads:
        a failure is logged, quietly once the host has ended the session."""
        try:
            send()
        except Exception as exc:
            if self._host_gone:
                log.debug("conpty_widget: %s: the host's session is gone (%s)", what, exc)
            else:
                log.exception("conpty_widget: %s failed", what)

    def _closed_by_page(self, _msg: dict) -> None:
        # End the terminal off the thread that handles the page's messages: a job ignoring
        # SIGHUP takes the grace periods (up to ~3 s). Not a daemon thread: the interpreter's
        # exit waits for it, so nothing is left behind.
        threading.Thread(target=self._session.close, name=f"conpty-close-{self._session.pid}").start()

    def _send_output(self, msg: dict, payload: bytes) -> None:
        self.send(msg, buffers=[payload])

    def _exited(self, code: int) -> None:
        self._to_host("telling the exit code", lambda: self.set_trait("exit_code", code))
        if "_session" in self.__dict__:  # else the child exited before Session() returned
            self._displays.terminal_exited()

    def _fit_views(self) -> None:
        """Give the pty the smallest size any view asked for, in the dimensions not pinned."""
        size = self._session.views.fitting_size()
        if size is None or not self._session.running:
            return
        rows = self.rows if self._pinned["rows"] else size[0]
        cols = self.cols if self._pinned["cols"] else size[1]
        if (rows, cols) != (self.rows, self.cols):
            self._set_size(rows, cols, pin=False)

    def _views_changed(self) -> None:
        paths = self._session.views.paths()
        with self.hold_sync():
            self.set_trait("transports", paths)
            self.set_trait("_answerer", next(iter(paths), ""))  # the longest attached

    # -- both transports: the comm, and direct connections (conpty_widget.direct) ----------

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        if self._session.comm is not None:
            self.receive(content, buffers, self._session.comm)

    def receive(self, content: Any, buffers: Sequence[Any], transport: Transport) -> None:
        """A message from a view, on ``transport``."""
        try:
            self._dispatch(content, buffers, transport)
        except Exception as exc:  # a page must never be able to break the kernel
            log.warning("conpty_widget: ignored message %.200r: %s", content, exc)

    def disconnected(self, transport: Transport) -> None:
        """A direct connection ended: its view may come back (on the comm, or connected again)."""
        if self._session.disconnect(transport):
            self._views_changed()
            self._fit_views()

    def _dispatch(self, content: Any, buffers: Sequence[Any], transport: Transport) -> None:
        if not isinstance(content, dict):
            raise ValueError("not an object")
        kind, view = content.get("type"), content.get("view")
        if not isinstance(view, str) or not _VIEW_ID.match(view):
            raise ValueError("missing or bad view id")
        session = self._session
        attached = len(session.views)
        if kind == "input":
            data = content.get("data")
            if isinstance(data, str):
                payload = data.encode("utf-8", "replace")
            elif data is None and buffers:
                payload = bytes(buffers[0])
            else:
                raise ValueError("input needs a string 'data' or a buffer")
            n = None if content.get("n") is None else _int(content, "n", 1, 1 << 62)
            session.views.input.put(view, n, payload)
            if "ack" in content:  # the view's acknowledgement rides along with its keys
                session.ack(view, _int(content, "ack", 0, 1 << 62), transport)
            else:
                session.hear(view, transport)
        elif kind == "ack":
            session.ack(view, _int(content, "offset", 0, 1 << 62), transport)
        elif kind == "resize":
            rows, cols = _int(content, "rows", 1, MAX_ROWS), _int(content, "cols", 1, MAX_COLS)
            if session.hear(view, transport) and session.views.set_size(view, rows, cols):
                self._fit_views()
        elif kind in ("hello", "sync"):
            if kind == "hello" and content.get("version") != PROTOCOL_VERSION:
                log.warning("conpty_widget: view speaks protocol %r, kernel %d", content.get("version"), PROTOCOL_VERSION)
            session.attach(view, transport)
            if kind == "hello":
                session.views.roll_call.call(on_silent=self._fit_views)
        elif kind == "bye":
            session.detach(view)
            self._fit_views()
        elif kind == "title":
            self.set_trait("title", _title(content))
        elif kind == "direct":
            if self._direct:  # else there is no direct path (any more)
                self.send({"type": "direct", "view": view, "token": self._direct_token})
        else:
            raise ValueError(f"unknown message type {kind!r}")
        if kind in ("hello", "bye") or len(session.views) != attached:
            self._views_changed()


def _title(content: dict) -> str:
    title = content.get("title")
    if not isinstance(title, str):
        raise ValueError(f"title must be a string, not {title!r}")
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "", title)[:TITLE_MAX]


def _int(content: dict, key: str, low: int, high: int) -> int:
    value = content.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer from {low} to {high}, not {value!r}")
    return value
