"""The kernel-side screen model: what the terminal shows, from a terminal emulator (pyte).

pyte parses about 1 MB/s, far below what the output path must carry, so the model is never
fed on the hot path. It is brought up to date *on demand* (``screen_text()``, a new view, a
headless cursor-position query, a saved snapshot) from the output the session keeps anyway
for repainting (``Session.output_since``). Catching up costs at most ``REPARSE_MAX`` bytes of
parsing: a model that fell further behind starts over from that much recent output, at a
line boundary, and may then miss a mode set earlier (e.g. the alternate screen).

One concern a module: ``emulator`` (pyte's screen made to do what xterm.js does, plus the
alternate screen and a bounded scrollback, fed by a port of xterm.js's parser), ``cells`` (cells, lines and character
widths), ``render`` (as ANSI, to repaint a view, or HTML, the saved notebook's fallback),
``model`` (``ScreenModel``, kept up to date on demand) and ``queries`` (what a program asks its
terminal, and xterm.js's answers).
"""

from .emulator import SCROLLBACK
from .model import REPARSE_MAX, ScreenModel
from .queries import QUERY, QueryScanner, answer
from .render import SNAPSHOT_MAX

__all__ = ["QUERY", "REPARSE_MAX", "SCROLLBACK", "SNAPSHOT_MAX", "QueryScanner", "ScreenModel", "answer"]
