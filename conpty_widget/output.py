"""What a session keeps of its output: the recent stream, and what ``expect()`` has not consumed.

Neither class locks: the session calls them with its lock held.
"""

from __future__ import annotations

import codecs
import collections
import re

Resize = tuple[int, int, int]  # (stream offset, rows, cols)


class OutputLog:
    """The most recent output, at least ``keep`` bytes of it (whole reads), with the size changes
    in it, addressed by stream offset: what the screen model replays."""

    def __init__(self, rows: int, cols: int, keep: int) -> None:
        self.keep = keep
        self.end = 0  # stream offset after the last byte appended
        self._parts: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._resizes: collections.deque[Resize] = collections.deque([(0, rows, cols)], maxlen=256)

    def append(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        self.end += len(data)
        while self._size - len(self._parts[0]) >= self.keep:
            self._size -= len(self._parts.popleft())

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's size changed here (at ``end``)."""
        self._resizes.append((self.end, rows, cols))

    def since(self, offset: int) -> tuple[int, bytes, list[Resize]]:
        """Output from ``offset`` on, as far as kept: ``(start, data, resizes)``; ``start`` is past
        ``offset`` when older output was dropped, ``resizes`` the size changes from ``start`` on
        (and the size in force at ``start``)."""
        offset = min(offset, self.end)
        start, parts = self.end, []
        for part in reversed(self._parts):
            if start <= offset:
                break
            start -= len(part)
            parts.append(part)
        data = b"".join(reversed(parts))
        if start < offset:
            data, start = data[offset - start :], offset
        before = [r for r in self._resizes if r[0] < start]
        return start, data, before[-1:] + [r for r in self._resizes if r[0] >= start]


class ExpectBuffer:
    """Output not yet consumed by ``expect()``: at most ``limit`` characters, decoded as UTF-8
    only when searched (decoding every read of a flood cost more than the flood)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._undecoded = bytearray()
        self._text = ""

    def feed(self, data: bytes) -> None:
        self._undecoded += data
        if len(self._undecoded) > 2 * self.limit:
            del self._undecoded[: -self.limit]
            self._decoder.reset()

    @property
    def undecoded(self) -> int:
        """Bytes fed since the last search."""
        return len(self._undecoded)

    def search(self, regex: re.Pattern[str], final: bool = False) -> re.Match[str] | None:
        """The first match in the unconsumed text, consumed through its end; ``final``: the
        output has ended (an incomplete character at the end is decoded as a replacement)."""
        if self._undecoded or final:
            self._text += self._decoder.decode(bytes(self._undecoded), final=final)
            self._undecoded.clear()
            if len(self._text) > self.limit:
                self._text = self._text[-self.limit :]
        match = regex.search(self._text)
        if match is not None:
            self._text = self._text[match.end() :]
        return match

    def tail(self, chars: int = 300) -> str:
        """The end of the unconsumed text, for error messages."""
        return self._text[-chars:]
