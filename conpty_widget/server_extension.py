"""The server companion: a small jupyter_server extension, enabled by installing the package.

It does two things for terminals whose kernel runs on the server's machine; the widget works
without it (remote servers, other hosts), over the comm, only slower:

* **TCP_NODELAY on kernel websockets.** Tornado leaves Nagle's algorithm on unless asked, and
  jupyter_server never asks: each key's echo then leaves as several small frames back to back
  (status busy, the comm message, status idle), and the later ones wait for the browser's
  delayed ACK (about 40 ms). Terminals (terminado) send one frame per echo and do not stall.
  Sending small frames at once costs nothing for other traffic: large messages fill whole
  segments either way.
* **The direct path** (``conpty_widget.direct``): the websocket ``/conpty_widget/direct/<name>``
  relays binary messages to and from the kernel's Unix socket ``<runtime dir>/<name>/s``,
  under the server's own authentication (the ``kernels`` resource, as kernel websockets).

``GET /conpty_widget/status`` says it is loaded and reads TCP_NODELAY back from the sockets of
the open kernel websockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import struct
import weakref
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .direct import MESSAGE_MAX

_NAME = re.compile(r"conpty-[A-Za-z0-9_]{1,64}\Z")  # what direct.Listener makes with mkdtemp
_LENGTH = struct.Struct(">I")
_kernel_sockets: weakref.WeakSet[WebSocketHandler] = weakref.WeakSet()


def _nodelay(handler: WebSocketHandler) -> bool:
    stream = handler.ws_connection.stream if handler.ws_connection else None  # type: ignore[attr-defined]
    if stream is None or stream.closed():
        return False
    return bool(stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def nodelay_connection(base: type) -> type:
    """``base`` (the server's kernel websocket connection class) with TCP_NODELAY set on connect."""

    class NoDelayConnection(base):  # type: ignore[misc, valid-type]
        async def connect(self) -> Any:
            self.websocket_handler.set_nodelay(True)
            _kernel_sockets.add(self.websocket_handler)
            return await ensure_async(super().connect())

    NoDelayConnection.__name__ = NoDelayConnection.__qualname__ = f"NoDelay{base.__name__}"
    return NoDelayConnection


class StatusHandler(APIHandler):
    auth_resource = "kernels"

    @web.authenticated
    async def get(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "kernels")):
            raise web.HTTPError(403)
        from . import __version__

        sockets = [_nodelay(h) for h in list(_kernel_sockets) if h.ws_connection is not None]
        self.finish(json.dumps({"version": __version__, "kernel_websockets_nodelay": sockets}))


class DirectHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One view's direct connection: websocket <-> the kernel's Unix socket."""

    auth_resource = "kernels"
    _writer: asyncio.StreamWriter | None = None
    _relay: asyncio.Task | None = None

    def set_default_headers(self) -> None:
        """No JupyterHandler headers on a websocket."""

    @ws_authenticated
    async def get(self, name: str) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")):
            raise web.HTTPError(403)
        self._path = os.path.join(self.settings["conpty_widget_runtime_dir"], name, "s")
        if not _NAME.match(name) or not os.path.exists(self._path):
            raise web.HTTPError(404, "no such terminal socket (the kernel runs elsewhere, or has ended)")
        await super().get(name)

    async def open(self, name: str) -> None:  # type: ignore[override]
        super().open()
        self.set_nodelay(True)
        try:
            reader, self._writer = await asyncio.open_unix_connection(self._path)
        except OSError as exc:
            self.log.warning("conpty_widget: cannot reach %s: %s", name, exc)
            self.close(1011, "kernel socket unreachable")
            return
        self._relay = asyncio.ensure_future(self._to_page(reader))

    async def _to_page(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                message = await reader.readexactly(size)
                await self.write_message(message, binary=True)  # waits while the page is behind
        except (asyncio.IncompleteReadError, OSError, WebSocketClosedError):
            pass
        finally:
            self.close()

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str) or len(message) > MESSAGE_MAX or self._writer is None:
            self.close(1003, "binary protocol messages only")
            return
        self._writer.write(_LENGTH.pack(len(message)) + message)

    def on_close(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


def _load_jupyter_server_extension(serverapp: Any) -> None:
    settings = serverapp.web_app.settings
    settings["kernel_websocket_connection_class"] = nodelay_connection(settings["kernel_websocket_connection_class"])
    settings["conpty_widget_runtime_dir"] = serverapp.runtime_dir
    base = settings.get("base_url", "/")
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "conpty_widget/status"), StatusHandler),
            (url_path_join(base, r"conpty_widget/direct/([^/]+)"), DirectHandler),
        ],
    )
    serverapp.log.info("conpty_widget: TCP_NODELAY on kernel websockets; direct terminal path at conpty_widget/direct")
