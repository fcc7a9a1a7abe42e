"""Hooks of the hosts that show terminals outside Jupyter's notebook front ends.

A notebook kernel ends a terminal with ``close()``, when the page closes the widget's comm, or
when the kernel exits. Some hosts end what they showed without any of that: marimo re-runs or
deletes a cell (the comm stays open) and a Panel/Bokeh server destroys a browser session. Where
such a host says so, the terminal ends with it. Each hook is looked up only if the host is
already imported, and is skipped when it is absent or its API differs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


def end_with_host(end: Callable[[], None]) -> None:
    """Call ``end`` when the host session (or marimo cell) that creates this terminal ends."""
    for hook in (_marimo_cell, _bokeh_session):
        try:
            hook(end)
        except Exception as exc:  # a host version whose API differs: no hook, no harm
            log.debug("conpty_widget: no %s hook: %s", hook.__name__, exc)


def _marimo_cell(end: Callable[[], None]) -> None:
    """marimo: the cell's lifecycle registry disposes its items when the cell re-runs or goes."""
    if "marimo" not in sys.modules:
        return
    from marimo._runtime.cell_lifecycle_item import CellLifecycleItem
    from marimo._runtime.context import get_context

    class EndTerminal(CellLifecycleItem):
        def create(self, context: object) -> None:
            pass

        def dispose(self, context: object, deletion: bool = False) -> bool:
            end()
            return True

    get_context().cell_lifecycle_registry.add(EndTerminal())  # raises outside a marimo cell


def _bokeh_session(end: Callable[[], None]) -> None:
    """Panel (or any Bokeh server app): the document's session is destroyed when its page goes."""
    if "bokeh" not in sys.modules:
        return
    from bokeh.io import curdoc

    doc = curdoc()
    if getattr(doc, "session_context", None) is not None:  # served, not a notebook's own document
        doc.on_session_destroyed(lambda _context: end())
