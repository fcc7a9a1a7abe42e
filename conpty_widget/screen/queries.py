"""Terminal queries (a program asking its terminal), found in output read in pieces, and the
answers xterm.js gives. A view answers the queries it parses; with no view the session answers
them here, so each query is answered once. Colour queries (OSC 4/10/11/12) are a view's only:
their answer is the page's theme, unknown in the kernel (xterm.js headless does not answer them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import ScreenModel

# Inside a sequence, C0 controls act (or are ignored) and DEL is ignored, without ending it.
_C0 = rb"[\x00-\x17\x19\x1c-\x1f\x7f]"
#: The queries xterm.js answers: a CSI (7-bit or C1) with an optional prefix, parameters and
#: a ``$`` (device attributes, status and cursor reports, DECRQM), and DECRQSS (``DCS $ q``
#: and its string, up to ST; CAN, SUB or another C1 control abort it).
QUERY = re.compile(
    rb"(?:\x1b\[|\xc2\x9b)(?P<csi>" + _C0 + rb"*[<=>?]?(?:[0-9:;]|" + _C0 + rb")*(?:\$" + _C0 + rb"*)?)(?P<final>[cnp])"
    rb"|(?:\x1bP|\xc2\x90)(?:[0-9:;]|" + _C0 + rb")*\$" + _C0 + rb"*q"
    rb"(?P<dcs>(?:[^\x18\x1a\x1b\xc2]|\xc2[^\x80-\x9f])*)(?:\x1b|\xc2\x9c)"
)
#: A window title set (OSC 0 or 2), up to its end: with no view, the model reads it when it comes.
TITLE = re.compile(
    rb"(?:\x1b\]|\xc2\x9d)(?:0+|0*2);(?:[^\x07\x18\x1a\x1b\xc2]|\xc2[^\x80-\x9f])*(?:\x07|\x1b|\xc2\x9c)"
)
_SEEN = re.compile(QUERY.pattern + b"|" + TITLE.pattern)
#: Bytes of one read kept for the next scan, so that a query split across reads is found.
QUERY_TAIL = 256
_CONTROLS = re.compile(rb"[\x00-\x1f\x7f]")


class QueryScanner:
    """Finds the terminal queries (``QUERY``) and title changes (``TITLE``) in output read in
    pieces, one split across two reads included, each once."""

    def __init__(self) -> None:
        self._tail = b""  # end of the last piece scanned

    def scan(self, data: bytes, at: int) -> list[tuple[bytes, int]]:
        """The queries in ``data`` (whose first byte is at stream offset ``at``), each with the
        stream offset just after it."""
        scan, tail = self._tail + data, len(self._tail)
        self._tail = scan[-QUERY_TAIL:]
        found, pos = [], 0
        while (m := _SEEN.search(scan, pos)) is not None:
            if m.end() > tail:
                found.append((m.group(), at - tail + m.end()))
            # The ESC that ends a string also starts what follows it.
            pos = m.end() - 1 if m.group().endswith(b"\x1b") else m.end()
        return found

    def skip(self) -> None:
        """Output went by unscanned (a view answered it): a query cannot span it."""
        self._tail = b""


def _params(text: bytes) -> list[int]:
    """A sequence's parameters as xterm.js reads them: empty ones are 0, sub-parameters dropped."""
    return [min(int(p.split(b":")[0] or 0), 0x7FFFFFFF) for p in text.split(b";")]


def answer(query: bytes, screen: Callable[[], ScreenModel]) -> bytes:
    """What xterm.js answers to ``query`` (found by ``QueryScanner``), b"" for nothing; ``screen()``
    is the screen model just after it (a title change is for the model to read: no answer)."""
    m = QUERY.fullmatch(query)
    if m is None:
        screen()
        return b""
    if m.group("dcs") is not None:
        return _status_string(m.group("dcs").replace(b"\x7f", b""), screen)
    body = _CONTROLS.sub(b"", m.group("csi"))
    prefix = body[:1] if body[:1] in (b"<", b"=", b">", b"?") else b""
    dollar = body.endswith(b"$")
    params = _params(body[len(prefix) : len(body) - dollar])
    final = m.group("final")
    ident = prefix + (b"$" if dollar else b"") + final
    if ident == b"c" and params[0] == 0:
        return b"\x1b[?1;2c"
    if ident == b">c" and params[0] == 0:
        return b"\x1b[>0;276;0c"
    if ident in (b"n", b"?n"):
        if params[0] == 5 and ident == b"n":
            return b"\x1b[0n"
        if params[0] == 6:
            row, col = screen().cursor
            return b"\x1b[%s%d;%dR" % (prefix, row + 1, col + 1)
        return b""
    if ident in (b"$p", b"?$p"):
        value = _mode_report(params[0], bool(prefix), screen())
        return b"\x1b[%s%d;%d$y" % (prefix, params[0], value)
    return b""


def _status_string(setting: bytes, screen: Callable[[], ScreenModel]) -> bytes:
    """DECRQSS, as xterm.js answers it (the SGR report is always ``0m`` there)."""
    if setting == b'"q':
        return b'\x1bP1$r0"q\x1b\\'
    if setting == b'"p':
        return b'\x1bP1$r61;1"p\x1b\\'
    if setting == b"r":
        top, bottom = screen().margins()
        return b"\x1bP1$r%d;%dr\x1b\\" % (top + 1, bottom + 1)
    if setting == b"m":
        return b"\x1bP1$r0m\x1b\\"
    if setting == b" q":
        blink = screen().mode(12, private=True)  # the view's cursor is a block, not blinking unless asked
        return b"\x1bP1$r%d q\x1b\\" % (2 - blink)
    return b"\x1bP0$r\x1b\\"


# DECRQM's values: 1 set, 2 reset, 3 permanently set, 4 permanently reset, 0 not recognised.
_ANSI_FIXED = {2: 4, 12: 3}
_PRIVATE_FIXED = {3: 0, 8: 3, 67: 4, 1005: 4, 1015: 4, 1048: 1}
_PRIVATE_KEPT = (1, 6, 7, 9, 12, 25, 45, 66, 1000, 1002, 1003, 1004, 1006, 1016, 2004, 2026)


def _mode_report(mode: int, private: bool, screen: ScreenModel) -> int:
    """DECRQM (``CSI ? Ps $ p``, ``CSI Ps $ p``) as xterm.js's ``requestMode`` answers it."""
    if not private:
        if mode in _ANSI_FIXED:
            return _ANSI_FIXED[mode]
        return 2 - screen.mode(mode, private=False) if mode in (4, 20) else 0
    if mode in _PRIVATE_FIXED:
        return _PRIVATE_FIXED[mode]
    if mode in (47, 1047, 1049):
        return 2 - screen.alternate
    return 2 - screen.mode(mode, private=True) if mode in _PRIVATE_KEPT else 0
