"""``%terminal`` and ``%%terminal``, loaded with ``%load_ext conpty_widget``."""

from __future__ import annotations

import argparse
import os
import re
import shlex
from typing import NoReturn

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .widget import Terminal

# One word of the line as a shell splits it: unquoted runs and quoted strings, side by side.
_WORD = re.compile(r"""(?:\\.|[^\s'"\\]+|'[^']*'|"(?:\\.|[^"\\])*")+""")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad line as IPython's UsageError instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.format_usage()}%terminal: error: {message}")


def _size(text: str) -> int:
    """A number of rows or columns."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


_PARSER = _Parser(
    prog="%terminal",
    usage="%(prog)s [-h] [--rows N] [--cols N] [--cwd DIR] [COMMAND ...]",
    add_help=False,
    description="Open a terminal running COMMAND (default: your shell) and show it. As a cell "
    "magic, %%terminal then types the cell's lines into it, one by one, as if typed.",
    epilog="Options come before the command; what follows the command's first word is the command's own "
    "(%terminal --rows 10 python3 -q). -- ends the options (%terminal -- --a-program-named-so).",
)
_PARSER.add_argument("-h", "--help", action="store_true", help="show this help and open no terminal")
_PARSER.add_argument("--rows", type=_size, default=24, metavar="N", help="rows (default 24)")
_PARSER.add_argument("--cols", type=_size, default=80, metavar="N", help="columns (default 80)")
_PARSER.add_argument("--cwd", metavar="DIR", help="working directory (default: the kernel's)")
_PARSER.add_argument(
    "command", nargs=argparse.REMAINDER, metavar="COMMAND", help="the program and its arguments, as typed in a shell"
)


def parse(line: str) -> tuple[argparse.Namespace, str]:
    """The options of a ``%terminal`` line, and its command exactly as written (``""``: none)."""
    words = list(_WORD.finditer(line))
    try:
        args = _PARSER.parse_args([_unquote(w.group()) for w in words])
    except ValueError as e:  # an unbalanced quote
        raise UsageError(f"{_PARSER.format_usage()}%terminal: error: {e}") from None
    first = len(words) - len(args.command)  # the command's words are the last ones
    if args.command[:1] == ["--"]:
        first += 1
    command = line[words[first].start() :].strip() if first < len(words) else ""
    return args, command


def _unquote(word: str) -> str:
    """A word without its quotes (POSIX rules; on Windows only double quotes are quotes)."""
    if os.name == "nt":
        return word.replace('"', "")
    (unquoted,) = shlex.split(word) or [""]
    return unquoted


@magics_class
class TerminalMagics(Magics):
    """Open terminals from notebook cells."""

    @line_cell_magic
    def terminal(self, line: str, cell: str | None = None) -> None:
        """%terminal [--rows N] [--cols N] [--cwd DIR] [command]: open a terminal running
        ``command`` (default: your shell) and show it; ``%terminal --help`` tells more.

        %%terminal [options] [command]: the same, then type the cell's lines into it, one by one
        as if typed; returns at once, while they run.
        """
        args, command = parse(line)
        if args.help:
            print(_PARSER.format_help(), end="")
            return
        cwd = os.path.expanduser(args.cwd) if args.cwd is not None else None
        if cwd is not None and not os.path.isdir(cwd):
            raise UsageError(f"%terminal: --cwd {args.cwd!r} is not a directory")
        term = Terminal(command or None, cwd=cwd, rows=args.rows, cols=args.cols)
        display(term)
        if cell is not None:
            for text in cell.splitlines():
                term.write(text + "\r")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the magics: ``%load_ext conpty_widget``."""
    ipython.register_magics(TerminalMagics)
