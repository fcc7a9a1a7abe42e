r"""The server companion: a small jupyter_server extension, enabled by installing the package.

It does two things for terminals whose kernel runs on the server's machine; the widget works
without it (remote servers, other hosts), over the comm, only slower:

* **TCP_NODELAY on kernel websockets.** Tornado leaves Nagle's algorithm on unless asked, and
  jupyter_server never asks: each key's echo then leaves as several small frames back to back
  (status busy, the comm message, status idle), and the later ones wait for the browser's
  delayed ACK (about 40 ms). Terminals (terminado) send one frame per echo and do not stall.
  Sending small frames at once costs nothing for other traffic: large messages fill whole
  segments either way.
* **The direct path** (``conpty_widget.direct``): the websocket ``/conpty_widget/direct/<name>``
  relays binary messages to and from the kernel's Unix socket ``<runtime dir>/<name>/s``
  (Linux, macOS) or named pipe ``\\.\pipe\<name>`` (Windows: on threads, as jupyter_server
  runs tornado on a selector loop there; a pipe served by another user is refused), under the
  server's own authentication (the ``kernels`` resource, as kernel websockets).

With ``--gateway-url`` (kernels on a Kernel or Enterprise Gateway) it also relays binary frames
between the page and the gateway, which jupyter_server's ``GatewayWebSocketConnection`` does not:
it decodes every frame from the gateway as UTF-8 (the first binary buffer of any widget ends its
read loop, and the notebook hangs) and sends the page's binary frames on as text; its sockets to
the gateway get TCP_NODELAY too. The direct path is not available there (the kernel's socket is
on the gateway's machine): views use the comm. The gateway's own kernel websockets are the
gateway's to configure: ``NoDelayZMQChannelsWebsocketConnection`` below is for that.

``GET /conpty_widget/status`` says it is loaded and reads TCP_NODELAY back from the sockets of
the open kernel websockets (and, through a gateway, of their sockets to the gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import weakref
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.gateway.connections import GatewayWebSocketConnection
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from . import _relay
from .direct import MESSAGE_MAX

_kernel_sockets: weakref.WeakSet[WebSocketHandler] = weakref.WeakSet()


def _nodelay(handler: WebSocketHandler) -> bool:
    stream = handler.ws_connection.stream if handler.ws_connection else None  # type: ignore[attr-defined]
    return _stream_nodelay(stream)


def _stream_nodelay(stream: Any) -> bool:
    if stream is None or stream.closed():
        return False
    return bool(stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def _gateway_nodelay(handler: WebSocketHandler) -> list[bool]:
    """TCP_NODELAY of the handler's socket to the gateway, if it has one (a gateway's connection)."""
    connection = getattr(handler, "connection", None)
    ws = connection.ws if isinstance(connection, BinaryGatewayConnection) else None
    return [_stream_nodelay(ws.protocol.stream)] if ws is not None and ws.protocol is not None else []


class BinaryGatewayConnection(GatewayWebSocketConnection):
    """jupyter_server's gateway connection, with binary frames kept binary both ways.

    ``_read_messages`` is the base class's loop (reconnection included) but for two things: a
    binary frame from the gateway is handed on as bytes instead of being decoded as UTF-8, and no
    reconnection starts once the page has left. A page that leaves while the connection is being
    made does not leave it open on the gateway.

    The server selects no subprotocol for a gateway's kernels, and a browser that asked for one
    (JupyterLab asks for the v1 protocol) must fail that handshake and opens again, same session,
    without: no connection is made to the gateway for a page that asked for a subprotocol until
    its first frame (it holds the frames meanwhile). Otherwise the gateway would see both
    connections of the session at once, and the kernel could send the retry's replies to the
    one that closes (the page's kernel_info request never answered: "connected, unknown").
    """

    _held: list[str | bytes] | None = None  # the page's frames until connected, once it sent one

    async def connect(self) -> None:
        if self.ws_future is not None or not _handshake_fails(self.websocket_handler):  # a reconnection, or kept
            await super().connect()

    def disconnect(self) -> None:  # type: ignore[override]  # the gateway's base is synchronous here
        """The page left. While the connection to the gateway is still being made (or is made and
        its callback has not yet run), the base class cancels its future or does nothing, which
        leaves the websocket it then makes (and the gateway's connection to the kernel) open for
        good, one per page that left early: it is closed once made."""
        if self.ws is None and self.ws_future is not None:
            self.disconnected = True
            self.ws_future.add_done_callback(_close_if_made)
            return
        super().disconnect()

    def handle_incoming_message(self, message: str | bytes) -> None:
        """A page's frame, for the gateway; dropped once the page has left (the base class would
        wait for a connection it then never keeps)."""
        if self.disconnected:
            return
        if self.ws_future is None and self._held is None:  # the page kept its handshake: connect now
            self._held = []
            IOLoop.current().spawn_callback(self._connect_held)
        if self._held is not None:
            self._held.append(message)
            return
        super().handle_incoming_message(message)  # type: ignore[arg-type]  # _write_message takes both

    async def _connect_held(self) -> None:
        """Connect to the gateway for a page that kept its handshake, then send what it sent."""
        if self.disconnected:
            return
        await GatewayWebSocketConnection.connect(self)  # starts the connection, without waiting for it
        held, self._held = self._held or [], None  # later frames follow the connection
        for message in held:
            super().handle_incoming_message(message)  # type: ignore[arg-type]

    def _connection_done(self, fut: Any) -> None:
        super()._connection_done(fut)
        stream = self.ws.protocol.stream if self.ws is not None and self.ws.protocol is not None else None
        if stream is not None:
            stream.set_nodelay(True)  # keys and acks to the gateway go at once too

    async def _read_messages(self) -> None:
        while self.ws is not None and not self.disconnected:
            message = None
            try:
                message = await self.ws.read_message()
            except Exception as exc:
                self.log.error(f"Exception reading message from websocket: {exc}")
            if message is None:
                if not self.disconnected:
                    self.log.warning(f"Lost connection to Gateway: {self.kernel_id}")
                break
            self.handle_outgoing_message(message)
        gateway = GatewayClient.instance()
        if not self.disconnected and self.retry < gateway.gateway_retry_max:
            jitter = random.randint(10, 100) * 0.01  # noqa: S311
            interval = min(gateway.gateway_retry_interval * (2**self.retry), gateway.gateway_retry_interval_max) + jitter
            self.retry += 1
            self.log.info(
                "Attempting to re-establish the connection to Gateway in %s secs (%s/%s): %s",
                interval, self.retry, gateway.gateway_retry_max, self.kernel_id,
            )  # fmt: skip
            await asyncio.sleep(interval)
            if not self.disconnected:  # the page may have left meanwhile: nobody to connect for
                IOLoop.current().spawn_callback(self.connect)

    def handle_outgoing_message(self, incoming_msg: str | bytes, *args: Any) -> None:  # type: ignore[override]
        """Send a gateway frame to the page, binary if it came binary."""
        with contextlib.suppress(WebSocketClosedError):  # the page went away: the frame is dropped
            self.websocket_handler.write_message(incoming_msg, binary=isinstance(incoming_msg, bytes))

    def _write_message(self, message: str | bytes) -> None:
        """Send a page's frame to the gateway, binary if it came binary."""
        try:
            if not self.disconnected and self.ws is not None:
                self.ws.write_message(message, binary=isinstance(message, bytes))
        except Exception as exc:
            self.log.error(f"Exception writing message to websocket: {exc}")


def _handshake_fails(handler: WebSocketHandler) -> bool:
    """Whether a browser fails this handshake: it asked for subprotocols and none was selected."""
    return bool(handler.request.headers.get("Sec-WebSocket-Protocol")) and handler.selected_subprotocol is None


def _close_if_made(fut: Any) -> None:
    """Close the websocket to the gateway that ``fut`` made for a page that has left."""
    if not fut.cancelled() and fut.exception() is None:
        fut.result().close()


def nodelay_connection(base: type) -> type:
    """``base`` (the server's kernel websocket connection class) with TCP_NODELAY set on connect;
    for a gateway's (``GatewayWebSocketConnection`` itself), binary frames relayed too."""
    if base is GatewayWebSocketConnection:
        base = BinaryGatewayConnection

    class NoDelayConnection(base):  # type: ignore[misc, valid-type]
        async def connect(self) -> Any:
            self.websocket_handler.set_nodelay(True)
            _kernel_sockets.add(self.websocket_handler)
            return await ensure_async(super().connect())

    NoDelayConnection.__name__ = NoDelayConnection.__qualname__ = f"NoDelay{base.__name__}"
    return NoDelayConnection


#: For a Kernel Gateway's own configuration (``KernelGatewayApp.kernel_websocket_connection_class``),
#: where the companion does not run: TCP_NODELAY on the gateway's kernel websockets too.
NoDelayZMQChannelsWebsocketConnection = nodelay_connection(ZMQChannelsWebsocketConnection)


class StatusHandler(APIHandler):
    auth_resource = "kernels"

    @web.authenticated
    async def get(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "kernels")):
            raise web.HTTPError(403)
        from . import __version__

        handlers = [h for h in list(_kernel_sockets) if h.ws_connection is not None]
        gateway = [nodelay for h in handlers for nodelay in _gateway_nodelay(h)]
        status = {"kernel_websockets_nodelay": [_nodelay(h) for h in handlers], "gateway_websockets_nodelay": gateway}
        self.finish(json.dumps({"version": __version__, **status}))


class DirectHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One view's direct connection: websocket <-> the kernel's Unix socket or named pipe."""

    auth_resource = "kernels"
    _kernel: _relay.KernelEnd | None = None
    _pump: asyncio.Task | None = None

    def set_default_headers(self) -> None:
        """No JupyterHandler headers on a websocket."""

    @ws_authenticated
    async def get(self, name: str) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")):
            raise web.HTTPError(403)
        path = _relay.kernel_end_path(self.settings["conpty_widget_runtime_dir"], name)
        if path is None:
            # A reason, not a log message: tornado would log the URL, token and all.
            raise web.HTTPError(404, reason="no such terminal socket (the kernel runs elsewhere, or has ended)")
        self._path = path
        await super().get(name)

    async def open(self, name: str) -> None:  # type: ignore[override]
        super().open()
        self.set_nodelay(True)
        try:
            self._kernel = await _relay.open_kernel_end(self._path)
        except OSError as exc:
            self.log.warning("conpty_widget: cannot reach %s: %s", name, exc)
            self.close(1011, "kernel socket unreachable")
            return
        self._pump = asyncio.ensure_future(self._to_page(self._kernel))

    async def _to_page(self, kernel: _relay.KernelEnd) -> None:
        try:
            while (message := await kernel.read()) is not None:
                await self.write_message(message, binary=True)  # waits while the page is behind
        except (OSError, ValueError, WebSocketClosedError):
            pass
        finally:
            self.close()

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str) or len(message) > MESSAGE_MAX or self._kernel is None:
            self.close(1003, "binary protocol messages only")
            return
        await self._kernel.write(message)  # tornado reads the next frame once this is done

    def on_close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self._kernel is not None:
            self._kernel.close()


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
    if settings["kernel_websocket_connection_class"].__base__ is BinaryGatewayConnection:
        serverapp.log.info("conpty_widget: binary frames relayed to and from the gateway")
