"""Pseudo-terminal backends: one child process attached to a pseudo-terminal.

The interface is deliberately small and knows nothing of Jupyter. A backend's
methods are the POSIX verbs (as in ``ptyprocess``):

* ``command_argv(command)`` is the argv of a command: the user's shell (``None``), a
  command-line string split as the platform does, or a sequence of words.
* ``spawn(argv, cwd, env, rows, cols)`` validates its arguments (here, once for every
  backend), then starts the child (the backend's ``_spawn``); a missing program or folder
  raises ``FileNotFoundError`` naming it, in the caller's process.
* ``read(size)`` blocks until output is available and returns it as bytes; it
  returns ``b""`` once the child has exited and its output is drained, or after
  ``close()``. Only one thread (the session's reader) calls it.
* ``write(data)`` blocks until all of ``data`` is written (the session calls it
  from its own writer thread); raises ``OSError`` once the terminal is gone.
* ``write_nowait(data)`` writes what fits without blocking and returns how many
  bytes that was (the session's fast path for typing; 0 where the platform cannot tell).
* ``setwinsize(rows, cols)`` resizes the terminal; sizes below 1 raise ``ValueError``.
* ``terminate()`` ends every process the terminal started (the whole tree),
  escalating as needed, and reaps the child; idempotent. ``terminate_all(ptys)`` (a class
  method) does it for several at once: at interpreter shutdown, so that the grace periods
  are waited once, not once per terminal.
* ``wait(timeout)`` returns the exit code, or ``None`` on timeout.
* ``close()`` terminates, then frees every OS resource; idempotent. After it,
  ``read`` returns ``b""`` and ``write`` raises.
"""

from __future__ import annotations

import abc
import errno
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Union

#: A command: the user's shell (None), a command line, or its words.
Command = Union[str, Sequence[Union[str, os.PathLike]], None]


class PtyProcess(abc.ABC):
    """A child process running in a pseudo-terminal."""

    pid: int

    @classmethod
    def command_argv(cls, command: Command) -> list[str]:
        """The argv of ``command``: the user's shell for None, a command line split as the
        platform does, a sequence's words as they are."""
        if command is None:
            return cls.default_shell()
        if isinstance(command, str):
            return cls.split_command(command)
        return [os.fspath(a) for a in command]

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str | os.PathLike],
        *,
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None,
        rows: int = 24,
        cols: int = 80,
    ) -> PtyProcess:
        """Start ``argv`` in a new pseudo-terminal of ``rows`` x ``cols``."""
        rows, cols = check_size(rows, cols)
        words = [os.fspath(a) for a in argv]
        if not words:
            raise ValueError("empty command")
        folder = os.fspath(cwd) if cwd is not None else None
        if folder is not None and not os.path.isdir(folder):  # else the platform blames the program
            raise FileNotFoundError(errno.ENOENT, "working directory not found", folder)
        return cls._spawn(words, cwd=folder, env=env, rows=rows, cols=cols)

    @classmethod
    @abc.abstractmethod
    def _spawn(cls, argv: list[str], *, cwd: str | None, env: Mapping[str, str] | None, rows: int, cols: int) -> PtyProcess:
        """Start the child (``spawn`` has validated its arguments)."""

    @staticmethod
    @abc.abstractmethod
    def default_shell() -> list[str]:
        """The argv of the user's shell on this platform."""

    @staticmethod
    @abc.abstractmethod
    def split_command(command: str) -> list[str]:
        """Split a command line the way this platform's shells and runtimes do."""

    @abc.abstractmethod
    def read(self, size: int = 65536) -> bytes:
        """Block for output; ``b""`` at end of output."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Write all of ``data`` to the terminal's input, blocking as needed."""

    @abc.abstractmethod
    def write_nowait(self, data: bytes) -> int:
        """Write the part of ``data`` that fits without blocking; return its length."""

    @abc.abstractmethod
    def setwinsize(self, rows: int, cols: int) -> None:
        """Resize the terminal (``check_size``)."""

    @abc.abstractmethod
    def terminate(self) -> None:
        """End the whole process tree and reap the child."""

    @classmethod
    def terminate_all(cls, ptys: Sequence[PtyProcess]) -> None:
        """``terminate()`` each of ``ptys``; a backend whose ending waits overrides it to wait once."""
        for pty in ptys:
            pty.terminate()

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> int | None:
        """The child's exit code, or ``None`` if it is still running after ``timeout``."""

    @property
    @abc.abstractmethod
    def exit_code(self) -> int | None:
        """The exit code once the child has been reaped, else ``None``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Terminate and release every OS resource."""


def check_size(rows: object, cols: object) -> tuple[int, int]:
    """Validate a terminal size; raise ``ValueError`` for anything but 1..MAX ints."""
    for name, value, limit in (("rows", rows, MAX_ROWS), ("cols", cols, MAX_COLS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise ValueError(f"{name} must be an integer from 1 to {limit}, not {value!r}")
    return rows, cols  # type: ignore[return-value]


MAX_ROWS = 1000
MAX_COLS = 2000


def backend() -> type[PtyProcess]:
    """The backend class for this platform."""
    if sys.platform == "win32":
        from .conpty import ConPtyProcess

        return ConPtyProcess
    from .posix import PosixPtyProcess

    return PosixPtyProcess


def conpty_build() -> int:
    """The Windows build whose ConPTY runs the terminals here; 0 where the backend is not ConPTY."""
    if sys.platform != "win32":
        return 0
    from .conpty import windows_build

    return windows_build()


__all__ = ["Command", "PtyProcess", "backend", "check_size", "conpty_build", "MAX_ROWS", "MAX_COLS"]
