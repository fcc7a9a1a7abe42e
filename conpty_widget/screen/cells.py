"""Cells and lines as the screen keeps them, and character widths as xterm.js counts them."""

from __future__ import annotations

import bisect
import functools
from typing import NamedTuple, Union

from .. import _unicode11

#: A colour as xterm.js keeps it: None (the default), ("16", n) from SGR 30-37/90-97 (and the
#: background's), ("256", n) from ``38;5;n``, or ("rgb", 0xRRGGBB) from ``38;2;r;g;b``.
Color = Union[None, tuple[str, int]]
Line = dict  # column -> Cell; pyte's lines default to a blank Cell


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


#: A cell never written to.
BLANK = Cell(" ")
#: The SGR code of each attribute.
SGR_FLAGS = (("bold", 1), ("dim", 2), ("italics", 3), ("underscore", 4), ("blink", 5), ("reverse", 7),
             ("hidden", 8), ("strikethrough", 9), ("overline", 53))


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


def cell_width(line: Line, x: int) -> int:
    """The width of the cell at ``x``: 0 for the second half of a wide character (and for a
    zero-width character that had nothing to join), 2 for a wide character, else 1."""
    c = line.get(x)
    if c is None:
        return 1
    return char_width(ord(c.data[0])) if c.data else 0


def line_cells(line: Line, columns: int) -> list[Cell]:
    """The cells of a line as a terminal shows them: a wide character's second half left out."""
    default = getattr(line, "default", BLANK)
    out = []
    x = 0
    while x < columns:
        c = line.get(x, default)
        out.append(c)
        x += 2 if cell_width(line, x) == 2 else 1
    return out


def line_text(line: Line, columns: int, strip: bool = True) -> str:
    """The line's text as xterm.js gives it: up to the end of the last cell printed to (a
    zero-width character alone in its cell ends nowhere), trailing blanks removed."""
    out, end = [], 0
    for c in line_cells(line, columns):
        out.append(c.data or " ")
        if c.written:
            end = len(out) - (bool(c.data) and not char_width(ord(c.data[0])))
    return "".join(out[:end]).rstrip() if strip else "".join(out)


def text_width(text: str) -> int:
    """The cells ``text`` takes on a row."""
    return sum(char_width(ord(ch)) for ch in text)

