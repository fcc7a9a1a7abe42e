"""Waiting for a state: the one way the tests wait (never for a fixed time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float = 30, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail after ``timeout``
    seconds (a hang guard, not a measure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
