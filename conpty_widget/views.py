"""The views of a terminal: everything about them is here, held by the session's ``ViewTable``.

The table owns each view's id, transport, last word and size, guarded by its own lock; it never
calls out, so it may be used under the session's lock. With it: its ``RollCall`` (which views
still answer) and its ``InputOrder`` (each view's keys written in the order typed), which do
call out, and are called without the session's lock.

A *transport* carries protocol messages to views: the widget's comm (``CommTransport``: one send
reaches every view on it) or a direct connection (one view each, ``conpty_widget.direct``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

MAX_VIEWS = 32  # views attached at once
ROLL_CALL_TIMEOUT = 5.0  # seconds views have to answer a roll call


class Transport(Protocol):
    """Carries kernel -> view messages; ``name`` says which path it is ("comm", "direct")."""

    name: str

    def send(self, msg: dict, payload: bytes) -> None: ...


class CommTransport:
    """The widget's comm: ``send`` reaches every view on it at once."""

    name = "comm"

    def __init__(self, send: Callable[[dict, bytes], None]) -> None:
        self.send = send


@dataclass
class View:
    transport: Transport
    heard: float  # time.monotonic() of its last message
    size: tuple[int, int] | None = None  # rows, cols that fit its box, as it last said
    answered: bool = True  # spoke since the last roll call


class ViewTable:
    """Views attached to one terminal, and those that left.

    A view that said ``bye`` is gone for good; a view *dropped* for silence (or whose connection
    broke) may come back, and is attached again with a fresh screen when it speaks.
    """

    def __init__(self, write: Callable[[bytes], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._views: dict[str, View] = {}
        self._dropped: collections.deque[str] = collections.deque(maxlen=64)
        self.input = InputOrder(write)  # the views' keys, to ``write``
        self.roll_call = RollCall(self)

    def __len__(self) -> int:
        return len(self._views)

    def add(self, view: str, transport: Transport) -> bool:
        """Attach ``view`` (again) on ``transport``; False when ``MAX_VIEWS`` others are attached."""
        with self._lock:
            known = self._views.get(view)
            if known is None and len(self._views) >= MAX_VIEWS:
                return False
            self._views[view] = View(transport, self._clock(), known.size if known else None)
            if view in self._dropped:
                self._dropped.remove(view)
            return True

    def remove(self, view: str) -> View | None:
        """Detach ``view`` (it said ``bye``): a late message of it attaches nothing."""
        with self._lock:
            if view in self._dropped:
                self._dropped.remove(view)
            return self._views.pop(view, None)

    def _drop(self, views: list[str]) -> list[str]:
        for view in views:
            del self._views[view]
            if view not in self._dropped:
                self._dropped.append(view)
        return views

    def remove_transport(self, transport: Transport) -> list[str]:
        """Detach the views on a transport that is gone (a closed connection): they may come back."""
        with self._lock:
            return self._drop([v for v, entry in self._views.items() if entry.transport is transport])

    def drop_all(self) -> list[str]:
        """Detach every view (silent too long); each may come back."""
        with self._lock:
            return self._drop(list(self._views))

    def heard(self, view: str) -> bool:
        """``view`` spoke; False if it is not attached."""
        with self._lock:
            entry = self._views.get(view)
            if entry is None:
                return False
            entry.heard, entry.answered = self._clock(), True
            return True

    def dropped(self, view: str) -> bool:
        """``view`` was dropped and has not come back."""
        with self._lock:
            return view in self._dropped

    def silent_for(self) -> float:
        """Seconds since the most recent message of any view (0 with no view)."""
        with self._lock:
            if not self._views:
                return 0.0
            return self._clock() - max(v.heard for v in self._views.values())

    def transport(self, view: str) -> Transport | None:
        with self._lock:
            entry = self._views.get(view)
            return entry.transport if entry else None

    def transports(self) -> list[Transport]:
        """Each transport with a view on it, once."""
        with self._lock:
            seen: dict[int, Transport] = {}
            for entry in self._views.values():
                seen.setdefault(id(entry.transport), entry.transport)
            return list(seen.values())

    def paths(self) -> dict[str, str]:
        """View id -> the name of its transport."""
        with self._lock:
            return {v: entry.transport.name for v, entry in self._views.items()}

    # -- sizes -----------------------------------------------------------------------------

    def set_size(self, view: str, rows: int, cols: int) -> bool:
        with self._lock:
            entry = self._views.get(view)
            if entry is None:
                return False
            entry.size = (rows, cols)
            return True

    def fitting_size(self) -> tuple[int, int] | None:
        """The smallest rows and columns any view asked for (every view shows all of it)."""
        with self._lock:
            sizes = [v.size for v in self._views.values() if v.size is not None]
        if not sizes:
            return None
        return min(r for r, _ in sizes), min(c for _, c in sizes)

    def start_roll_call(self) -> bool:
        """Every view must speak again for its size to keep counting; False if none has a size."""
        with self._lock:
            for entry in self._views.values():
                entry.answered = False
            return any(v.size is not None for v in self._views.values())

    def end_roll_call(self) -> list[str]:
        """Views silent since the roll call: their sizes stop counting until they speak again."""
        with self._lock:
            silent = [v for v, entry in self._views.items() if not entry.answered and entry.size is not None]
            for view in silent:
                self._views[view].size = None
            return silent


class RollCall:
    """When a view appears, every view is asked for its size again (a ``roll_call`` message), so
    that one that went away without ``bye`` (a crashed or killed page) stops holding the terminal
    small: the sizes of views silent for ``ROLL_CALL_TIMEOUT`` stop counting until they speak."""

    def __init__(self, table: ViewTable) -> None:
        self._table = table
        self._lock = threading.Lock()  # the timer: several threads
        self._timer: threading.Timer | None = None

    def call(self, on_silent: Callable[[], None]) -> None:
        """Start a roll call (a newer one replaces it); ``on_silent``: some views did not answer."""
        with self._lock:
            if not self._table.start_roll_call():
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(ROLL_CALL_TIMEOUT, self._end, (on_silent,))
            self._timer.daemon = True
            self._timer.start()
        for transport in self._table.transports():
            transport.send({"type": "roll_call"}, b"")

    def _end(self, on_silent: Callable[[], None]) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # a newer roll call is under way
            self._timer = None
        silent = self._table.end_roll_call()
        if silent:
            log.info("conpty_widget: views %s did not answer the roll call; their sizes no longer count", silent)
            on_silent()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class InputOrder:
    """Puts each view's numbered input back in order (``input`` messages carry ``n``: 1, 2, ...).

    A host may deliver a view's messages out of order: ipykernel handles comm messages on more
    than one thread (main shell and subshells), marimo sends each as its own HTTP request. Input
    that arrives early waits for the input before it, at most ``HOLD`` seconds (a message the
    host lost must not hold the keyboard forever); then what waits is written in order.
    """

    HOLD = 0.5  # seconds
    VIEWS = 64  # views remembered (each page render is a new view)

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._lock = threading.Lock()  # also orders the writes themselves
        self._next: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._held: dict[str, dict[int, bytes]] = {}
        self._timer: threading.Timer | None = None

    def put(self, view: str, n: int | None, data: bytes) -> None:
        """Write ``data`` (input number ``n`` of ``view``; None: unnumbered) once its turn comes."""
        with self._lock:
            if n is None:
                self._write(data)
                return
            expected = self._next.setdefault(view, 1)
            self._next.move_to_end(view)
            while len(self._next) > self.VIEWS:
                self._held.pop(self._next.popitem(last=False)[0], None)
            if n > expected:
                self._held.setdefault(view, {})[n] = data
                if self._timer is None:
                    self._timer = threading.Timer(self.HOLD, self._give_up)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._write(data)  # its turn, or late after a gap was given up on: never lost
            if n == expected:
                self._release(view, n + 1)

    def _release(self, view: str, expected: int) -> None:
        held = self._held.get(view, {})
        while expected in held:
            self._write(held.pop(expected))
            expected += 1
        self._next[view] = expected
        if not held:
            self._held.pop(view, None)

    def _give_up(self) -> None:
        """The input before what waits never came: write what waits, in order."""
        with self._lock:
            self._timer = None
            for view, held in list(self._held.items()):
                self._release(view, min(held))
