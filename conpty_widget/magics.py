"""``%terminal`` and ``%%terminal``, loaded with ``%load_ext conpty_widget``."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .widget import Terminal


@magics_class
class TerminalMagics(Magics):
    """Open terminals from notebook cells."""

    @line_cell_magic
    def terminal(self, line: str, cell: str | None = None) -> None:
        """%terminal [command]: open a terminal running ``command`` (default: your shell) and show it.

        %%terminal [command]: the same, then type the cell's lines into it, one by one as if
        typed; returns at once, while they run.
        """
        term = Terminal(line.strip() or None)
        display(term)
        if cell is not None:
            for text in cell.splitlines():
                term.write(text + "\r")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the magics: ``%load_ext conpty_widget``."""
    ipython.register_magics(TerminalMagics)
