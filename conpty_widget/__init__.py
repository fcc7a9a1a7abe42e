"""A real terminal in a Jupyter notebook: a shell in a pseudo-terminal (POSIX pty or
Windows ConPTY), shown with xterm.js."""

from typing import TYPE_CHECKING

from .recording import Recording, Replay
from .scripting import RunResult
from .widget import Terminal

__all__ = ["Recording", "Replay", "RunResult", "Terminal", "load_ipython_extension"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server companion (``conpty_widget.server_extension``), enabled by the package's
    ``jupyter-config`` file."""
    return [{"module": "conpty_widget.server_extension"}]


def load_ipython_extension(ipython: "InteractiveShell") -> None:
    """``%load_ext conpty_widget``: the ``%terminal`` and ``%%terminal`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)
