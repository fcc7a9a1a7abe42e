"""Terminal queries (a program asking its terminal), found in output read in pieces, and the
answers xterm.js gives: the session answers them when no view does."""

from __future__ import annotations

import re
from collections.abc import Callable

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
