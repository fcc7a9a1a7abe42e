"""Recording a terminal as an asciicast (version 2), and replaying it without a kernel.

An asciicast v2 file is a JSON header line, then one JSON event a line: ``[t, "o", text]``
(output), ``[t, "i", text]`` (input, only when asked for), ``[t, "r", "COLSxROWS"]`` (a
resize) and ``[t, "m", label]`` (a marker: here, where a recording reached its cap), ``t`` in
seconds from the start. Output and input are decoded as UTF-8 incrementally: a character split
across two reads is one character (bytes that are not UTF-8 become U+FFFD).

A ``Recording`` is fed by its terminal's session (``Session.observe``, through the session's
``Recorder``) with the session's lock held: each event is an append to a list. It holds at most
``max_bytes`` of events; reaching that it stops collecting, adds a marker and sets ``truncated``
(what it has plays as it was: the start of the session). Given a ``path``, it writes through to
that file instead (memory: a buffer of ``FLUSH_BYTES``), with the same cap on the file unless
``max_bytes=None``.

Displayed, a recording is a self-contained player (``player_html``: the cast and the player's
script, ``static/player.js``, as ``text/html``): it plays live, in a trusted notebook saved
without widget state, in Voilà and in an HTML export, with no kernel and no widget. ``Replay``
(``rec.replay()``) is the same player as a widget, whose state holds the cast (a notebook saved
with widget state plays it), shown beside that HTML. The ``text/plain`` does not vary from run to run.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import pathlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, Union

import anywidget
import traitlets

from .bundle import LOADER, bundle_trait, bundle_traits

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)

_STATIC = pathlib.Path(__file__).parent / "static"
PathLike = Union[str, os.PathLike]
#: Default cap of a recording: its events' text, plus ``EVENT_OVERHEAD`` bytes per event.
MAX_BYTES = 16 * 1024 * 1024
EVENT_OVERHEAD = 32  # bytes counted per event beyond its text (time, kind, list)
FLUSH_BYTES = 64 * 1024  # a recording to a file writes when this much is buffered
#: Longest pause a replay keeps, in seconds (asciinema's ``idle_time_limit``); longer ones are cut to it.
IDLE_TIME_LIMIT = 2.0
#: Largest cast a replay embeds in the notebook (widget state and HTML).
EMBED_MAX = 16 * 1024 * 1024
TRUNCATED = "truncated: max_bytes reached"

Event = tuple[float, str, str]


class Recording:
    """An asciicast v2 recording of a terminal (``Terminal.record()``), in memory or written
    through to ``path``; displayed, it replays (``replay()``)."""

    def __init__(
        self,
        cols: int,
        rows: int,
        *,
        path: PathLike | None = None,
        input: bool = False,
        max_bytes: int | None = MAX_BYTES,
        title: str | None = None,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
        idle_time_limit: float | None = IDLE_TIME_LIMIT,
        clock: float | None = None,
        starts_with_screen: bool = False,
    ) -> None:
        if max_bytes is None and path is None:
            raise ValueError("a recording in memory needs a cap: give max_bytes, or a path to write to")
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0):
            raise ValueError(f"max_bytes must be a positive int or None, not {max_bytes!r}")
        if idle_time_limit is not None and not idle_time_limit > 0:
            raise ValueError(f"idle_time_limit must be positive or None, not {idle_time_limit!r}")
        self.input = bool(input)
        self.max_bytes = max_bytes
        self.path = pathlib.Path(path) if path is not None else None
        self.header: dict[str, Any] = {"version": 2, "width": cols, "height": rows, "timestamp": int(time.time())}
        if idle_time_limit is not None:
            self.header["idle_time_limit"] = idle_time_limit
        if command:
            self.header["command"] = command
        if title:
            self.header["title"] = title
        self.header["env"] = dict(env or {"TERM": "xterm-256color", "SHELL": os.environ.get("SHELL", "")})
        self.final_html = ""  # the last screen as HTML (set by the terminal): where scripts do not run
        self.truncated = False
        self.error = ""  # why writing the file failed (the recording then stopped)
        self.active = True  # collecting events; False once stopped or truncated
        self.size = 0  # bytes counted against max_bytes
        self.count = 0  # events recorded
        self.duration = 0.0  # seconds from the start to the last event
        self._start = time.monotonic() if clock is None else clock
        self._events: list[Event] = []  # in memory; with a path, those not yet written
        self._buffered = 0
        self._decoders = {k: codecs.getincrementaldecoder("utf-8")("replace") for k in "oi"}
        self._lock = threading.Lock()
        self._awaiting_screen = starts_with_screen  # the first event comes from screen(): nothing written before
        self._file: IO[str] | None = None
        if self.path is not None:
            if self.path.is_dir():
                raise IsADirectoryError(f"cannot record to {self.path}: it is a directory")
            try:
                self._file = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 (closed by stop())
            except OSError as exc:
                raise OSError(f"cannot record to {self.path}: {exc.strerror or exc}") from exc
            self._file.write(json.dumps(self.header) + "\n")

    # -- fed by the session (conpty_widget.session.Observer) --------------------------------------

    def __call__(self, kind: str, data: bytes, now: float) -> None:
        """An event from the session: ``"o"`` output, ``"i"`` input, ``"r"`` a resize (``b"COLSxROWS"``)."""
        if not self.active or (kind == "i" and not self.input):
            return
        text = data.decode("ascii") if kind == "r" else self._decoders[kind].decode(data)
        if text:
            self._add(round(max(0.0, now - self._start), 6), kind, text)

    def screen(self, ansi: str) -> None:
        """What the screen showed when the recording started (as ANSI), its first output."""
        with self._lock:
            self._awaiting_screen = False
            if not ansi or not self.active:
                return
            if self.max_bytes is not None and self.size + len(ansi) + EVENT_OVERHEAD > self.max_bytes:
                self._truncate(0.0, at=0)  # not even the screen fits: nothing is kept
                return
            self._events.insert(0, (0.0, "o", ansi))
            self._counted(ansi)

    def _add(self, t: float, kind: str, text: str) -> None:
        with self._lock:
            if not self.active:
                return
            t = max(t, self.duration)  # in order, whatever thread timed it
            cost = len(text) + EVENT_OVERHEAD
            if self.max_bytes is not None and self.size + cost > self.max_bytes:
                self._truncate(t)
                return
            self._events.append((t, kind, text))
            self.duration = t
            self._counted(text)
            if self._file is not None and self._buffered >= FLUSH_BYTES and not self._awaiting_screen:
                self._flush()

    def _truncate(self, t: float, at: int | None = None) -> None:
        """The cap is reached: stop, with a marker (at index ``at``, default the end; lock held)."""
        self.truncated = True
        self.active = False
        if at is not None:  # nothing was written yet (screen() comes first): drop what came after
            del self._events[at:]
            self.count = self.size = 0
        self._events.append((t, "m", TRUNCATED))
        self.count += 1
        log.warning("conpty_widget: the recording reached max_bytes=%s and stopped", self.max_bytes)
        self._flush()

    def _counted(self, text: str) -> None:
        cost = len(text) + EVENT_OVERHEAD
        self.size += cost
        self._buffered += cost
        self.count += 1

    def _flush(self) -> None:
        """Write buffered events to the file (lock held)."""
        if self._file is None:
            return
        self._awaiting_screen = False
        try:
            self._file.write("".join(_line(e) for e in self._events))
            self._file.flush()
        except (OSError, ValueError) as exc:  # a full disk: the recording stops, said once
            if self.active or not self.error:
                log.error("conpty_widget: writing the recording to %s failed, it stopped: %s", self.path, exc)
            self.error, self.active = str(exc), False
        self._events.clear()
        self._buffered = 0

    def stop(self) -> None:
        """Stop recording (idempotent); a recording to a file is complete on disk."""
        with self._lock:
            if self.active:
                for kind, decoder in self._decoders.items():  # a character cut off at the end
                    rest = decoder.decode(b"", final=True)
                    if rest and (kind == "o" or self.input):
                        self._events.append((self.duration, kind, rest))
                self.active = False
            self._flush()
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as exc:  # what was buffered cannot be written either
                    self.error = self.error or str(exc)
                self._file = None

    # -- reading --------------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """The events so far, ``(t, kind, text)``."""
        return list(self._iter_events())

    def _iter_events(self) -> Iterator[Event]:
        if self.path is None:
            with self._lock:
                yield from list(self._events)
            return
        with self._lock:
            self._flush()
            lines = self.path.read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            t, kind, text = json.loads(line)
            yield (t, kind, text)

    def cast(self) -> str:
        """The recording as asciicast v2 text."""
        if self.path is not None:
            with self._lock:
                self._flush()
                return self.path.read_text(encoding="utf-8")
        return json.dumps(self.header) + "\n" + "".join(_line(e) for e in self._iter_events())

    def save(self, path: PathLike) -> pathlib.Path:
        """Write the recording (so far) to ``path`` as an asciicast v2 file; return the path."""
        target = pathlib.Path(path)
        if target.is_dir():
            raise IsADirectoryError(f"cannot save the recording to {target}: it is a directory")
        if self.path is not None and target.exists() and target.resolve() == self.path.resolve():
            self.cast()  # flushed: the file is the recording
            return target
        try:
            target.write_text(self.cast(), encoding="utf-8", newline="\n")
        except OSError as exc:
            raise OSError(f"cannot save the recording to {target}: {exc.strerror or exc}") from exc
        return target

    @classmethod
    def load(cls, path: PathLike) -> Recording:
        """A recording read from an asciicast v2 file (e.g. by ``asciinema rec``), to replay."""
        source = pathlib.Path(path)
        lines = source.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("version") != 2:
            raise ValueError(f"{source} is not an asciicast v2 file (its first line must be a header with version 2)")
        rec = cls(int(header["width"]), int(header["height"]), idle_time_limit=None)
        rec.header, rec.active, rec.max_bytes = header, False, None
        for n, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                t, kind, text = json.loads(line)
            except (json.JSONDecodeError, ValueError, TypeError):
                raise ValueError(f"{source}, line {n}: not an event [time, kind, data]") from None
            rec._events.append((float(t), str(kind), str(text)))
            rec.count += 1
            rec.duration = max(rec.duration, float(t))
            rec.truncated = rec.truncated or (kind == "m" and text == TRUNCATED)
        return rec

    # -- display ----------------------------------------------------------------------------------

    def replay(
        self, *, speed: float = 1.0, idle_time_limit: float | None = None, autoplay: bool = True, loop: bool = False
    ) -> Replay:
        """A player of this recording (a widget; ``idle_time_limit`` overrides the header's)."""
        return Replay(self, speed=speed, idle_time_limit=idle_time_limit, autoplay=autoplay, loop=loop)

    @property
    def state(self) -> str:
        if self.active:
            return "recording"
        return "truncated" if self.truncated else "stopped"

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"Recording({self.header['width']}x{self.header['height']}, input={self.input}{where}, {self.state})"

    def html(
        self, *, speed: float = 1.0, idle_time_limit: float | None = None, autoplay: bool = True, loop: bool = False
    ) -> str:
        """A self-contained player of this recording, as HTML (see ``player_html``)."""
        limit = self.header.get("idle_time_limit", IDLE_TIME_LIMIT) if idle_time_limit is None else idle_time_limit
        options = {"speed": speed, "idle_time_limit": limit, "autoplay": autoplay, "loop": loop}
        return player_html(_embeddable(self.cast()), self.final_html, options)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # The static player only, no widget: it plays live, in a notebook saved without widget
        # state (JupyterLab's default, where a widget's output would say "model not found"),
        # in Voilà and in any HTML export. replay() is the widget, for its traits.
        return {"text/plain": repr(self), "text/html": self.html()}


class Recorder:
    """The recordings of one session: the one under way, which the session feeds as an observer
    (``Session.observe``), and the last one. ``Terminal.record()`` and its kin are these."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.current: Recording | None = None  # from record() to stop()
        self.last: Recording | None = None
        self._stop_observing: Callable[[], None] | None = None

    @staticmethod
    def new(path: PathLike | None, rows: int, cols: int, **options: Any) -> Recording:
        """A recording of a terminal of ``rows`` x ``cols``, to start with its screen (``start``);
        ``options``: ``Recording``'s."""
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"record takes True, False or a path, not {type(path).__name__}")
        return Recording(cols, rows, path=path, starts_with_screen=True, **options)

    def record(self, path: PathLike | None = None, **options: Any) -> Recording:
        """Start a new recording from the screen as it is now (see ``Terminal.record``)."""
        if self.current is not None:
            raise RuntimeError("the terminal is already recording: stop_recording() first")
        if not self._session.running:
            raise RuntimeError("the terminal has ended: there is nothing to record")
        rec = self.new(path, self._session.rows, self._session.cols, **options)
        self.start(rec)
        return rec

    def start(self, rec: Recording) -> None:
        """Feed ``rec`` from now on, starting with the screen as it is now."""
        session = self._session
        offset, self._stop_observing = session.observe(rec)
        rec.header["command"] = subprocess.list2cmdline(session.argv)
        # The screen where the recording starts: its first event (nothing, at the very start).
        rec.screen(session.screen_model(upto=offset).ansi() if offset else "")
        self.current = self.last = rec

    def stop(self) -> Recording:
        """Stop the recording under way and return it, with the last screen for where its
        player cannot run."""
        rec = self.current
        if rec is None:
            raise RuntimeError("the terminal is not recording: record() first")
        self.end()
        if not rec.truncated:
            rec.final_html = self._session.screen_model().html()
        self.current = None
        return rec

    def end(self) -> None:
        """The terminal closes: the recording under way is complete (on disk); ``stop()`` still
        returns it."""
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        if self.current is not None:
            self.current.stop()

    def save(self, path: PathLike) -> pathlib.Path:
        """Save the recording under way (so far) or the last one as an asciicast v2 file."""
        if self.last is None:
            raise RuntimeError("nothing recorded: record() first")
        return self.last.save(path)


def _line(event: Event) -> str:
    t, kind, text = event
    return json.dumps([t, kind, text], ensure_ascii=False) + "\n"


class Replay(anywidget.AnyWidget):
    """Plays a recording: play/pause, restart, speed; pauses longer than ``idle_time_limit``
    (default: the cast's header, else ``IDLE_TIME_LIMIT``) are cut to it."""

    _esm = LOADER  # the player itself is in the kernel's one Bundle of it (conpty_widget/bundle.py)
    _css = _STATIC / "player.css"
    _bundle = bundle_trait()

    cast = traitlets.Unicode("").tag(sync=True)
    speed = traitlets.Float(1.0, min=0.1, max=16.0).tag(sync=True)
    idle_time_limit = traitlets.Float(None, allow_none=True).tag(sync=True)
    autoplay = traitlets.Bool(True).tag(sync=True)
    loop = traitlets.Bool(False).tag(sync=True)

    def __init__(self, recording: Recording | PathLike, **kwargs: Any) -> None:
        rec = recording if isinstance(recording, Recording) else Recording.load(recording)
        cast = _embeddable(rec.cast())
        if kwargs.get("idle_time_limit") is None:
            kwargs["idle_time_limit"] = rec.header.get("idle_time_limit", IDLE_TIME_LIMIT)
        self._recording = rec
        self._fallback = getattr(rec, "final_html", "")
        super().__init__(cast=cast, **bundle_traits("player.js"), **kwargs)

    def __repr__(self) -> str:
        return f"Replay({self._recording!r})"

    def html(self) -> str:
        """A self-contained player: the cast, the player's script and styles, and the last
        screen for where scripts do not run."""
        options = {"speed": self.speed, "idle_time_limit": self.idle_time_limit, "autoplay": self.autoplay, "loop": self.loop}
        return player_html(self.cast, self._fallback, options)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle: Any = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = repr(self)
        data["text/html"] = self.html()
        return bundle


def player_html(cast: str, fallback: str, options: Mapping[str, Any]) -> str:
    """A self-contained player: the cast and its options as JSON, the player's styles and
    script (an inline module that mounts it), and ``fallback`` (HTML: the last screen) for where
    scripts do not run (an untrusted notebook)."""
    data = _script_json({"cast": cast, **options})
    shown = fallback or '<pre class="conpty-player-fallback">(a terminal recording: it plays with JavaScript)</pre>'
    return (
        f'<div class="conpty-player-static">{shown}'
        f'<script type="application/json" class="conpty-cast">{data}</script></div>'
        f"<style>{_static('player.css')}</style>"
        f'<script type="module">{_static("player.js")}</script>'
    )


def _embeddable(cast: str) -> str:
    size = len(cast.encode("utf-8"))
    if size > EMBED_MAX:
        raise ValueError(
            f"the recording is {size} bytes, more than a notebook embeds ({EMBED_MAX}): save() it, play it with asciinema"
        )
    return cast


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _static(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


__all__ = ["Recording", "Replay"]
