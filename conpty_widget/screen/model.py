"""The screen model: a terminal emulator brought up to date on demand from a session's output."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable

from . import render
from .cells import line_text, text_width
from .emulator import Screen, Stream

#: Most output parsed to catch up at once; older output is skipped.
REPARSE_MAX = 256 * 1024


class ScreenModel:
    """A terminal emulator kept up to date on demand from a session's recent output.

    ``source(offset)`` returns ``(start, data, resizes)``: the output kept from stream
    offset ``offset`` on (``start`` is later than ``offset`` when older output was dropped)
    and the ``(offset, rows, cols)`` size changes at or after ``start``.
    """

    def __init__(self, source: Callable[[int], tuple[int, bytes, list[tuple[int, int, int]]]], rows: int, cols: int) -> None:
        self._source = source
        self._lock = threading.RLock()
        self._screen = Screen(cols, rows)
        self._stream = Stream(self._screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._offset = 0  # stream offset parsed so far
        #: Called with the new title when parsing changed it (OSC 0 or 2), after parsing.
        self.on_title: Callable[[str], None] | None = None

    def update(self, upto: int | None = None) -> None:
        """Parse the output not parsed yet (up to stream offset ``upto``)."""
        with self._lock:
            title = self._screen.title
            start, data, resizes = self._source(self._offset)
            if start > self._offset or len(data) > REPARSE_MAX:  # too far behind: start over from recent output
                skip = max(0, len(data) - REPARSE_MAX)
                if skip:  # from a line's start if one is near, so that lines wrap where they did
                    newline = data.find(b"\n", skip, skip + REPARSE_MAX // 4)
                    skip = newline + 1 if newline >= 0 else skip
                start, data = start + skip, data[skip:]
                size = [(r, c) for off, r, c in resizes if off <= start]
                rows, cols = size[-1] if size else (self._screen.lines, self._screen.columns)
                self._screen = Screen(cols, rows)
                self._screen.title = title  # the view keeps it too
                self._stream = Stream(self._screen)
                self._decoder.reset()
                self._offset = start
            end = start + len(data) if upto is None else min(upto, start + len(data))
            for at, rows, cols in resizes:
                if self._offset <= at <= end:
                    self._feed(data[self._offset - start : at - start])
                    if (rows, cols) != (self._screen.lines, self._screen.columns):
                        self._screen.resize(rows, cols)
            self._feed(data[self._offset - start : end - start])
            new_title = self._screen.title
        if new_title != title and self.on_title is not None:
            self.on_title(new_title)

    def _feed(self, data: bytes) -> None:
        self._stream.feed(self._decoder.decode(data))
        self._offset += len(data)

    def lines(self) -> list[str]:
        """The visible screen, one string per row, trailing blanks removed."""
        with self._lock:
            s = self._screen
            return [line_text(s.buffer[y], s.columns) for y in range(s.lines)]

    def text(self, to_cursor: bool = False) -> str:
        """The visible screen as a person reads it: one line per row, but a row that wrapped
        onto the next one is joined to it. With ``to_cursor``, the cursor's row keeps its
        blanks up to the cursor (a prompt ``">>> "`` with the cursor after it ends in a space)."""
        with self._lock:
            s = self._screen
            out = []
            for y in range(s.lines):
                joined = y + 1 in s.wrapped
                row = line_text(s.buffer[y], s.columns, strip=not joined)
                if to_cursor and y == s.cursor.y and not joined:
                    row += " " * (min(s.cursor.x, s.columns) - text_width(row))
                out.append(row + ("" if joined else "\n"))
            return "".join(out).rstrip("\n")

    def at_prompt(self) -> bool | None:
        """For a shell with integration: it waits at its prompt with nothing typed (the cursor
        where input starts, nothing right of it). None when the shell never marked a prompt."""
        with self._lock:
            s = self._screen
            if s.shell_mark is None:
                return None
            if s.shell_mark != "B" or s.prompt_at != (s.cursor.y, s.cursor.x):
                return False
            line = s.buffer[s.cursor.y]
            return not any(line[x].written and line[x].data.strip() for x in range(s.cursor.x, s.columns))

    def last_mark(self) -> str | None:
        """The last OSC 133 mark of a shell with integration ("A", "B", "C", "D"), if any."""
        with self._lock:
            return self._screen.shell_mark

    def bracketed_paste(self) -> bool:
        """Whether the program turned bracketed paste on (mode 2004), as line editors do at a prompt."""
        with self._lock:
            return 2004 << 5 in self._screen.mode

    def mode(self, mode: int, private: bool) -> bool:
        """Whether ``mode`` (``CSI ? mode h`` if ``private``, else ``CSI mode h``) is set."""
        with self._lock:
            return (mode << 5 if private else mode) in self._screen.mode

    @property
    def alternate(self) -> bool:
        """On the alternate screen."""
        with self._lock:
            return self._screen.alternate

    def margins(self) -> tuple[int, int]:
        """The scrolling margins (DECSTBM): top and bottom rows, from 0."""
        with self._lock:
            s = self._screen
            return (s.margins.top, s.margins.bottom) if s.margins is not None else (0, s.lines - 1)

    @property
    def title(self) -> str:
        """The window title a program set (OSC 0 or 2), as the view shows it."""
        with self._lock:
            return self._screen.title

    @property
    def cursor(self) -> tuple[int, int]:
        """Cursor ``(row, column)``, from 0."""
        with self._lock:
            return self._screen.cursor.y, self._screen.cursor.x

    def ansi(self, scrollback: bool = True) -> str:
        """The screen (and scrollback) as text for xterm.js to reproduce it: at most ``SNAPSHOT_MAX``."""
        with self._lock:
            return render.ansi(self._screen, scrollback)

    def html(self) -> str:
        """The visible screen as a ``<pre>``, for notebooks shown without a kernel."""
        with self._lock:
            return render.html(self._screen)
