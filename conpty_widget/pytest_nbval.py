"""A pytest plugin (entry point ``pytest11``): strict ``pytest --nbval`` of notebooks that show terminals.

nbval compares each cell's outputs as the cell first showed them. A notebook stores an output
that showed a terminal as it was when saved: the terminal's last screen, once it has ended
(``conpty_widget.displays``: the kernel updates the output, by its display id, when the terminal
ends, possibly cells later). So a cell that shows a terminal which a later cell closes is stored
as the last screen but first shown live, and nbval's comparison of it could never pass.

This plugin compares such an output when it is final: an output stored as an ended terminal's
last screen (its metadata says so) that the run first shows live is compared once the run has
updated it to that terminal's last screen: after the cell in which the terminal ended, which fails
if it differs, naming the cell that showed it; at the latest after the notebook's last cell. Every
other output is compared by nbval, as it was first shown. The update is read from the kernel's
messages, which nbval reads anyway. Nothing changes without ``--nbval``; ``--nbval-lax`` compares
only cells tagged ``nbval-check-output``, and so does this plugin.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import pytest

from .displays import METADATA_KEY

_LATE_UPDATE = 2.0  # seconds the last cell waits for the updates of terminals ended at its end


def _terminal_state(output: Any) -> bool | None:
    """Whether ``output`` shows an ended terminal (True), a running one (False), or none (None)."""
    mark = (output.get("metadata") or {}).get(METADATA_KEY) if isinstance(output, dict) else None
    return bool(mark.get("ended")) if isinstance(mark, dict) else None


class _Notebook:
    """One notebook under nbval: the terminals' outputs its run showed, their updates, and the
    comparisons waiting for a terminal to end."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.shown: list[str] = []  # display ids of the terminals' outputs shown since the last comparison
        self.updates: dict[str, dict] = {}  # display id -> the content of its last update
        self.pending: list[tuple[Any, str, Any, Any]] = []  # (cell, display id, its output as run, as stored)
        self.compare: dict[Any, Callable[..., bool]] = {}  # cell -> nbval's comparison
        read = file.get_kernel_message

        def get_kernel_message(*args: Any, **kwargs: Any) -> Any:
            msg = read(*args, **kwargs)
            self.observe(msg)
            return msg

        file.get_kernel_message = get_kernel_message

    def observe(self, msg: dict) -> None:
        """Note the terminals' outputs the run shows (by display id: nbval keeps none) and their
        updates, from every message nbval reads (whichever cell it answers)."""
        content = msg.get("content") or {}
        display_id = (content.get("transient") or {}).get("display_id")
        if display_id is None:
            return
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        if kind == "display_data" and _terminal_state(content) is not None:
            self.shown.append(display_id)
        elif kind == "update_display_data":
            self.updates[display_id] = content

    def watch(self, cell: Any) -> None:
        """Take over ``cell``'s comparison: defer the outputs that are final only later."""
        compare = self.compare[cell] = cell.compare_outputs

        def compare_outputs(test: list, ref: list, skip_compare: Any = None) -> bool:
            # The cell's terminal outputs, in the order shown, are those display ids.
            shown, self.shown = self.shown, []
            test_terms = [o for o in test if o.get("output_type") == "display_data" and _terminal_state(o) is not None]
            ref_terms = [o for o in ref if _terminal_state(o) is not None]
            later = [
                (display_id, t, r)
                for display_id, t, r in zip(shown, test_terms, ref_terms)
                if _terminal_state(t) is False and _terminal_state(r)
            ]
            self.pending += [(cell, *entry) for entry in later]
            test = [o for o in test if all(o is not t for _, t, _ in later)]
            ref = [o for o in ref if all(o is not r for _, _, r in later)]
            return compare(test, ref, skip_compare)

        cell.compare_outputs = compare_outputs

    def ended(self, display_id: str) -> bool:
        return _terminal_state(self.updates.get(display_id, {})) is True

    def check(self, current: Any, last: bool) -> None:
        """Compare the deferred outputs whose terminal has ended, as updated (after the last
        cell: all); a difference fails ``current``."""
        if last and not all(self.ended(d) for _, d, _, _ in self.pending):
            self._read_late_updates()
        failures = []
        for entry in list(self.pending):
            cell, display_id, test, ref = entry
            if not self.ended(display_id) and not last:
                continue
            self.pending.remove(entry)
            update = self.updates.get(display_id)
            if update is not None:
                from nbformat import from_dict  # nbval's own dependency

                test = from_dict({**test, "data": update.get("data") or {}, "metadata": update.get("metadata") or {}})
            if not self.compare[cell]([test], [ref]):
                state = "ended" if self.ended(display_id) else "still running at the end of the notebook"
                failures.append(
                    f"The output of cell {cell.cell_num} (its terminal {state}) differs from the stored one:\n"
                    + "\n".join(cell.comparison_traceback)
                )
        if failures:
            current.raise_cell_error("Outputs of terminals differ once ended", "\n\n".join(failures))

    def _read_late_updates(self) -> None:
        """A terminal that ended by itself at the end of the last cell: its update may follow."""
        try:
            while not all(self.ended(d) for _, d, _, _ in self.pending):
                self.file.get_kernel_message(timeout=_LATE_UPDATE)
        except queue.Empty:
            pass


def _nbval_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell" and type(item).__module__.startswith("nbval")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    notebooks: dict[Any, _Notebook] = {}
    for item in items:
        if _nbval_cell(item):
            notebook = notebooks.get(item.parent)
            if notebook is None:
                notebook = notebooks[item.parent] = _Notebook(item.parent)
            notebook.watch(item)
            item.stash[_KEY] = notebook
    last = {item.stash[_KEY]: item for item in items if _nbval_cell(item)}
    for item in items:  # the last cell of each notebook checks what is left
        if _nbval_cell(item):
            item.stash[_LAST] = last[item.stash[_KEY]] is item


_KEY = pytest.StashKey[_Notebook]()
_LAST = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    notebook = item.stash.get(_KEY, None)
    try:
        result = yield  # the cell ran and its own outputs compared (raises if not)
    except pytest.skip.Exception:  # a skipped last cell still ends the notebook
        if notebook is not None and item.stash[_LAST]:
            notebook.check(item, last=True)
        raise
    if notebook is not None:
        notebook.check(item, item.stash[_LAST])
    return result
