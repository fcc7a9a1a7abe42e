"""A real terminal in a Jupyter notebook: a shell in a pseudo-terminal (POSIX pty or
Windows ConPTY), shown with xterm.js."""

from .widget import Terminal

__all__ = ["Terminal"]
__version__ = "0.1.0"
