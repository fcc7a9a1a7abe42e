"""The kernel-side screen model: what the terminal shows, from a terminal emulator (pyte).

pyte parses about 1 MB/s, far below what the output path must carry, so the model is never
fed on the hot path. It is brought up to date *on demand* (``screen_text()``, a new view, a
headless cursor-position query, a saved snapshot) from the output the session keeps anyway
for repainting (``Session.output_since``). Catching up costs at most ``REPARSE_MAX`` bytes of
parsing: a model that fell further behind starts over from that much recent output, at a
line boundary, and may then miss a mode set earlier (e.g. the alternate screen).

Beyond pyte: the alternate screen (modes 1049/1047/47), a bounded scrollback, and rendering
as ANSI (to repaint a view) or HTML (the saved notebook's fallback).
"""

from __future__ import annotations

import codecs
import collections
import copy
import functools
import html
import re
import threading
from collections.abc import Callable

import pyte
from pyte import graphics
from pyte.screens import Char
from wcwidth import wcwidth

#: Most output parsed to catch up at once; older output is skipped.
REPARSE_MAX = 256 * 1024
#: Lines of scrollback kept above the screen, for snapshots.
SCROLLBACK = 200
#: Largest rendered snapshot; scrollback lines are dropped first to fit.
SNAPSHOT_MAX = 256 * 1024

_ALT_SCREEN_MODES = (1049, 1047, 47)
# Private modes a new view must know to send the right keys and reports.
_VIEW_MODES = (1, 66, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004)

_FG_CODES = {name: code for table in (graphics.FG_ANSI, graphics.FG_AIXTERM) for code, name in table.items()}
_BG_CODES = {name: code for table in (graphics.BG_ANSI, graphics.BG_AIXTERM) for code, name in table.items()}
# xterm's default palette, for the HTML fallback (the live view follows the JupyterLab theme).
_CSS = dict(
    zip(
        ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white"),
        ("#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5"),
    )
)
_CSS.update(  # "bfightmagenta": pyte's own spelling of background 105
    zip(
        ("brightblack", "brightred", "brightgreen", "brightbrown", "brightblue", "bfightmagenta", "brightmagenta",
         "brightcyan", "brightwhite"),
        ("#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#ff00ff", "#00ffff", "#ffffff"),
    )
)

Line = dict  # column -> Char; pyte's lines default to a blank Char


class _Screen(pyte.Screen):
    """pyte's screen plus the alternate screen and a bounded scrollback of the main screen."""

    def __init__(self, columns: int, lines: int) -> None:
        self.scrollback: collections.deque[Line] = collections.deque(maxlen=SCROLLBACK)
        self.saved_main: tuple[dict[int, Line], pyte.screens.Cursor] | None = None
        super().__init__(columns, lines)

    @property
    def alternate(self) -> bool:
        return self.saved_main is not None

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize as xterm.js does: fewer rows drop blank rows below the cursor first, then
        rows from the top (into the scrollback); pyte would always drop rows from the top."""
        lines, columns = lines or self.lines, columns or self.columns
        if lines < self.lines:
            top = max(0, self.lines - lines - (self.lines - 1 - self.cursor.y))
            if not self.alternate:
                self.scrollback.extend(dict(self.buffer[y]) for y in range(top))
            kept = {y - top: line for y, line in self.buffer.items() if top <= y < lines + top}
            self.buffer.clear()
            self.buffer.update(kept)
            self.cursor.y -= top
        if columns < self.columns:
            for line in self.buffer.values():
                for x in range(columns, self.columns):
                    line.pop(x, None)
        self.lines, self.columns = lines, columns
        self.set_margins()
        self.ensure_hbounds()
        self.dirty.update(range(lines))

    def write_process_input(self, data: str) -> None:
        """Replies are the session's job (only when no view answers); parsing never replies."""

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and bottom == self.lines - 1 and not self.alternate:
            self.scrollback.append(dict(self.buffer[top]))
        super().index()

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        super().set_mode(*modes, **kwargs)
        if kwargs.get("private") and any(m in _ALT_SCREEN_MODES for m in modes) and not self.alternate:
            self.saved_main = ({y: dict(line) for y, line in self.buffer.items()}, copy.copy(self.cursor))
            self.buffer.clear()
            self.dirty.update(range(self.lines))

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        super().reset_mode(*modes, **kwargs)
        if kwargs.get("private") and any(m in _ALT_SCREEN_MODES for m in modes) and self.saved_main is not None:
            lines, cursor = self.saved_main
            self.saved_main = None
            self.buffer.clear()
            for y, line in lines.items():
                if y < self.lines:
                    self.buffer[y].update((x, c) for x, c in line.items() if x < self.columns)
            self.cursor.x, self.cursor.y = min(cursor.x, self.columns - 1), min(cursor.y, self.lines - 1)
            self.cursor.attrs = cursor.attrs
            self.dirty.update(range(self.lines))


class _Stream(pyte.Stream):
    """pyte's parser, robust: some malformed sequences make pyte raise (``ESC [ 1 ; 2 ; 3 c``
    calls a handler with too many arguments); any program may print them, so drop the one
    sequence, as a terminal does, and go on (pyte has reset its parser before raising)."""

    def _send_to_parser(self, data: str) -> bool | None:
        try:
            return super()._send_to_parser(data)
        except Exception:
            return self._taking_plain_text


def _text(line: Line, columns: int) -> str:
    out = []
    skip = False
    for x in range(columns):
        if skip:  # the stub after a wide character
            skip = False
            continue
        ch = line[x].data if x in line else " "
        out.append(ch or " ")
        skip = bool(ch) and wcwidth(ch[0]) == 2
    return "".join(out).rstrip()


@functools.lru_cache(maxsize=1024)
def _sgr(attrs: tuple) -> str:
    """The SGR sequence for a cell's attributes (a ``Char`` without its data)."""
    c = Char(" ", *attrs)
    params = ["0"]
    for attr, code in (("bold", "1"), ("italics", "3"), ("underscore", "4"), ("blink", "5"), ("reverse", "7"), ("strikethrough", "9")):
        if getattr(c, attr):
            params.append(code)
    for color, codes, truecolor in ((c.fg, _FG_CODES, "38"), (c.bg, _BG_CODES, "48")):
        if color == "default":
            continue
        if color in codes:
            params.append(str(codes[color]))
        elif len(color) == 6:
            params.append(f"{truecolor};2;{int(color[:2], 16)};{int(color[2:4], 16)};{int(color[4:], 16)}")
    return "\x1b[" + ";".join(params) + "m"


_BLANK_SGR = "\x1b[0m"


def _ansi(line: Line, columns: int, keep: int = 0) -> str:
    """One line as text with SGR attributes, trailing blanks dropped (but not left of column ``keep``)."""
    cells = []  # (column, text, SGR)
    skip = False
    width = min(columns, max(max(line, default=-1) + 1, keep))  # cells never written are blank
    for x in range(width):
        if skip:
            skip = False
            continue
        c = line.get(x)
        if c is None:
            cells.append((x, " ", _BLANK_SGR))
            continue
        cells.append((x, c.data or " ", _sgr(c[1:])))
        skip = bool(c.data) and wcwidth(c.data[0]) == 2
    while cells and cells[-1][0] >= keep and cells[-1][1:] == (" ", _BLANK_SGR):
        cells.pop()
    out, current = [], _BLANK_SGR
    for _, data, sgr in cells:
        if sgr != current:
            out.append(sgr)
            current = sgr
        out.append(data)
    if current != _BLANK_SGR:
        out.append(_BLANK_SGR)
    return "".join(out)


def _css(c: Char) -> str:
    fg, bg = c.fg, c.bg
    if c.reverse:
        fg, bg = (bg if bg != "default" else "bg"), (fg if fg != "default" else "fg")
    style = []
    for prop, color in (("color", fg), ("background", bg)):
        if color == "fg":
            style.append(f"{prop}:var(--jp-ui-font-color0,#000)")
        elif color == "bg":
            style.append(f"{prop}:var(--jp-layout-color0,#fff)")
        elif color in _CSS:
            style.append(f"{prop}:{_CSS[color]}")
        elif len(color) == 6:
            style.append(f"{prop}:#{color}")
    if c.bold:
        style.append("font-weight:bold")
    if c.italics:
        style.append("font-style:italic")
    if c.underscore or c.strikethrough:
        style.append("text-decoration:" + " ".join(d for d, on in (("underline", c.underscore), ("line-through", c.strikethrough)) if on))
    return ";".join(style)


def _html(line: Line, columns: int) -> str:
    cells = []
    skip = False
    for x in range(columns):
        if skip:
            skip = False
            continue
        c = line.get(x)
        cells.append(((c.data or " "), _css(c)) if c is not None else (" ", ""))
        skip = c is not None and bool(c.data) and wcwidth(c.data[0]) == 2
    while cells and cells[-1] == (" ", ""):
        cells.pop()
    out, run, style = [], [], ""
    for data, s in cells:
        if s != style:
            out.append(_span(style, "".join(run)))
            run, style = [], s
        run.append(data)
    out.append(_span(style, "".join(run)))
    return "".join(out)


def _span(style: str, text: str) -> str:
    if not text:
        return ""
    return f'<span style="{style}">{html.escape(text)}</span>' if style else html.escape(text)


class ScreenModel:
    """A terminal emulator kept up to date on demand from a session's recent output.

    ``source(offset)`` returns ``(start, data, resizes)``: the output kept from stream
    offset ``offset`` on (``start`` is later than ``offset`` when older output was dropped)
    and the ``(offset, rows, cols)`` size changes at or after ``start``.
    """

    def __init__(self, source: Callable[[int], tuple[int, bytes, list[tuple[int, int, int]]]], rows: int, cols: int) -> None:
        self._source = source
        self._lock = threading.RLock()
        self._screen = _Screen(cols, rows)
        self._stream = _Stream(self._screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._offset = 0  # stream offset parsed so far

    def update(self, upto: int | None = None) -> None:
        """Parse the output not parsed yet (up to stream offset ``upto``)."""
        with self._lock:
            start, data, resizes = self._source(self._offset)
            if start > self._offset or len(data) > REPARSE_MAX:  # too far behind: start over from recent output
                skip = max(0, len(data) - REPARSE_MAX)
                if skip:  # from a line's start if one is near, so that lines wrap where they did
                    newline = data.find(b"\n", skip, skip + REPARSE_MAX // 4)
                    skip = newline + 1 if newline >= 0 else skip
                start, data = start + skip, data[skip:]
                size = [(r, c) for off, r, c in resizes if off <= start]
                rows, cols = size[-1] if size else (self._screen.lines, self._screen.columns)
                self._screen = _Screen(cols, rows)
                self._stream = _Stream(self._screen)
                self._decoder.reset()
                self._offset = start
            end = start + len(data) if upto is None else min(upto, start + len(data))
            for at, rows, cols in resizes:
                if self._offset <= at <= end:
                    self._feed(data[self._offset - start : at - start])
                    if (rows, cols) != (self._screen.lines, self._screen.columns):
                        self._screen.resize(rows, cols)
            self._feed(data[self._offset - start : end - start])

    def _feed(self, data: bytes) -> None:
        self._stream.feed(self._decoder.decode(data))
        self._offset += len(data)

    def lines(self) -> list[str]:
        """The visible screen, one string per row, trailing blanks removed."""
        with self._lock:
            s = self._screen
            return [_text(s.buffer[y], s.columns) for y in range(s.lines)]

    @property
    def cursor(self) -> tuple[int, int]:
        """Cursor ``(row, column)``, from 0."""
        with self._lock:
            return self._screen.cursor.y, self._screen.cursor.x

    def ansi(self, scrollback: bool = True) -> str:
        """The screen (and scrollback) as bytes for xterm.js to reproduce it: at most ``SNAPSHOT_MAX``."""
        with self._lock:
            s = self._screen
            main = s.saved_main[0] if s.saved_main is not None else s.buffer
            # On the cursor's row, blanks before the cursor stay: "$ " is the prompt, not "$".
            cursor_row = s.saved_main[1].y if s.saved_main is not None else s.cursor.y
            cursor_col = s.saved_main[1].x if s.saved_main is not None else s.cursor.x
            screen = [_ansi(main.get(y, {}), s.columns, cursor_col if y == cursor_row else 0) for y in range(s.lines)]
            history = [_ansi(line, s.columns) for line in s.scrollback] if scrollback else []
            alt = [_ansi(s.buffer[y], s.columns) for y in range(s.lines)] if s.alternate else []
            fixed = sum(len(x) + 2 for x in screen + alt) + 64
            while history and fixed + sum(len(x) + 2 for x in history) > SNAPSHOT_MAX:
                history = history[len(history) // 2 + 1 :]
            parts = ["\r\n".join(history + screen)]
            if s.alternate:
                parts.append("\x1b[?1049h\x1b[H\x1b[2J")
                parts.extend(f"\x1b[{y + 1};1H{line}" for y, line in enumerate(alt) if line)
            modes = {m >> 5 for m in s.mode if m & 31 == 0 and m >> 5 in _VIEW_MODES}
            parts.extend(f"\x1b[?{m}h" for m in sorted(modes))
            y, x = s.cursor.y, s.cursor.x
            if x < s.columns:
                parts.append(f"\x1b[{y + 1};{x + 1}H")
            else:  # past the last column, waiting to wrap: write the last cell again to get there
                row = s.buffer[y]
                last = s.columns - 1 if row[s.columns - 1].data or s.columns < 2 else s.columns - 2
                parts.append(f"\x1b[{y + 1};{last + 1}H" + _sgr(row[last][1:]) + (row[last].data or " ") + _BLANK_SGR)
            if s.cursor.hidden:
                parts.append("\x1b[?25l")
            return "".join(parts)[: SNAPSHOT_MAX]

    def html(self) -> str:
        """The visible screen as a ``<pre>``, for notebooks shown without a kernel."""
        with self._lock:
            s = self._screen
            rows = [_html(s.buffer[y], s.columns) for y in range(s.lines)]
            last = max(s.cursor.y, max((y for y, r in enumerate(rows) if r), default=0))
        body = "\n".join(rows[: last + 1])
        return (
            '<pre class="conpty-widget-screen" style="font-family:var(--jp-code-font-family,monospace);'
            "font-size:13px;line-height:1.2;padding:4px;margin:0;overflow-x:auto;"
            f'border:1px solid var(--jp-border-color1,#ccc)">{body}</pre>'
        )


#: Questions a program asks its terminal: cursor position (DSR 6, DECXCPR), status (DSR 5),
#: primary and secondary device attributes.
QUERY = re.compile(rb"\x1b\[(?:\??6n|5n|0?c|>0?c)")
#: Bytes of one read to keep for the next scan, so that a query split across reads is found.
QUERY_TAIL = 4


def answer(query: bytes, cursor: Callable[[], tuple[int, int]]) -> bytes:
    """What xterm.js would answer to ``query`` (a ``QUERY`` match); ``cursor()`` gives (row, column)."""
    if query.endswith(b"6n"):
        row, col = cursor()
        return b"\x1b[%s%d;%dR" % (b"?" if b"?" in query else b"", row + 1, col + 1)
    if query.endswith(b"5n"):
        return b"\x1b[0n"
    if b">" in query:
        return b"\x1b[>0;276;0c"
    return b"\x1b[?1;2c"
