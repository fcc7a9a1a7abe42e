"""A real terminal in a Jupyter notebook: a shell in a pseudo-terminal (POSIX pty or
Windows ConPTY), shown with xterm.js."""

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Job", "Recording", "Replay", "RunResult", "Terminal", "agent_tools", "load_ipython_extension"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .agent import agent_tools
    from .jobs import Job
    from .recording import Recording, Replay
    from .scripting import RunResult
    from .widget import Terminal

# Imported on first use: a Jupyter server imports this package to find its extension point,
# and should not pay for anywidget, ipywidgets and pyte (about 1.5 s) to do so.
_LAZY = {
    "Terminal": ".widget",
    "Recording": ".recording",
    "Replay": ".recording",
    "RunResult": ".scripting",
    "Job": ".jobs",
    "agent_tools": ".agent",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server companion (``conpty_widget.server_extension``), enabled by the package's
    ``jupyter-config`` file."""
    return [{"module": "conpty_widget.server_extension"}]


def load_ipython_extension(ipython: "InteractiveShell") -> None:
    """``%load_ext conpty_widget``: the ``%terminal`` and ``%%terminal`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)
