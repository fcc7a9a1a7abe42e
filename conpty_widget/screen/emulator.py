"""The terminal emulator: pyte's screen made to do what xterm.js does, fed by xterm.js's parser."""

from __future__ import annotations

import collections
import copy
import functools
import inspect
import re
from collections.abc import Callable, Iterable

import pyte
from pyte import modes as mo

from ._charsets import CHARSETS
from .cells import BLANK, SGR_FLAGS, Cell, Color, Line, cell_width, char_width

#: Lines of scrollback kept above the screen, for snapshots.
SCROLLBACK = 200

_ALT_SCREEN_MODES = (1049, 1047, 47)
_TRANSLATE = {final: str.maketrans({k: v[0] for k, v in table.items()}) for final, table in CHARSETS.items()}
# Private modes of which xterm.js keeps one: the mouse protocol, the mouse encoding.
_ONE_OF = ((9, 1000, 1002, 1003), (1006, 1016))
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


def _extract_color(params: list[int], subs: list[list[int]], pos: int) -> tuple[int, int, Color]:
    """xterm.js's ``_extractColor`` for SGR 38/48/58 at ``pos``, with semicolons or colons:
    the parameters it took beyond ``pos``, the colour mode (2: RGB, 5: 256 colours; anything
    else changes nothing) and the colour."""
    accu = [0, 0, -1, 0, 0, 0]  # target, mode, colour space, then the values
    space = advance = 0
    while True:
        accu[advance + space] = params[pos + advance]
        sub = subs[pos + advance]
        if sub:
            j = 0
            while True:
                if accu[1] == 5:
                    space = 1
                accu[advance + j + 1 + space] = sub[j]
                j += 1
                if not (j < len(sub) and j + advance + 1 + space < len(accu)):
                    break
            break
        if (accu[1] == 5 and advance + space >= 2) or (accu[1] == 2 and advance + space >= 5):
            break
        if accu[1]:
            space = 1
        advance += 1
        if not (advance + pos < len(params) and advance + space < len(accu)):
            break
    values = [0 if v == -1 else v for v in accu[3:]]
    if accu[1] == 2:
        return advance, 2, ("rgb", (values[0] & 255) << 16 | (values[1] & 255) << 8 | values[2] & 255)
    return advance, accu[1], ("256", values[0] & 255) if accu[1] == 5 else None


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
        #: DECSC, one for each screen (main: False, alternate: True): (cursor, character set printing).
        self.saved_cursor: dict[bool, tuple[pyte.screens.Cursor, str] | None] = {False: None, True: None}
        #: Character sets, as the final character designating them (``_charsets``; "B" is US ASCII):
        #: G0-G3, the one shifted in, and the one printing uses (DECRC restores that one alone).
        self.designated = ["B"] * 4
        self.glevel = 0
        self.printing = "B"
        super().__init__(columns, lines)

    @property
    def default_char(self) -> Cell:
        return Cell(" ", reverse=mo.DECSCNM in self.mode)

    def reset(self) -> None:
        """RIS, as xterm.js: the screens, scrollback and saved cursors go too (the title stays)."""
        title = getattr(self, "title", "")
        super().reset()
        self.title = title
        self.cursor.attrs = self.default_char
        self.designated, self.glevel, self.printing = ["B"] * 4, 0, "B"
        self.scrollback.clear()
        self.saved_main = None
        self.saved_cursor = {False: None, True: None}
        self.wrapped.clear()

    def designate(self, g: int, final: str) -> None:
        """``ESC ( C`` and the like: character set ``final`` is G``g``."""
        self.designated[g] = final
        if self.glevel == g:
            self.printing = final

    def shift(self, g: int) -> None:
        """SO, SI, LS2, LS3...: G``g`` prints."""
        self.glevel, self.printing = g, self.designated[g]

    def select_default_charset(self) -> None:
        """``ESC % @``, ``ESC % G``: G0, US ASCII, prints."""
        self.shift(0)
        self.designate(0, "B")

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

    def mark(self, kind: str) -> None:
        """OSC 133: a shell with integration marks its prompt, input, command and its end."""
        if kind in ("A", "B", "C", "D"):
            self.shell_mark = kind
            self.prompt_at = (self.cursor.y, self.cursor.x) if kind == "B" else None

    def linefeed(self) -> None:
        """LF, VT, FF, as xterm.js: past the last column (a zero-width character alone there moves
        the cursor on), the cursor comes back one column only."""
        x = self.cursor.x
        super().linefeed()
        if mo.LNM not in self.mode:
            self.cursor.x = x - 1 if x >= self.columns else x

    def backspace(self) -> None:
        """BS, as xterm.js (without reverse wraparound): from past the last column too, the
        column left of the last."""
        self.cursor.x = max(0, min(self.cursor.x, self.columns - 1) - 1)

    def cursor_back(self, count: int | None = None) -> None:
        """CUB, as xterm.js: from past the last column too, counted from the last column."""
        self.cursor.x = min(self.cursor.x, self.columns)
        super().cursor_back(count)

    def next_line(self) -> None:
        """NEL (``ESC E``, C1 0x85): the first column of the next line."""
        self.carriage_return()
        self.index()

    def alignment_display(self) -> None:
        """DECALN (``ESC # 8``): every cell an E in the current attributes, the cursor home."""
        cell = _printed(self.cursor.attrs, "E")
        for y in range(self.lines):
            for x in range(self.columns):
                self.buffer[y][x] = cell
        self.wrapped.clear()
        self.cursor_position()
        self.dirty.update(range(self.lines))

    def keypad_application(self) -> None:
        """DECKPAM (``ESC =``): xterm.js keeps it as mode 66."""
        self.set_mode(66, private=True)

    def keypad_numeric(self) -> None:
        """DECKPNM (``ESC >``)."""
        self.reset_mode(66, private=True)

    def draw(self, data: str) -> None:
        """Print ``data`` as xterm.js's ``InputHandler.print`` does."""
        table = _TRANSLATE.get(self.printing)
        if table is not None:
            data = data.translate(table)
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

    def sgr(self, params: list[int], subs: list[list[int]]) -> None:
        """SGR, as xterm.js's ``charAttributes`` reads it: ``subs[i]`` are the colon-separated
        sub-parameters of ``params[i]`` (-1 when empty)."""
        change: dict[str, object] = {}
        i = 0
        while i < len(params):
            p = params[i]
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
                advance, mode, color = _extract_color(params, subs, i)
                i += advance
                if p != 58 and mode in (2, 5):  # 58 is the underline colour, not kept
                    change["fg" if p == 38 else "bg"] = color
            i += 1
        self.cursor.attrs = self.cursor.attrs._replace(**change)

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
        self.saved_cursor[self.alternate] = (copy.copy(self.cursor), self.printing)

    def restore_cursor(self) -> None:
        saved = self.saved_cursor[self.alternate]
        if saved is None:
            self.cursor.x, self.cursor.y, self.cursor.attrs = 0, 0, self.default_char
            self.printing = "B"
            return
        cursor, self.printing = saved
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
        if 2 in modes:  # DECANM: xterm.js designates US ASCII everywhere
            for g in range(4):
                self.designate(g, "B")
        for group in _ONE_OF:  # xterm.js keeps one mouse protocol and one mouse encoding
            chosen = [m for m in modes if m in group]
            if chosen:
                self.mode.difference_update(m << 5 for m in group if m != chosen[-1])
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
        for group in _ONE_OF:
            if any(m in group for m in modes):
                self.mode.difference_update(m << 5 for m in group)
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


# xterm.js's parser (EscapeSequenceParser: the VT500 state machine of vt100.net, with C1 controls
# and UTF-8 text), ported so that the model consumes what the view consumes: its states, the
# actions of its transition table, and the handlers xterm.js registers that change the screen.
(_GROUND, _ESCAPE, _ESCAPE_INTERMEDIATE, _CSI_ENTRY, _CSI_PARAM, _CSI_INTERMEDIATE, _CSI_IGNORE,
 _SOS_PM_APC_STRING, _OSC_STRING, _DCS_ENTRY, _DCS_PARAM, _DCS_IGNORE, _DCS_INTERMEDIATE,
 _DCS_PASSTHROUGH) = range(14)
(_IGNORE, _ERROR, _PRINT, _EXECUTE, _OSC_START, _OSC_PUT, _OSC_END, _CSI_DISPATCH, _PARAM, _COLLECT,
 _ESC_DISPATCH, _CLEAR, _DCS_HOOK, _DCS_PUT, _DCS_UNHOOK) = range(15)
_NON_ASCII = 0xA0  # every code point from U+00A0 on is one column of the table


def _transitions() -> list[list[tuple[int, int]]]:
    """xterm.js's ``VT500_TRANSITION_TABLE``: ``table[state][code]`` is ``(action, next state)``."""
    table = [[(_ERROR, _GROUND)] * (_NON_ASCII + 1) for _ in range(14)]

    def add(codes: Iterable[int], state: int, action: int, next_state: int) -> None:
        for code in codes:
            table[state][code] = (action, next_state)

    printables = range(0x20, 0x7F)
    executables = [*range(0x00, 0x18), 0x19, *range(0x1C, 0x20)]
    add(printables, _GROUND, _PRINT, _GROUND)
    for state in range(14):
        add([0x18, 0x1A, 0x99, 0x9A, *range(0x80, 0x90), *range(0x91, 0x98)], state, _EXECUTE, _GROUND)
        add([0x9C], state, _IGNORE, _GROUND)
        add([0x1B], state, _CLEAR, _ESCAPE)
        add([0x9D], state, _OSC_START, _OSC_STRING)
        add([0x98, 0x9E, 0x9F], state, _IGNORE, _SOS_PM_APC_STRING)
        add([0x9B], state, _CLEAR, _CSI_ENTRY)
        add([0x90], state, _CLEAR, _DCS_ENTRY)
    for state in (_GROUND, _ESCAPE, _CSI_ENTRY, _CSI_PARAM, _CSI_IGNORE, _CSI_INTERMEDIATE, _ESCAPE_INTERMEDIATE):
        add(executables, state, _EXECUTE, state)
    for state in (_ESCAPE, _CSI_ENTRY, _CSI_PARAM, _CSI_INTERMEDIATE, _ESCAPE_INTERMEDIATE, _CSI_IGNORE,
                  _SOS_PM_APC_STRING, _DCS_ENTRY, _DCS_PARAM, _DCS_INTERMEDIATE, _DCS_PASSTHROUGH):
        add([0x7F], state, _IGNORE, state)
    add(executables, _OSC_STRING, _IGNORE, _OSC_STRING)
    add([0x5D], _ESCAPE, _OSC_START, _OSC_STRING)
    add([*printables, 0x7F], _OSC_STRING, _OSC_PUT, _OSC_STRING)
    add([0x9C, 0x1B, 0x18, 0x1A, 0x07], _OSC_STRING, _OSC_END, _GROUND)
    add(range(0x1C, 0x20), _OSC_STRING, _IGNORE, _OSC_STRING)
    add([0x58, 0x5E, 0x5F], _ESCAPE, _IGNORE, _SOS_PM_APC_STRING)
    add([*printables, *executables], _SOS_PM_APC_STRING, _IGNORE, _SOS_PM_APC_STRING)
    add([0x9C], _SOS_PM_APC_STRING, _IGNORE, _GROUND)
    add([0x5B], _ESCAPE, _CLEAR, _CSI_ENTRY)
    add(range(0x40, 0x7F), _CSI_ENTRY, _CSI_DISPATCH, _GROUND)
    add(range(0x30, 0x3C), _CSI_ENTRY, _PARAM, _CSI_PARAM)
    add(range(0x3C, 0x40), _CSI_ENTRY, _COLLECT, _CSI_PARAM)
    add(range(0x30, 0x3C), _CSI_PARAM, _PARAM, _CSI_PARAM)
    add(range(0x40, 0x7F), _CSI_PARAM, _CSI_DISPATCH, _GROUND)
    add(range(0x3C, 0x40), _CSI_PARAM, _IGNORE, _CSI_IGNORE)
    add(range(0x20, 0x40), _CSI_IGNORE, _IGNORE, _CSI_IGNORE)
    add(range(0x40, 0x7F), _CSI_IGNORE, _IGNORE, _GROUND)
    add(range(0x20, 0x30), _CSI_ENTRY, _COLLECT, _CSI_INTERMEDIATE)
    add(range(0x20, 0x30), _CSI_INTERMEDIATE, _COLLECT, _CSI_INTERMEDIATE)
    add(range(0x30, 0x40), _CSI_INTERMEDIATE, _IGNORE, _CSI_IGNORE)
    add(range(0x40, 0x7F), _CSI_INTERMEDIATE, _CSI_DISPATCH, _GROUND)
    add(range(0x20, 0x30), _CSI_PARAM, _COLLECT, _CSI_INTERMEDIATE)
    add(range(0x20, 0x30), _ESCAPE, _COLLECT, _ESCAPE_INTERMEDIATE)
    add(range(0x20, 0x30), _ESCAPE_INTERMEDIATE, _COLLECT, _ESCAPE_INTERMEDIATE)
    add(range(0x30, 0x7F), _ESCAPE_INTERMEDIATE, _ESC_DISPATCH, _GROUND)
    add([*range(0x30, 0x50), *range(0x51, 0x58), 0x59, 0x5A, 0x5C, *range(0x60, 0x7F)], _ESCAPE, _ESC_DISPATCH, _GROUND)
    add([0x50], _ESCAPE, _CLEAR, _DCS_ENTRY)
    for state in (_DCS_ENTRY, _DCS_PARAM, _DCS_INTERMEDIATE, _DCS_IGNORE):
        add(executables, state, _IGNORE, state)
    add(range(0x20, 0x30), _DCS_ENTRY, _COLLECT, _DCS_INTERMEDIATE)
    add(range(0x30, 0x3C), _DCS_ENTRY, _PARAM, _DCS_PARAM)
    add(range(0x3C, 0x40), _DCS_ENTRY, _COLLECT, _DCS_PARAM)
    add(range(0x20, 0x80), _DCS_IGNORE, _IGNORE, _DCS_IGNORE)
    add(range(0x30, 0x3C), _DCS_PARAM, _PARAM, _DCS_PARAM)
    add(range(0x3C, 0x40), _DCS_PARAM, _IGNORE, _DCS_IGNORE)
    add(range(0x20, 0x30), _DCS_PARAM, _COLLECT, _DCS_INTERMEDIATE)
    add(range(0x20, 0x30), _DCS_INTERMEDIATE, _COLLECT, _DCS_INTERMEDIATE)
    add(range(0x30, 0x40), _DCS_INTERMEDIATE, _IGNORE, _DCS_IGNORE)
    for state in (_DCS_INTERMEDIATE, _DCS_PARAM, _DCS_ENTRY):
        add(range(0x40, 0x7F), state, _DCS_HOOK, _DCS_PASSTHROUGH)
    add([*executables, *printables], _DCS_PASSTHROUGH, _DCS_PUT, _DCS_PASSTHROUGH)
    add([0x1B, 0x9C, 0x18, 0x1A], _DCS_PASSTHROUGH, _DCS_UNHOOK, _GROUND)
    add([_NON_ASCII], _GROUND, _PRINT, _GROUND)
    add([_NON_ASCII], _OSC_STRING, _OSC_PUT, _OSC_STRING)
    add([_NON_ASCII], _CSI_IGNORE, _IGNORE, _CSI_IGNORE)
    add([_NON_ASCII], _DCS_IGNORE, _IGNORE, _DCS_IGNORE)
    add([_NON_ASCII], _DCS_PASSTHROUGH, _DCS_PUT, _DCS_PASSTHROUGH)
    return table


_TABLE = _transitions()
# What each state reads in one go (xterm.js's read-ahead loops): text to print, an OSC's
# payload, and the strings whose content changes nothing here (DCS, SOS, PM, APC).
_RUNS = {
    _GROUND: re.compile("[^\x00-\x1f\x7f-\x9f]+"),
    _OSC_STRING: re.compile("[^\x00-\x1f\x80-\x9f]+"),
    _DCS_PASSTHROUGH: re.compile("[^\x18\x1a\x1b\x80-\x9f]+"),
    _SOS_PM_APC_STRING: re.compile("[\x00-\x17\x19\x1c-\x7f]+"),
    _CSI_PARAM: re.compile("[0-9:;]+"),
    _DCS_PARAM: re.compile("[0-9:;]+"),
}
_PARAM_MAX = 0x7FFFFFFF  # xterm.js's Params: values are capped, at most 32 parameters
_PARAMS_MAX = 32
#: OSC payloads longer than this are dropped, as xterm.js does.
OSC_MAX = 10_000_000

# Handlers, by intermediates (a prefix included) and final character: what xterm.js registers
# that changes the screen (pyte's methods); a query changes nothing here (``queries`` answers it).
_CSI: dict[str, tuple[str, dict]] = {
    **{final: (name, {}) for final, name in pyte.Stream.csi.items() if final not in "cnm"},
    "?h": ("set_mode", {"private": True}),
    "?l": ("reset_mode", {"private": True}),
    "?J": ("erase_in_display", {"private": True}),
    "?K": ("erase_in_line", {"private": True}),
}
_ESC: dict[str, tuple] = {
    "7": ("save_cursor",), "8": ("restore_cursor",), "D": ("index",), "E": ("next_line",), "H": ("set_tab_stop",),
    "M": ("reverse_index",), "c": ("reset",), "=": ("keypad_application",), ">": ("keypad_numeric",),
    "#8": ("alignment_display",), "%@": ("select_default_charset",), "%G": ("select_default_charset",),
    "n": ("shift", 2), "o": ("shift", 3), "|": ("shift", 3), "}": ("shift", 2), "~": ("shift", 1),
    **{g + final: ("designate", level, final) for g, level in zip("()*+-.", (0, 1, 2, 3, 1, 2)) for final in [*CHARSETS, "B"]},
}
_CONTROLS: dict[int, tuple] = {
    0x07: ("bell",), 0x08: ("backspace",), 0x09: ("tab",), 0x0A: ("linefeed",), 0x0B: ("linefeed",),
    0x0C: ("linefeed",), 0x0D: ("carriage_return",), 0x0E: ("shift", 1), 0x0F: ("shift", 0), 0x84: ("index",),
    0x85: ("next_line",), 0x88: ("set_tab_stop",),
}


@functools.lru_cache(maxsize=64)
def _arity(function: Callable) -> int | None:
    """How many parameters a handler reads (None: all); xterm.js ignores the others."""
    kinds = [p.kind for p in inspect.signature(function).parameters.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    return sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds) - 1  # self


class Stream:
    """Feeds a ``Screen`` as xterm.js's parser feeds its buffer: DCS, SOS, PM and APC strings and
    unknown or malformed sequences are consumed whole, never printed; C1 controls act; OSC 0/1/2
    set the title and icon name, OSC 133 the shell's marks. A handler that fails (pyte raises on
    some parameters) drops its one sequence, as a terminal does."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self._state = _GROUND
        self._collect = ""
        self._params: list[int] = [0]
        self._subs: list[list[int]] = [[]]
        self._digit_is_sub = self._rejected = self._rejected_sub = False
        self._sub_count = 0
        self._osc: list[str] = []
        self._osc_size = 0

    def feed(self, data: str) -> None:
        screen, table, runs = self.screen, _TABLE, _RUNS
        i, n = 0, len(data)
        while i < n:
            state = self._state
            run = runs.get(state)
            if run is not None:
                m = run.match(data, i)
                if m is not None:
                    if state == _GROUND:
                        screen.draw(m.group())
                    elif state == _OSC_STRING:
                        self._osc_put(m.group())
                    elif state in (_CSI_PARAM, _DCS_PARAM):
                        self._param(m.group())
                    i = m.end()
                    continue
            code = ord(data[i])
            action, next_state = table[state][code if code < _NON_ASCII else _NON_ASCII]
            if action == _EXECUTE:
                self._call(*_CONTROLS.get(code, (None,)))
                screen.preceding = 0
            elif action == _PARAM:
                self._param(data[i])
            elif action == _COLLECT:
                self._collect += data[i]
            elif action == _CLEAR:
                self._clear()
            elif action == _CSI_DISPATCH:
                self._csi(self._collect + data[i])
                screen.preceding = 0
            elif action == _ESC_DISPATCH:
                self._call(*_ESC.get(self._collect + data[i], (None,)))
                screen.preceding = 0
            elif action == _OSC_START:
                self._osc, self._osc_size = [], 0
            elif action == _OSC_END:
                if code not in (0x18, 0x1A):
                    self._osc_end()
                self._clear()
                screen.preceding = 0
            elif action == _DCS_UNHOOK:
                self._clear()
                screen.preceding = 0
            if action in (_OSC_END, _DCS_UNHOOK) and code == 0x1B:
                next_state = _ESCAPE
            self._state = next_state
            i += 1

    def _clear(self) -> None:
        self._collect = ""
        self._params, self._subs = [0], [[]]
        self._digit_is_sub = self._rejected = self._rejected_sub = False
        self._sub_count = 0

    def _param(self, chars: str) -> None:
        """xterm.js's ``Params``: ``;`` starts a parameter, ``:`` a sub-parameter (-1 when empty)."""
        params, subs = self._params, self._subs
        for ch in chars:
            if ch == ";":
                self._digit_is_sub = False
                if len(params) >= _PARAMS_MAX:
                    self._rejected = True
                else:
                    params.append(0)
                    subs.append([])
            elif ch == ":":
                self._digit_is_sub = True
                if self._rejected or self._sub_count >= _PARAMS_MAX:
                    self._rejected_sub = True
                else:
                    subs[-1].append(-1)
                    self._sub_count += 1
            elif not (self._rejected or self._digit_is_sub and self._rejected_sub):
                store = subs[-1] if self._digit_is_sub else params
                if store:
                    last = store[-1]
                    store[-1] = min(last * 10 + ord(ch) - 48, _PARAM_MAX) if last != -1 else ord(ch) - 48

    def _csi(self, ident: str) -> None:
        if ident == "m":
            self._call("sgr", self._params, self._subs)
            return
        handler = _CSI.get(ident)
        if handler is not None:
            name, kwargs = handler
            arity = _arity(getattr(type(self.screen), name))
            self._call(name, *self._params[:arity], **kwargs)

    def _call(self, name: str | None, *args: object, **kwargs: object) -> None:
        if name is None:
            return
        try:
            getattr(self.screen, name)(*args, **kwargs)
        except Exception:  # any program may print any parameters: drop the one sequence
            pass

    def _osc_put(self, text: str) -> None:
        if self._osc_size <= OSC_MAX:
            self._osc.append(text)
            self._osc_size += len(text)

    def _osc_end(self) -> None:
        """xterm.js's ``OscParser``: a number, then ``;`` and the payload (none: empty)."""
        data = "".join(self._osc)
        self._osc, self._osc_size = [], 0
        ident, _, payload = data.partition(";")
        if not ident.isdigit() or not ident.isascii() or len(data) > OSC_MAX:
            return
        code = int(ident)
        if code in (0, 1):
            self._call("set_icon_name", payload)
        if code in (0, 2):
            self._call("set_title", payload)
        if code == 133:
            self._call("mark", payload[:1])
