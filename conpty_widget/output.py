"""What a session keeps of its output: the recent stream, what ``expect()`` has not consumed,
and what is on its way to the views (flow control).

No class here locks: the session calls them with its lock held.
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


class FlowControl:
    """The output between the pty and the views: read and not yet sent (``pending``), cut into
    numbered chunks addressed by stream offset, sent and not yet acknowledged; and whether the
    output floods (then it is batched). ``viewed``: a view is attached (with none, nothing waits
    for acknowledgements). No lock: the session calls it with its lock held.

    At most ``window`` bytes are sent and not yet acknowledged by the most advanced view, at most
    ``readahead`` read and not yet sent (then the session stops reading: the child blocks, as in a
    real terminal); a chunk is at most ``chunk_max`` bytes, and one of ``flood_bytes`` or more
    means a flood.
    """

    def __init__(self, window: int, readahead: int, chunk_max: int, flood_bytes: int, direct_max: int) -> None:
        self.window, self.readahead, self.chunk_max = window, readahead, chunk_max
        self.flood_bytes, self.direct_max = flood_bytes, direct_max
        self.pending = bytearray()  # read, not yet cut into a chunk
        self.seq = 0  # number of the last chunk cut
        self.offset = 0  # stream offset at the end of the last chunk cut
        self.acked = 0  # highest offset acknowledged by a view
        self.flood = False  # the last chunk was big, or the read-ahead filled since: batch

    def room(self, viewed: bool) -> int:
        """Bytes that may be sent now: the views' window minus what is in flight."""
        return self.window - (self.offset - self.acked) if viewed else self.window

    def full(self, viewed: bool) -> bool:
        """The read-ahead is full: stop reading."""
        return viewed and len(self.pending) >= self.readahead

    def read(self, data: bytes) -> None:
        """Output read from the pty, to send."""
        self.pending += data

    def at_once(self, viewed: bool, read: int) -> bool:
        """The ``read`` bytes just read are all there is, and few (an echo): send them now
        rather than hand them to the sender. A flood is for the sender to batch."""
        size = len(self.pending)
        return viewed and not self.flood and size == read < self.direct_max and self.room(viewed) >= size

    def cut(self, viewed: bool, windowed: bool = True) -> tuple[dict, bytes] | None:
        """The next chunk of pending output and its ``output`` message (if ``windowed``, no more
        than the window has room for); None when there is nothing to cut or no room."""
        size = min(self.chunk_max, self.room(viewed)) if windowed else self.chunk_max
        if not self.pending or size <= 0:
            return None
        chunk = bytes(self.pending[:size])
        del self.pending[:size]
        self.seq += 1
        msg = {"type": "output", "seq": self.seq, "offset": self.offset}
        self.offset += len(chunk)
        self.flood = self.flood or len(chunk) >= self.flood_bytes
        return msg, chunk

    def settle(self, viewed: bool) -> None:
        """After waiting for a batch: the flood is over when little came in all that time."""
        self.flood = len(self.pending) >= self.flood_bytes or self.full(viewed)

    def ack(self, offset: int) -> None:
        """A view has parsed the stream up to ``offset`` (never past what was sent)."""
        self.acked = max(self.acked, min(offset, self.offset))

    def reset(self) -> tuple[int, int]:
        """A view starts at the current screen: ``(seq, offset)`` of its reset message; what
        was sent before it counts as acknowledged."""
        self.acked = max(self.acked, self.offset)
        return self.seq, self.offset
