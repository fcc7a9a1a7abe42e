"""Kernels on a Kernel Gateway: a real ``jupyter kernelgateway`` and a real ``jupyter server
--gateway-url`` in front of it, spoken to over the server's kernel websocket as a page does.

jupyter_server's own gateway connection decodes every frame from the gateway as UTF-8 and sends
the page's binary frames on as text; the server companion relays them as binary
(``conpty_widget.server_extension.BinaryGatewayConnection``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import sys
import uuid
from collections.abc import Iterator, Sequence

import pytest

from harness.jupyter_server import RunningServer, api, run, running_server
from harness.kernel_gateway import RunningGateway, running_gateway
from harness.wait import poll

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the Linux side of the suite")

BASH = "['bash', '--norc', '--noprofile'], env={'PS1': '$ ', 'HISTFILE': '/dev/null'}"
FLOOD = 2_000_000  # bytes of 0xff: no valid UTF-8 in them, and the pty passes them unchanged


# The companion's class for a gateway's own config (TCP_NODELAY there): every test here goes through it.
NODELAY = (
    "--KernelGatewayApp.kernel_websocket_connection_class=conpty_widget.server_extension.NoDelayZMQChannelsWebsocketConnection"
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), [NODELAY]) as g:
        yield g


# Server extensions these tests do not need: a server without them starts in a fraction of the time.
UNNEEDED = ["jupyterlab", "notebook", "notebook_shim", "jupyter_lsp", "voila.server_extension"]


def gateway_server(base: pathlib.Path, gateway: RunningGateway, also_disabled: Sequence[str] = ()) -> Iterator[RunningServer]:
    command = [sys.executable, "-m", "jupyter", "server", *gateway.server_options()]
    with running_server(base, command, disabled_extensions=[*UNNEEDED, *also_disabled]) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, gateway: RunningGateway) -> Iterator[RunningServer]:
    """``jupyter server --gateway-url``, with the companion (enabled by the installed package)."""
    yield from gateway_server(tmp_path_factory.mktemp("with-companion"), gateway)


@pytest.fixture(scope="module")
def server_without_companion(tmp_path_factory: pytest.TempPathFactory, gateway: RunningGateway) -> Iterator[RunningServer]:
    yield from gateway_server(tmp_path_factory.mktemp("without-companion"), gateway, also_disabled=["conpty_widget"])


def channels_url(server: RunningServer, kernel_id: str, session: object) -> str:
    """The kernel websocket a page opens on the server, for ``session``."""
    return f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?session_id={session}&token={server.token}"


class KernelSocket:
    """A page's kernel websocket on the server, in the protocol the server speaks to gateways
    (the legacy one: JSON text frames, binary frames for messages with buffers)."""

    def __init__(self, ws) -> None:
        from jupyter_client.session import Session

        self.ws, self.session = ws, Session()

    @classmethod
    async def open(cls, server: RunningServer, kernel_id: str) -> KernelSocket:
        from tornado.websocket import websocket_connect

        return cls(await websocket_connect(channels_url(server, kernel_id, uuid.uuid4()), max_message_size=64 << 20))

    def send(self, msg_type: str, content: dict, buffers: tuple[bytes, ...] = ()) -> str:
        from jupyter_server.services.kernels.connection.base import serialize_binary_message

        msg = self.session.msg(msg_type, content)
        msg["channel"] = "shell"
        msg["header"]["date"] = msg["header"]["date"].isoformat()
        if buffers:
            self.ws.write_message(serialize_binary_message({**msg, "buffers": list(buffers)}), binary=True)
        else:
            self.ws.write_message(json.dumps(msg))
        return msg["header"]["msg_id"]

    async def receive(self, timeout: float = 30) -> dict:
        """The next message; one with buffers must come as a binary frame."""
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message

        frame = await asyncio.wait_for(self.ws.read_message(), timeout)
        assert frame is not None, "the server closed the kernel websocket"
        if isinstance(frame, bytes):
            return deserialize_binary_message(frame)
        try:
            return json.loads(frame)
        except json.JSONDecodeError:
            raise AssertionError(f"a text frame that is not JSON (a binary message sent on as text?): {frame[:80]!r}") from None


async def _terminal_through(server: RunningServer, kernel_id: str, timeout: float = 30) -> dict:
    """A Terminal in the gateway's kernel, driven as a view on the comm: binary input one way,
    non-UTF-8 output and a flood the other (``timeout``: for each message). Returns what it saw."""
    ks = await KernelSocket.open(server, kernel_id)
    try:
        ks.send("execute_request", {"code": f"from conpty_widget import Terminal\nt = Terminal({BASH})", "silent": False})
        while True:  # the widget's comm_open
            msg = await ks.receive(timeout + 30)  # the kernel may still be starting
            state = msg["content"].get("data", {}).get("state", {}) if msg["msg_type"] == "comm_open" else {}
            if state.get("_anywidget_id", "").endswith("Terminal"):
                comm_id = msg["content"]["comm_id"]
                break

        def custom(content: dict, buffers: tuple[bytes, ...] = ()) -> None:
            data = {"method": "custom", "content": {"view": "gw1", **content}}
            ks.send("comm_msg", {"comm_id": comm_id, "data": data}, buffers)

        custom({"type": "hello", "version": 1})
        out, seq, typed, direct = bytearray(), None, False, {}
        end = b"END-42"
        while end not in out[-(FLOOD // 2) :]:
            msg = await ks.receive(timeout)
            if msg["msg_type"] != "comm_msg" or msg["content"]["comm_id"] != comm_id:
                continue
            direct = msg["content"]["data"].get("state", {}).get("_direct", direct)
            body = msg["content"]["data"].get("content", {})
            if body.get("type") == "reset" and body.get("view") == "gw1":
                seq, out = body["seq"], bytearray(msg["buffers"][0])
            elif body.get("type") == "output" and seq is not None:
                assert body["seq"] == seq + 1, f"gap: chunk {body['seq']} after {seq}"
                seq = body["seq"]
                out += msg["buffers"][0]
                custom({"type": "ack", "offset": body["offset"] + len(msg["buffers"][0])})
            if seq is not None and not typed and b"$ " in out:
                # Typed as raw bytes in the message's buffer: a binary frame from the page.
                flood = f"head -c {FLOOD} /dev/zero | tr '\\0' '\\377'"
                command = f"printf 'bin-\\377\\376-%s\\n' $((6*7)); {flood}; echo; echo END-$((40+2))\r"
                custom({"type": "input"}, (command.encode(),))
                typed = True
        assert direct, "the kernel offers a direct path (it cannot know where the server is)"
        return {"output": bytes(out), "direct_refusal": await _direct_refusal(server, direct["name"])}
    finally:
        ks.ws.close()


async def _direct_refusal(server: RunningServer, name: str) -> int | None:
    """The HTTP status that opening the view's direct path gets (``None``: it opened)."""
    from tornado.httpclient import HTTPClientError
    from tornado.websocket import websocket_connect

    try:
        ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/conpty_widget/direct/{name}?token={server.token}")
    except HTTPClientError as exc:
        return exc.code
    ws.close()
    return None


@contextlib.contextmanager
def gateway_kernel(server: RunningServer) -> Iterator[str]:
    """A kernel started through the server (on the gateway), shut down after."""
    kernel_id = api(server, "POST", "/api/kernels", {"name": "python3"})["id"]
    try:
        yield kernel_id
    finally:
        api(server, "DELETE", f"/api/kernels/{kernel_id}")


def test_a_terminal_works_through_the_gateway(server: RunningServer) -> None:
    with gateway_kernel(server) as kernel_id:
        seen = run(_terminal_through(server, kernel_id))
    assert b"bin-\xff\xfe-42\r\n" in seen["output"]  # binary input reached the kernel, non-UTF-8 output came back
    flood = seen["output"].rsplit(b"END-42", 1)[0].rsplit(b"\r\n", 2)[-2]
    assert flood == b"\xff" * FLOOD, f"{len(flood)} bytes, {flood.count(0xFF)} of them 0xff"
    # The kernel's socket is on the gateway's side: the companion refuses the direct path at
    # once (no wait for a timeout), and a view falls back to the comm.
    assert seen["direct_refusal"] == 404


async def _status_with_a_kernel_websocket(server: RunningServer, kernel_id: str) -> dict:
    """The companion's status once a kernel websocket and its socket to the gateway are open."""
    ks = await KernelSocket.open(server, kernel_id)
    try:
        for _ in range(600):  # the server connects to the gateway once the page's websocket is open
            status = await asyncio.to_thread(api, server, "GET", "/conpty_widget/status")
            if status["kernel_websockets_nodelay"] and status["gateway_websockets_nodelay"]:
                break
            await asyncio.sleep(0.1)
        return status
    finally:
        ks.ws.close()


def test_kernel_websockets_and_their_gateway_sockets_get_nodelay(server: RunningServer) -> None:
    with gateway_kernel(server) as kernel_id:
        status = run(_status_with_a_kernel_websocket(server, kernel_id))
    assert status["kernel_websockets_nodelay"] == [True]  # the page's side
    assert status["gateway_websockets_nodelay"] == [True]  # the gateway's side, read back from the server's socket
    assert "binary frames relayed to and from the gateway" in server.log.read_text()


def test_without_the_companion_binary_frames_break(server_without_companion: RunningServer) -> None:
    """What the companion fixes: the server's read loop dies on the first binary frame (the
    reset), and nothing more arrives. If this fails, jupyter_server relays binary frames itself."""
    with gateway_kernel(server_without_companion) as kernel_id:
        with pytest.raises(TimeoutError):
            run(_terminal_through(server_without_companion, kernel_id, timeout=5))
    assert "UnicodeDecodeError" in server_without_companion.log.read_text()


async def _leave_while_connecting(server: RunningServer, kernel_id: str, pages: int) -> None:
    """Once the kernel answers, open its websocket and close it at once, ``pages`` times: each
    page leaves while the server is still connecting to the gateway for it."""
    ks = await KernelSocket.open(server, kernel_id)
    ks.send("kernel_info_request", {})
    while (await ks.receive(60))["msg_type"] != "kernel_info_reply":
        pass
    ks.ws.close()
    for page in range(pages):
        ks = await KernelSocket.open(server, kernel_id)
        if page % 2:
            ks.send("kernel_info_request", {})  # as a page does at once: held until the server is connected
        ks.ws.close()
        await asyncio.sleep(0.05)


def test_a_page_leaving_while_the_server_connects_leaves_nothing_open_on_the_gateway(
    server: RunningServer, gateway: RunningGateway
) -> None:
    with gateway_kernel(server) as kernel_id:
        # Ten pages at a time, until one has left before the server's connection was made (a
        # loaded machine may make it first).
        def left_early() -> int:
            return server.log.read_text().count("closed via client disconnect")

        before = left_early()
        for _ in range(5):
            run(_leave_while_connecting(server, kernel_id, pages=10))
            if left_early() > before:
                break
        else:
            raise AssertionError("in 50 pages, none left while the server connected: the test proves nothing")

        def connections() -> int:
            return api(gateway, "GET", f"/api/kernels/{kernel_id}")["connections"]

        # jupyter_server's own gateway connection cancels a connection being made and keeps the
        # websocket it makes open: the gateway then holds one kernel connection per such page.
        poll("no connection left on the gateway", lambda: connections() == 0, interval=0.2)


V1 = "v1.kernel.websocket.jupyter.org"


async def _retry_as_a_browser(server: RunningServer, kernel_id: str) -> tuple[str, bool]:
    """What JupyterLab does on a server that selects no subprotocol (as with a gateway) while its
    kernel starts: it asks for the v1 protocol, must fail that handshake (WHATWG), and opens again
    at once with the same session and none (the gateway's handshakes then both wait for the
    kernel to start). Returns the session and whether its kernel_info request got a reply."""
    from tornado.websocket import websocket_connect

    session = str(uuid.uuid4())
    url = channels_url(server, kernel_id, session)
    failed = await websocket_connect(url, subprotocols=[V1])
    assert failed.selected_subprotocol is None
    failed.close()  # the browser fails the handshake: it sends nothing and closes
    ks = KernelSocket(await websocket_connect(url, max_message_size=64 << 20))
    ks.session.session = session
    try:
        ks.send("kernel_info_request", {})
        while (await ks.receive(60))["msg_type"] != "kernel_info_reply":
            pass
        return session, True
    except TimeoutError:
        return session, False
    finally:
        ks.ws.close()


@pytest.mark.parametrize("page", range(8))
def test_a_page_retrying_without_a_subprotocol_gets_its_kernel(server: RunningServer, page: int) -> None:
    """The server must not connect to the gateway for a handshake the page fails: that connection
    and the page's retry (same session) would both be open on the gateway, and the kernel could
    route the retry's replies to the other one."""
    with gateway_kernel(server) as kernel_id:
        session, answered = run(_retry_as_a_browser(server, kernel_id))
        assert answered, "no kernel_info reply"
    connections = server.log.read_text().count(f"/channels?session_id={session}\n")
    assert connections == 1, f"{connections} connections to the gateway for one page"


async def _keep_the_handshake(server: RunningServer, kernel_id: str) -> str:
    """A client that, unlike browsers, keeps a handshake without its subprotocol (Python's do):
    three requests at once, answered in order. Returns what the kernel printed."""
    from tornado.websocket import websocket_connect

    url = channels_url(server, kernel_id, uuid.uuid4())
    ks = KernelSocket(await websocket_connect(url, subprotocols=[V1], max_message_size=64 << 20))
    try:
        ks.send("kernel_info_request", {})
        ks.send("execute_request", {"code": "x = 6 * 7", "silent": False})
        last = ks.send("execute_request", {"code": "print(x)", "silent": False})
        printed = ""
        while True:
            msg = await ks.receive(60)
            if msg["msg_type"] == "stream":
                printed += msg["content"]["text"]
            # Idle on iopub, after the output (the execute_reply, on shell, may come before it).
            if msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == last:
                if msg["content"]["execution_state"] == "idle":
                    return printed
    finally:
        ks.ws.close()


def test_a_client_keeping_the_handshake_without_a_subprotocol_gets_its_kernel(server: RunningServer) -> None:
    with gateway_kernel(server) as kernel_id:
        assert run(_keep_the_handshake(server, kernel_id)) == "42\n"
