"""Renderers of a screen: as ANSI text (a new view starts from it) and as HTML (the saved
notebook's fallback, shown without a kernel)."""

from __future__ import annotations

import functools
from html import escape

from pyte import modes as mo

from .cells import BLANK, SGR_FLAGS, Cell, Line, char_width, line_cells
from .emulator import Screen

#: Largest rendered snapshot; scrollback lines are dropped first to fit.
SNAPSHOT_MAX = 256 * 1024

_BLANK_LINE: dict = {}
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


@functools.lru_cache(maxsize=1024)
def _sgr(attrs: tuple) -> str:
    """The SGR sequence for a cell's attributes (a ``Cell`` without its data)."""
    c = Cell(" ", *attrs)
    params = ["0"] + [str(code) for name, code in SGR_FLAGS if getattr(c, name)]
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


def _ansi_line(line: Line, columns: int) -> str:
    """One line as text with SGR attributes, for xterm.js to reproduce it. Blank cells (never
    printed to) are skipped (``CSI C``), or erased again (``CSI X``) if they have a background
    colour; trailing blanks are left out."""
    if getattr(line, "default", BLANK) == BLANK:
        # Past its last cell the line is blank, and trailing blanks are left out: a big, mostly
        # empty screen (hundreds of rows and columns) costs what it holds, not its area.
        columns = min(columns, max(line, default=-2) + 2)
    runs: list[tuple[Cell, int]] = []  # cells, and runs of blanks: (cell, count)
    for c in line_cells(line, columns):
        if not c.written or not c.data:  # a blank (or half a wide character) shows its background only
            c = BLANK._replace(bg=c.bg)
            if runs and runs[-1][1] and runs[-1][0] == c:
                runs[-1] = (c, runs[-1][1] + 1)
            else:
                runs.append((c, 1))
        else:
            runs.append((c, 0))
    if runs and runs[-1][0] == BLANK and runs[-1][1]:
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


def _html_line(line: Line, columns: int) -> str:
    cells = [(c.data or " ", _css(c)) for c in line_cells(line, columns)]
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
    return f'<span style="{style}">{escape(text)}</span>' if style else escape(text)


def ansi(s: Screen, scrollback: bool = True) -> str:
    """The screen (and scrollback) as text for xterm.js to reproduce it: at most ``SNAPSHOT_MAX``."""
    main = s.saved_main[0] if s.saved_main is not None else s.buffer
    screen = [_ansi_line(main.get(y, _BLANK_LINE), s.columns) for y in range(s.lines)]
    history = [_ansi_line(line, s.columns) for line in s.scrollback] if scrollback else []
    alt = [_ansi_line(s.buffer[y], s.columns) for y in range(s.lines)] if s.alternate else []
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
    # Last, after the text (already mapped): the character sets, for what the program prints next.
    parts.extend(f"\x1b{'()*+'[g]}{final}" for g, final in enumerate(s.designated) if final != "B")
    parts.append(("", "\x0e", "\x1bn", "\x1bo")[s.glevel])
    return "".join(parts)[: SNAPSHOT_MAX]


def html(s: Screen) -> str:
    """The visible screen as a ``<pre>``, for notebooks shown without a kernel."""
    rows = [_html_line(s.buffer[y], s.columns) for y in range(s.lines)]
    last = max(s.cursor.y, max((y for y, r in enumerate(rows) if r), default=0))
    body = "\n".join(rows[: last + 1])
    return (
        '<pre class="conpty-widget-screen" style="font-family:var(--jp-code-font-family,monospace);'
        "font-size:13px;line-height:1.2;padding:4px;margin:0;overflow-x:auto;"
        f'border:1px solid var(--jp-border-color1,#ccc)">{body}</pre>'
    )
