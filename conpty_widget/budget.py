"""An output budget: text kept within a number of characters, its head and its tail, with a
marker in between saying how much was cut (as codex's unified exec keeps a command's output).

A ``Budget`` is fed text as it comes and keeps at most about twice its limit, however much
comes; ``text()`` renders it within the limit, or within any smaller one. Not thread-safe: its
owner locks.
"""

from __future__ import annotations

import collections

#: The marker between the head and the tail; ``{}`` is the number of characters cut.
MARKER = "\n[... {} characters cut ...]\n"
#: The smallest limit: the marker for any count of up to 15 digits fits in it.
MIN_LIMIT = len(MARKER.format(10**15 - 1))


def check_limit(limit: int, name: str = "max_output") -> int:
    """``limit`` if it is an int a marker fits in, else ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"{name} must be an int (characters), not {type(limit).__name__}")
    if limit < MIN_LIMIT:
        raise ValueError(
            f"{name}={limit} is smaller than the marker that replaces what is cut ({MIN_LIMIT} characters "
            f"for {MARKER.strip()!r}): give at least {MIN_LIMIT}"
        )
    return limit


class Budget:
    """The first and the last ``limit`` characters of all text added, and how many there were."""

    def __init__(self, limit: int) -> None:
        self.limit = check_limit(limit)
        self.size = 0  # characters added in all
        self._head: list[str] = []  # the first (up to) limit characters
        self._head_size = 0
        self._tail: collections.deque[str] = collections.deque()  # the last (at least limit) past the head
        self._tail_size = 0

    def add(self, text: str) -> None:
        self.size += len(text)
        room = self.limit - self._head_size
        if room > 0 and text:
            self._head.append(text[:room])
            self._head_size += len(self._head[-1])
            text = text[room:]
        if text:
            text = text[-self.limit :]  # of a long text, its end is all the tail can keep
            self._tail.append(text)
            self._tail_size += len(text)
            while self._tail_size - len(self._tail[0]) >= self.limit:
                self._tail_size -= len(self._tail.popleft())

    @property
    def cut(self) -> bool:
        """Whether ``text()`` leaves something out."""
        return self.size > self.limit

    def text(self, limit: int | None = None) -> str:
        """All the text if it fits in ``limit`` (default: the budget's), else its head and its
        tail with the marker between them, all within ``limit`` characters."""
        limit = self.limit if limit is None else min(check_limit(limit, "limit"), self.limit)
        head, tail = "".join(self._head), "".join(self._tail)
        if self.size <= limit:
            return head + tail
        keep = limit - len(MARKER.format(self.size))  # the count in the marker is below the size
        first, last = keep - keep // 2, keep // 2
        # Nothing dropped between head and tail: the last characters may reach into the head.
        end = tail if self.size > self._head_size + self._tail_size else head + tail
        return head[:first] + MARKER.format(self.size - first - last) + (end[-last:] if last else "")


def truncate(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: its head and tail with the marker, when it is longer."""
    budget = Budget(limit)
    budget.add(text)
    return budget.text()
