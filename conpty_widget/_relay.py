r"""The companion's side of the direct path: the kernel's end of a view's relay.

``server_extension.DirectHandler`` relays a websocket to the endpoint a kernel listens on
(``conpty_widget.direct``). The kernel's end of that relay lives here, free of tornado and
jupyter_server, so that it runs (and is tested) wherever the package does:

* Linux/macOS: the Unix socket ``<runtime dir>/<name>/s``, through asyncio's streams.
* Windows: the named pipe ``\\.\pipe\<name>`` (``conpty_widget._namedpipe``; a pipe served
  by another user is refused). jupyter_server runs tornado on a selector event loop on Windows,
  which has no pipes, so the pipe's blocking calls run on two threads of the relay's own; the
  messages are framed by ``direct.Connection``, as in the kernel.

Either end's ``read()`` is the kernel's next message (None at the end), ``write()`` sends the
view's, ``close()`` ends it (a pending read returns None).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

from . import direct

if TYPE_CHECKING:
    from . import _namedpipe

# What direct's endpoints are named: conpty-XXXXXXXX (mkdtemp's) or conpty-widget-<hex> (a pipe's)
NAME = re.compile(r"conpty-[A-Za-z0-9_-]{1,64}\Z")
KernelEnd = Union["SocketEnd", "PipeEnd"]


def kernel_end_path(runtime_dir: str, name: str) -> str | None:
    """Where the kernel named ``name`` listens, if it does on this machine."""
    if not NAME.match(name):
        return None
    if sys.platform == "win32":
        from . import _namedpipe

        path = _namedpipe.PIPE_PREFIX + name
        return path if _namedpipe.exists(path) else None
    path = os.path.join(runtime_dir, name, "s")
    return path if os.path.exists(path) else None


async def open_kernel_end(path: str) -> KernelEnd:
    """Connect to the kernel at ``path`` (from :func:`kernel_end_path`); OSError if it cannot be reached."""
    if sys.platform == "win32":
        return await PipeEnd.open(path)
    return await SocketEnd.open(path)


class SocketEnd:
    """The kernel's end of a relay on Linux/macOS: its Unix socket, through asyncio's streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, path: str) -> SocketEnd:
        return cls(*await asyncio.open_unix_connection(path))

    async def read(self) -> bytes | None:
        """The kernel's next message; None at the end."""
        try:
            size = direct.frame_size(await self._reader.readexactly(direct.FRAME_HEAD))
            return await self._reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return None

    async def write(self, message: bytes) -> None:
        self._writer.write(direct.frame(message))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()


class Worker:
    """A daemon thread running blocking calls for coroutines, one after another.

    Daemon: a kernel that never answers must not hold the server's exit (a pool's threads are
    joined at exit); its own: a blocked call must not take one of the loop's executor threads.
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    async def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)``'s result, once the calls queued before it are done."""
        future = asyncio.get_running_loop().create_future()
        self._calls.put((func, args, future))
        return await future

    def stop(self, last: Callable[[], Any] | None = None) -> None:
        """End the thread once the queued calls (and ``last``, whose result nobody waits for) are done."""
        if last is not None:
            self._calls.put((last, (), None))
        self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            func, args, future = call
            outcome: tuple[Any, BaseException | None]
            try:
                outcome = (func(*args), None)
            except BaseException as exc:
                outcome = (None, exc)
            if future is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    future.get_loop().call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class PipeEnd:
    """The kernel's end of a relay on Windows: its named pipe, read and written on threads of their own.

    jupyter_server runs tornado on a selector loop on Windows (no pipes in it), so the pipe's
    blocking calls go to two workers; ``direct.Connection`` frames the messages, as in the kernel.
    """

    def __init__(self, pipe: _namedpipe.PipeEnd) -> None:
        self._pipe = pipe
        self._conn = direct.Connection(pipe)
        self._reader = Worker("conpty-relay-read")
        self._writer = Worker("conpty-relay-write")
        self._closed = False

    @classmethod
    async def open(cls, path: str) -> PipeEnd:
        from . import _namedpipe

        return cls(await asyncio.get_running_loop().run_in_executor(None, _namedpipe.connect, path))

    async def read(self) -> bytes | None:
        return None if self._closed else await self._reader.call(self._conn.read)

    async def write(self, message: bytes) -> None:
        if not self._closed:
            await self._writer.call(self._conn.send_message, message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._conn.close()  # a blocked read or write returns
        self._writer.stop()
        self._reader.stop(last=self._pipe.close)  # after the last read; it waits out a write in flight
