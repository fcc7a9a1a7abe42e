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

import bisect
import codecs
import collections
import copy
import functools
import html
import re
import threading
from collections.abc import Callable
from typing import NamedTuple, Union

import pyte
from pyte import modes as mo

from . import _unicode11

#: Most output parsed to catch up at once; older output is skipped.
REPARSE_MAX = 256 * 1024
#: Lines of scrollback kept above the screen, for snapshots.
SCROLLBACK = 200
#: Largest rendered snapshot; scrollback lines are dropped first to fit.
SNAPSHOT_MAX = 256 * 1024

_ALT_SCREEN_MODES = (1049, 1047, 47)
# Private modes a new view must know to send the right keys and reports.
_VIEW_MODES = (1, 66, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004)

# xterm's default palette, for the HTML fallback (the live view follows the JupyterLab theme):
# the 16 colours, a 6x6x6 cube, then 24 greys.
_LEVELS = (0, 95, 135, 175, 215, 255)
_PALETTE = (
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
    *(f"#{_LEVELS[i // 36]:02x}{_LEVELS[i // 6 % 6]:02x}{_LEVELS[i % 6]:02x}" for i in range(216)),
    *(f"#{8 + 10 * i:02x}{8 + 10 * i:02x}{8 + 10 * i:02x}" for i in range(24)),
)

#: A colour as xterm.js keeps it: None (the default), ("16", n) from SGR 30-37/90-97 (and the
#: background's), ("256", n) from ``38;5;n``, or ("rgb", 0xRRGGBB) from ``38;2;r;g;b``.
Color = Union[None, tuple[str, int]]


class Cell(NamedTuple):
    """One cell: pyte's ``Char`` fields (``data`` is the text written there: a character and the
    zero-width ones joined to it, as written; "" for the second cell of a wide character), xterm's
    colours and the attributes pyte lacks."""

    data: str
    fg: Color = None
    bg: Color = None
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False
    overline: bool = False
    hidden: bool = False
    #: Printed to (a space included), as opposed to blank: never written, erased, or cleared by a
    #: wide character; xterm.js's text of a line ends at its last cell printed to.
    written: bool = False


_BLANK = Cell(" ")
_BLANK_LINE: dict = {}
_FLAGS = (("bold", 1), ("dim", 2), ("italics", 3), ("underscore", 4), ("blink", 5), ("reverse", 7),
          ("hidden", 8), ("strikethrough", 9), ("overline", 53))
_SET = {code: name for name, code in _FLAGS}
_UNSET = {22: ("bold", "dim"), 23: ("italics",), 24: ("underscore",), 25: ("blink",), 27: ("reverse",),
          28: ("hidden",), 29: ("strikethrough",), 55: ("overline",)}


def _table(ranges: tuple[tuple[int, int], ...]) -> tuple[list[int], list[int]]:
    return [a for a, _ in ranges], [b for _, b in ranges]


_TABLES = tuple(_table(t) for t in (_unicode11.BMP_WIDE, _unicode11.BMP_COMBINING,
                                     _unicode11.HIGH_COMBINING, _unicode11.HIGH_WIDE))


def _within(cp: int, table: tuple[list[int], list[int]]) -> bool:
    i = bisect.bisect_right(table[0], cp) - 1
    return i >= 0 and cp <= table[1][i]


@functools.lru_cache(maxsize=4096)
def char_width(cp: int) -> int:
    """Cells taken by code point ``cp``, as xterm.js's unicode11 addon counts them (0, 1 or 2)."""
    if cp < 32 or 0x7F <= cp < 0xA0:
        return 0
    if cp < 127:
        return 1
    bmp_wide, bmp_combining, high_combining, high_wide = _TABLES
    if cp < 0x10000:  # the addon fills its BMP table with the combining ranges, then the wide ones
        return 2 if _within(cp, bmp_wide) else 0 if _within(cp, bmp_combining) else 1
    return 0 if _within(cp, high_combining) else 2 if _within(cp, high_wide) else 1


@functools.lru_cache(maxsize=8192)
def _printed(attrs: Cell, data: str) -> Cell:
    """The cell of ``data`` printed with ``attrs`` (cells are immutable: shared, made once)."""
    return attrs._replace(data=data, written=True)


def _width(line: Line, x: int) -> int:
    """The width of the cell at ``x``: 0 for the second half of a wide character (and for a
    zero-width character that had nothing to join), 2 for a wide character, else 1."""
    c = line.get(x)
    if c is None:
        return 1
    return char_width(ord(c.data[0])) if c.data else 0


def _stub(line: Line, x: int) -> bool:
    """The cell at ``x`` is the second half of a wide character."""
    c = line.get(x)
    return c is not None and c.data == ""


Line = dict  # column -> Cell; pyte's lines default to a blank Cell


class _Screen(pyte.Screen):
    """pyte's screen, made to do what xterm.js does (what the view shows is the reference): its
    character widths and joining of zero-width characters, its colours and attributes, its
    erasing (with the background colour only); plus the alternate screen and a bounded
    scrollback of the main screen."""

    lines: int
    columns: int

    def __init__(self, columns: int, lines: int) -> None:
        self.scrollback: collections.deque[Line] = collections.deque(maxlen=SCROLLBACK)
        #: While on the alternate screen: the main screen's lines, cursor and margins.
        self.saved_main: tuple[dict[int, Line], pyte.screens.Cursor, pyte.screens.Margins | None] | None = None
        #: Width of the character just printed, 0 after anything else (xterm's precedingJoinState):
        #: a zero-width character joins the cell before it only right after printing it.
        self.preceding = 0
        #: The last OSC 133 mark of a shell with integration (conpty_widget/shell_integration.py):
        #: "A", "B" (at its prompt, input starts at ``prompt_at``), "C" (a command runs), "D".
        self.shell_mark: str | None = None
        #: Rows that continue the row above them (printing wrapped there).
        self.wrapped: set[int] = set()
        self.prompt_at: tuple[int, int] | None = None
        #: DECSC, one for each screen (main: False, alternate: True): (cursor, g0, g1, charset).
        self.saved_cursor: dict[bool, tuple | None] = {False: None, True: None}
        super().__init__(columns, lines)

    @property
    def default_char(self) -> Cell:
        return Cell(" ", reverse=mo.DECSCNM in self.mode)

    def reset(self) -> None:
        super().reset()
        self.cursor.attrs = self.default_char

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
                self.scrollback.extend(_copy(self.buffer[y]) for y in range(top))
            kept = {y - top: line for y, line in self.buffer.items() if top <= y < lines + top}
            self.buffer.clear()
            self.buffer.update(kept)
            self.cursor.y -= top
        if columns < self.columns:
            for line in self.buffer.values():
                for x in range(columns, self.columns):
                    line.pop(x, None)
        self.lines, self.columns = lines, columns
        self.margins = None
        self.wrapped.clear()
        self.ensure_hbounds()
        self.dirty.update(range(lines))

    def set_margins(self, top: int | None = None, bottom: int | None = None) -> None:
        """DECSTBM; without parameters too, it moves the cursor home (as xterm.js does)."""
        if not top and bottom is None:
            self.margins = None
            self.cursor_position()
        else:
            super().set_margins(top, bottom)

    def set_icon_name(self, param: str) -> None:
        # pyte reads ``OSC 133 ; X`` as OSC 1 (icon name) with the parameter "3;X".
        if param.startswith("3;") and param[2:3] in ("A", "B", "C", "D"):
            self.shell_mark = param[2]
            self.prompt_at = (self.cursor.y, self.cursor.x) if self.shell_mark == "B" else None
        else:
            super().set_icon_name(param)

    def write_process_input(self, data: str) -> None:
        """Replies are the session's job (only when no view answers); parsing never replies."""

    def draw(self, data: str) -> None:
        """Print ``data`` as xterm.js's ``InputHandler.print`` does."""
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        cursor, cols = self.cursor, self.columns
        attrs = cursor.attrs
        blank = attrs._replace(data=" ")
        line = self.buffer[cursor.y]
        if data and cursor.x and _width(line, cursor.x - 1) == 2:  # writing over a wide char's 2nd half
            line[cursor.x - 1] = blank
        for ch in data:
            width = char_width(ord(ch))
            join = width == 0 and self.preceding > 0
            if join:
                width = self.preceding
            self.preceding = width
            if not join and cursor.x + width > cols:
                if mo.DECAWM in self.mode:
                    for x in range(cursor.x, cols):
                        line[x] = blank
                    cursor.x = 0
                    self.index()
                    self.wrapped.add(cursor.y)
                    line = self.buffer[cursor.y]
                else:
                    cursor.x = cols - 1
                    if width == 2:
                        continue
            if join and cursor.x:
                x = cursor.x - (1 if _width(line, cursor.x - 1) else 2)
                line[x] = line[x]._replace(data=line[x].data + ch)
                continue
            if mo.IRM in self.mode:
                self.insert_characters(width)
            if cursor.x < cols:
                line[cursor.x] = _printed(attrs, ch)
            cursor.x += 1
            if width == 2:
                line[cursor.x] = _printed(attrs, "")
                cursor.x += 1
        if cursor.x < cols and _stub(line, cursor.x):  # the 2nd half of a wide char overwritten
            line[cursor.x] = blank
        self.dirty.add(cursor.y)

    def select_graphic_rendition(self, *attrs: int) -> None:
        """SGR, as xterm.js reads it (semicolon-separated parameters)."""
        cursor = self.cursor
        if not attrs:
            attrs = (0,)
        change: dict[str, object] = {}
        i = 0
        while i < len(attrs):
            p = attrs[i]
            if 30 <= p <= 37 or 90 <= p <= 97:
                change["fg"] = ("16", p - 30 if p < 90 else p - 82)
            elif 40 <= p <= 47 or 100 <= p <= 107:
                change["bg"] = ("16", p - 40 if p < 100 else p - 92)
            elif p == 0:
                change = dict(self.default_char._asdict())
                del change["data"]
            elif p in _SET:
                change[_SET[p]] = True
            elif p in _UNSET:
                change.update(dict.fromkeys(_UNSET[p], False))
            elif p == 39:
                change["fg"] = None
            elif p == 49:
                change["bg"] = None
            elif p in (38, 48, 58):
                mode = attrs[i + 1] if i + 1 < len(attrs) else 0
                if mode == 5:
                    color = ("256", attrs[i + 2] if i + 2 < len(attrs) else 0)
                    i += 2
                elif mode == 2:
                    rgb = (list(attrs[i + 2 : i + 5]) + [0, 0, 0])[:3]
                    color = ("rgb", (rgb[0] & 255) << 16 | (rgb[1] & 255) << 8 | rgb[2] & 255)
                    i += 4
                else:
                    color = None
                    i += 1
                if p != 58 and mode in (2, 5):  # 58 is the underline colour, not kept
                    change["fg" if p == 38 else "bg"] = color
            i += 1
        cursor.attrs = cursor.attrs._replace(**change)

    # -- erasing: xterm fills with a blank of the current background colour only ----------

    def _erased(self) -> Cell:
        return self.default_char._replace(bg=self.cursor.attrs.bg)

    def _replace_cells(self, line: Line, start: int, end: int, fill: Cell) -> None:
        """xterm's ``BufferLine.replaceCells``: no half of a wide character is left behind."""
        if start and _width(line, start - 1) == 2:
            line[start - 1] = fill
        if end < self.columns and end and _width(line, end - 1) == 2:
            line[end] = fill
        for x in range(start, min(end, self.columns)):
            line[x] = fill

    def _blank_line(self, y: int) -> None:
        self.buffer[y] = pyte.screens.StaticDefaultDict(self._erased())
        self.wrapped.discard(y)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        self.cursor.x = min(self.cursor.x, self.columns)
        x, cols = self.cursor.x, self.columns
        start, end = {0: (x, cols), 1: (0, x + 1), 2: (0, cols)}.get(how, (0, 0))
        self._replace_cells(self.buffer[self.cursor.y], start, end, self._erased())
        self.dirty.add(self.cursor.y)

    def erase_in_display(self, how: int = 0, *args: object, **kwargs: object) -> None:
        y = self.cursor.y
        if how == 0:
            self.erase_in_line(0)
            rows = range(y + 1, self.lines)
        elif how == 1:
            self.erase_in_line(1)
            rows = range(y)
        elif how == 2:
            rows = range(self.lines)
        else:
            if how == 3:
                self.scrollback.clear()
            rows = range(0)
        for row in rows:
            self._blank_line(row)
        self.dirty.update(rows)

    def erase_characters(self, count: int | None = None) -> None:
        self.ensure_hbounds()
        x = self.cursor.x
        self._replace_cells(self.buffer[self.cursor.y], x, x + (count or 1), self._erased())
        self.dirty.add(self.cursor.y)

    def insert_characters(self, count: int | None = None) -> None:
        """xterm's ``BufferLine.insertCells``."""
        self.ensure_hbounds()
        n, x, cols = count or 1, self.cursor.x, self.columns
        line, fill = self.buffer[self.cursor.y], self._erased()
        if x and _width(line, x - 1) == 2:
            line[x - 1] = fill
        cells = [line[i] for i in range(x, cols)]
        for i in range(x, cols):
            line[i] = fill if i - x < n else cells[i - x - n]
        if _width(line, cols - 1) == 2:
            line[cols - 1] = fill
        self.dirty.add(self.cursor.y)

    def delete_characters(self, count: int | None = None) -> None:
        """xterm's ``BufferLine.deleteCells``."""
        self.ensure_hbounds()
        n, x, cols = count or 1, self.cursor.x, self.columns
        line, fill = self.buffer[self.cursor.y], self._erased()
        cells = [line[i] for i in range(x, cols)]
        for i in range(x, cols):
            line[i] = cells[i - x + n] if i - x + n < len(cells) else fill
        if x and _width(line, x - 1) == 2:
            line[x - 1] = fill
        if _stub(line, x):
            line[x] = fill
        self.dirty.add(self.cursor.y)

    def index(self) -> None:
        self.ensure_hbounds()  # xterm.js: no longer waiting to wrap
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and bottom == self.lines - 1 and not self.alternate:
            self.scrollback.append(_copy(self.buffer[top]))
        scrolls = self.cursor.y == bottom
        super().index()
        if scrolls:
            if self.wrapped:
                self.wrapped = {y - 1 if top < y <= bottom else y for y in self.wrapped if y != top}
            self._blank_line(bottom)
            if self.prompt_at is not None:
                self.prompt_at = (self.prompt_at[0] - 1, self.prompt_at[1])

    def save_cursor(self) -> None:
        """DECSC, as xterm.js: one saved position, attributes and character sets (no stack)."""
        self.saved_cursor[self.alternate] = (copy.copy(self.cursor), self.g0_charset, self.g1_charset, self.charset)

    def restore_cursor(self) -> None:
        saved = self.saved_cursor[self.alternate]
        if saved is None:
            self.cursor.x, self.cursor.y, self.cursor.attrs = 0, 0, self.default_char
            return
        cursor, self.g0_charset, self.g1_charset, self.charset = saved
        self.cursor.x, self.cursor.y, self.cursor.attrs = cursor.x, cursor.y, cursor.attrs
        self.ensure_hbounds()
        self.ensure_vbounds()

    def tab(self) -> None:
        if self.cursor.x < self.columns:  # xterm.js: waiting to wrap, a tab does nothing
            super().tab()

    def reverse_index(self) -> None:
        self.ensure_hbounds()  # xterm.js: no longer waiting to wrap
        top = self.margins.top if self.margins else 0
        scrolls = self.cursor.y == top
        super().reverse_index()
        if scrolls:
            self.wrapped.clear()
            self._blank_line(top)

    def _shift_lines(self, count: int | None, down: bool) -> None:
        """IL (``down``) and DL: lines from the cursor's to the bottom margin move, the lines
        that come in are blank (the background colour); nothing outside the margins."""
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        y, n = self.cursor.y, count or 1
        if not top <= y <= bottom:
            return
        rows = range(y, bottom + 1)
        lines = [self.buffer.get(r) for r in rows]
        new = [False] * min(n, len(lines))
        lines = new + lines[: len(lines) - len(new)] if down else lines[len(new) :] + new
        self.wrapped = {y for y in self.wrapped if y < self.cursor.y}
        for r, line in zip(rows, lines):
            if line is False:
                self._blank_line(r)
            elif line is None:  # never written
                self.buffer.pop(r, None)
            else:
                self.buffer[r] = line
        self.carriage_return()
        self.dirty.update(rows)

    def insert_lines(self, count: int | None = None) -> None:
        self._shift_lines(count, down=True)

    def delete_lines(self, count: int | None = None) -> None:
        self._shift_lines(count, down=False)

    def cursor_up(self, count: int | None = None) -> None:
        """CUU, as xterm.js: it stops at the top margin only when it starts below it."""
        top = self.margins.top if self.margins else 0
        y = self.cursor.y
        self.cursor.y = max(top, y - (count or 1)) if y >= top else max(0, y - (count or 1))
        self.ensure_hbounds()

    def cursor_down(self, count: int | None = None) -> None:
        bottom = self.margins.bottom if self.margins else self.lines - 1
        y = self.cursor.y
        self.cursor.y = min(bottom, y + (count or 1)) if y <= bottom else min(self.lines - 1, y + (count or 1))
        self.ensure_hbounds()

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        super().set_mode(*modes, **kwargs)
        if not kwargs.get("private"):
            return
        if 1049 in modes:
            self.save_cursor()
        if any(m in _ALT_SCREEN_MODES for m in modes) and not self.alternate:
            # xterm.js: the alternate screen starts blank (the background colour), with the cursor where it was.
            self.saved_main = ({y: _copy(line) for y, line in self.buffer.items()}, copy.copy(self.cursor), self.margins)
            self.saved_cursor[True] = None
            self.margins = None  # each screen has its own scrolling margins
            self.wrapped.clear()
            self.buffer.clear()
            if self.cursor.attrs.bg is not None:
                for y in range(self.lines):
                    self._blank_line(y)
            self.dirty.update(range(self.lines))

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        super().reset_mode(*modes, **kwargs)
        if not kwargs.get("private"):
            return
        if any(m in _ALT_SCREEN_MODES for m in modes) and self.saved_main is not None:
            # xterm.js: back on the main screen, the cursor stays where it was on the alternate one.
            lines, _, self.margins = self.saved_main
            self.saved_main = None
            self.wrapped.clear()
            self.buffer.clear()
            for y, line in lines.items():
                if y < self.lines:
                    self.buffer[y] = line
                    for x in [x for x in line if x >= self.columns]:
                        del line[x]
            self.dirty.update(range(self.lines))
        if 1049 in modes:
            self.restore_cursor()


class _Stream(pyte.Stream):
    """pyte's parser, telling the screen where printing stops (a zero-width character
    joins only the character printed just before it), and robust: some malformed sequences make pyte raise (``ESC [ 1 ; 2 ; 3 c``
    calls a handler with too many arguments); any program may print them, so drop the one
    sequence, as a terminal does, and go on (pyte has reset its parser before raising)."""

    def _send_to_parser(self, data: str) -> bool | None:
        self.listener.preceding = 0  # a control or a sequence: nothing to join any more
        try:
            return super()._send_to_parser(data)
        except Exception:
            return self._taking_plain_text


def _copy(line: Line) -> Line:
    """A copy of a screen line that keeps what its cells never written show."""
    copied = pyte.screens.StaticDefaultDict(getattr(line, "default", _BLANK))
    copied.update(line)
    return copied


def _cells(line: Line, columns: int) -> list[Cell]:
    """The cells of a line as a terminal shows them: a wide character's second half left out."""
    default = getattr(line, "default", _BLANK)
    out = []
    x = 0
    while x < columns:
        c = line.get(x, default)
        out.append(c)
        x += 2 if _width(line, x) == 2 else 1
    return out


def _text(line: Line, columns: int, strip: bool = True) -> str:
    """The line's text as xterm.js gives it: up to the end of the last cell printed to (a
    zero-width character alone in its cell ends nowhere), trailing blanks removed."""
    out, end = [], 0
    for c in _cells(line, columns):
        out.append(c.data or " ")
        if c.written:
            end = len(out) - (bool(c.data) and not char_width(ord(c.data[0])))
    return "".join(out[:end]).rstrip() if strip else "".join(out)


@functools.lru_cache(maxsize=1024)
def _sgr(attrs: tuple) -> str:
    """The SGR sequence for a cell's attributes (a ``Cell`` without its data)."""
    c = Cell(" ", *attrs)
    params = ["0"] + [str(code) for name, code in _FLAGS if getattr(c, name)]
    for color, base, extended in ((c.fg, 30, 38), (c.bg, 40, 48)):
        if color is None:
            continue
        kind, value = color
        if kind == "16":
            params.append(str(base + value if value < 8 else base + 60 + value - 8))
        elif kind == "256":
            params.append(f"{extended};5;{value}")
        else:
            params.append(f"{extended};2;{value >> 16};{value >> 8 & 255};{value & 255}")
    return "\x1b[" + ";".join(params) + "m"


_BLANK_SGR = "\x1b[0m"


def _ansi(line: Line, columns: int) -> str:
    """One line as text with SGR attributes, for xterm.js to reproduce it. Blank cells (never
    printed to) are skipped (``CSI C``), or erased again (``CSI X``) if they have a background
    colour; trailing blanks are left out."""
    if getattr(line, "default", _BLANK) == _BLANK:
        # Past its last cell the line is blank, and trailing blanks are left out: a big, mostly
        # empty screen (hundreds of rows and columns) costs what it holds, not its area.
        columns = min(columns, max(line, default=-2) + 2)
    runs: list[tuple[Cell, int]] = []  # cells, and runs of blanks: (cell, count)
    for c in _cells(line, columns):
        if not c.written or not c.data:  # a blank (or half a wide character) shows its background only
            c = _BLANK._replace(bg=c.bg)
            if runs and runs[-1][1] and runs[-1][0] == c:
                runs[-1] = (c, runs[-1][1] + 1)
            else:
                runs.append((c, 1))
        else:
            runs.append((c, 0))
    if runs and runs[-1][0] == _BLANK and runs[-1][1]:
        runs.pop()
    out, current = [], _BLANK_SGR
    for i, (c, count) in enumerate(runs):
        if count and c.bg is None:
            out.append(f"\x1b[{count}C")
            continue
        sgr = _sgr(c[1:-1])
        # A zero-width character alone in its cell: after an SGR, so that it joins nothing.
        if sgr != current or (not count and c.data and not char_width(ord(c.data[0]))):
            out.append(sgr)
            current = sgr
        if count:
            out.append(f"\x1b[{count}X" + (f"\x1b[{count}C" if i + 1 < len(runs) else ""))
        else:
            out.append(c.data or " ")
    if current != _BLANK_SGR:
        out.append(_BLANK_SGR)
    return "".join(out)


def _color_css(color: tuple[str, int]) -> str:
    kind, value = color
    return _PALETTE[value] if kind in ("16", "256") else f"#{value:06x}"


def _css(c: Cell) -> str:
    fg = _color_css(c.fg) if c.fg is not None else "var(--jp-ui-font-color0,#000)"
    bg = _color_css(c.bg) if c.bg is not None else "var(--jp-layout-color0,#fff)"
    style = []
    if c.reverse:
        fg, bg = bg, fg
        style += [f"color:{fg}", f"background:{bg}"]
    else:
        style += [f"color:{fg}"] if c.fg is not None else []
        style += [f"background:{bg}"] if c.bg is not None else []
    if c.bold:
        style.append("font-weight:bold")
    if c.dim:
        style.append("opacity:0.5")
    if c.italics:
        style.append("font-style:italic")
    if c.hidden:
        style.append("visibility:hidden")
    lines = [d for d, on in (("underline", c.underscore), ("overline", c.overline), ("line-through", c.strikethrough)) if on]
    if lines:
        style.append("text-decoration:" + " ".join(lines))
    return ";".join(style)


def _html(line: Line, columns: int) -> str:
    cells = [(c.data or " ", _css(c)) for c in _cells(line, columns)]
    while cells and cells[-1] == (" ", ""):
        cells.pop()
    out: list[str] = []
    run: list[str] = []
    style = ""
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

    def text(self) -> str:
        """The visible screen as a person reads it: one line per row, but a row that wrapped
        onto the next one is joined to it."""
        with self._lock:
            s = self._screen
            out = []
            for y in range(s.lines):
                joined = y + 1 in s.wrapped
                out.append(_text(s.buffer[y], s.columns, strip=not joined) + ("" if joined else "\n"))
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
            screen = [_ansi(main.get(y, _BLANK_LINE), s.columns) for y in range(s.lines)]
            history = [_ansi(line, s.columns) for line in s.scrollback] if scrollback else []
            alt = [_ansi(s.buffer[y], s.columns) for y in range(s.lines)] if s.alternate else []
            fixed = sum(len(x) + 2 for x in screen + alt) + 64
            while history and fixed + sum(len(x) + 2 for x in history) > SNAPSHOT_MAX:
                history = history[len(history) // 2 + 1 :]
            parts = ["\r\n".join(history + screen)]
            if s.saved_main is not None:  # the alternate screen, entered where the cursor was
                main_saved = s.saved_cursor[False]  # saved, for the view to return there
                saved = main_saved[0] if main_saved is not None else s.saved_main[1]
                parts.append(f"\x1b[{saved.y + 1};{saved.x + 1}H\x1b[?1049h\x1b[H\x1b[2J")
                parts.extend(f"\x1b[{y + 1};1H{line}" for y, line in enumerate(alt) if line)
            modes = {m >> 5 for m in s.mode if m & 31 == 0 and m >> 5 in _VIEW_MODES}
            parts.extend(f"\x1b[?{m}h" for m in sorted(modes))
            if mo.DECAWM not in s.mode:
                parts.append("\x1b[?7l")
            if s.margins is not None and tuple(s.margins) != (0, s.lines - 1):
                parts.append(f"\x1b[{s.margins.top + 1};{s.margins.bottom + 1}r")
            y, x = s.cursor.y, s.cursor.x
            if x < s.columns:
                parts.append(f"\x1b[{y + 1};{x + 1}H")
            else:  # past the last column, waiting to wrap: write the last cell again to get there
                row = s.buffer[y]
                last = s.columns - 1 if row[s.columns - 1].data or s.columns < 2 else s.columns - 2
                parts.append(f"\x1b[{y + 1};{last + 1}H" + _sgr(row[last][1:-1]) + (row[last].data or " ") + _BLANK_SGR)
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


class QueryScanner:
    """Finds the terminal queries (``QUERY``) in output read in pieces, a query split across
    two reads included, each once."""

    def __init__(self) -> None:
        self._tail = b""  # end of the last piece scanned

    def scan(self, data: bytes, at: int) -> list[tuple[bytes, int]]:
        """The queries in ``data`` (whose first byte is at stream offset ``at``), each with the
        stream offset just after it."""
        scan, tail = self._tail + data, len(self._tail)
        self._tail = scan[-QUERY_TAIL:]
        return [(m.group(), at - tail + m.end()) for m in QUERY.finditer(scan) if m.end() > tail]

    def skip(self) -> None:
        """Output went by unscanned (a view answered it): a query cannot span it."""
        self._tail = b""


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
