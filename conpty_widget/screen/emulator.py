"""The terminal emulator: pyte's screen and parser, made to do what xterm.js does."""

from __future__ import annotations

import collections
import copy
import functools

import pyte
from pyte import modes as mo

from .cells import BLANK, SGR_FLAGS, Cell, Line, cell_width, char_width

#: Lines of scrollback kept above the screen, for snapshots.
SCROLLBACK = 200

_ALT_SCREEN_MODES = (1049, 1047, 47)
_SET = {code: name for name, code in SGR_FLAGS}
_UNSET = {22: ("bold", "dim"), 23: ("italics",), 24: ("underscore",), 25: ("blink",), 27: ("reverse",),
          28: ("hidden",), 29: ("strikethrough",), 55: ("overline",)}


@functools.lru_cache(maxsize=8192)
def _printed(attrs: Cell, data: str) -> Cell:
    """The cell of ``data`` printed with ``attrs`` (cells are immutable: shared, made once)."""
    return attrs._replace(data=data, written=True)


def _stub(line: Line, x: int) -> bool:
    """The cell at ``x`` is the second half of a wide character."""
    c = line.get(x)
    return c is not None and c.data == ""


def _copy(line: Line) -> Line:
    """A copy of a screen line that keeps what its cells never written show."""
    copied = pyte.screens.StaticDefaultDict(getattr(line, "default", BLANK))
    copied.update(line)
    return copied


class Screen(pyte.Screen):
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
        if data and cursor.x and cell_width(line, cursor.x - 1) == 2:  # writing over a wide char's 2nd half
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
                x = cursor.x - (1 if cell_width(line, cursor.x - 1) else 2)
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
        if start and cell_width(line, start - 1) == 2:
            line[start - 1] = fill
        if end < self.columns and end and cell_width(line, end - 1) == 2:
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
        if x and cell_width(line, x - 1) == 2:
            line[x - 1] = fill
        cells = [line[i] for i in range(x, cols)]
        for i in range(x, cols):
            line[i] = fill if i - x < n else cells[i - x - n]
        if cell_width(line, cols - 1) == 2:
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
        if x and cell_width(line, x - 1) == 2:
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


class Stream(pyte.Stream):
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

