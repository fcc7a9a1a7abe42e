"""The direct path: the kernel's Unix socket (conpty_widget.direct) and the server companion
(conpty_widget.server_extension) that relays it, with a real kernel and a real Jupyter server."""

from __future__ import annotations

import ast
import asyncio
import ctypes
import logging
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.request

import pytest

from conpty_widget import direct
from harness.jupyter_server import api, run, running_server
from harness.protocol_client import Page, View

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the direct path needs AF_UNIX")

_LENGTH = struct.Struct(">I")


class Peer:
    """A view on the direct path, speaking to the kernel's socket."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.conn = direct.Connection(self.sock)

    def send(self, msg: dict, payload: bytes = b"") -> None:
        data = direct.encode(msg, payload)
        self.sock.sendall(_LENGTH.pack(len(data)) + data)

    def receive(self) -> tuple[dict, bytes] | None:
        message = self.conn.read()
        return None if message is None else direct.decode(message)

    def read_until(self, needle: bytes) -> bytes:
        out = b""
        while needle not in out:
            got = self.receive()
            assert got is not None, f"connection closed before {needle!r}; got {out[-300:]!r}"
            msg, payload = got
            if msg["type"] in ("reset", "output"):
                out += payload
        return out


def open_terminal(kc) -> tuple[Page, dict, str]:
    """A bash Terminal in the kernel; its ``_direct`` trait and the socket's path."""
    page = Page(kc)
    page.execute("from conpty_widget import Terminal\nt = Terminal(['bash', '--norc', '--noprofile'], env={'PS1': '$ '})")
    info = ast.literal_eval(page.evaluate("t._direct"))
    assert set(info) == {"name", "terminal"}  # no token in the widget state that a notebook saves
    asking = View(kc, page.terminal_comm())  # the token: asked on the comm, as a view does
    page.views.append(asking)
    asking.send({"type": "direct"})
    answer, _ = page.next_message(asking)
    assert answer["type"] == "direct" and answer["view"] == asking.view
    info["token"] = answer["token"]
    runtime = ast.literal_eval(page.evaluate("__import__('jupyter_core.paths').paths.jupyter_runtime_dir()"))
    return page, info, os.path.join(runtime, info["name"], "s")


def test_a_view_on_the_direct_path_types_and_sees_output(kernel):
    _, kc = kernel
    page, info, path = open_terminal(kc)
    peer = Peer(path)
    peer.send({"type": "hello", "version": 1, "view": "d1", "terminal": info["terminal"], "token": info["token"]})
    peer.read_until(b"$ ")
    # The trait follows the reset (set once the hello is handled).
    page.execute("import time\nfor _ in range(100):\n    if t.transports: break\n    time.sleep(0.05)")
    assert ast.literal_eval(page.evaluate("t.transports")) == {"d1": "direct"}
    peer.send({"type": "input", "view": "d1", "data": "echo direct-$((6*7))\r", "ack": 0})
    assert b"direct-42\r\n" in peer.read_until(b"direct-42\r\n")
    peer.send({"type": "input", "view": "d1"}, b"echo raw-$((1+1))\r")  # bytes in the payload
    peer.read_until(b"raw-2\r\n")
    peer.sock.close()  # the connection ends: the view is detached, and may come back
    page.execute("import time\nfor _ in range(100):\n    time.sleep(0.05)\n    if not t.transports: break")
    assert page.evaluate("t.transports") == "{}"
    page.execute("t.close()")
    assert page.evaluate("t._direct") == "{}"


@pytest.mark.parametrize(
    "first",
    [
        {"type": "hello", "version": 1, "view": "x", "token": "wrong"},
        {"type": "input", "view": "x", "data": "echo hi\r"},
    ],
    ids=["wrong-token", "not-hello"],
)
def test_a_connection_without_the_token_is_refused_and_logged(first: dict, caplog: pytest.LogCaptureFixture) -> None:
    received: list[dict] = []

    class Receiver:
        def receive(self, content, buffers, transport) -> None:
            received.append(content)

        def disconnected(self, transport) -> None:
            pass

    listener = direct.Listener(direct.UnixSocketServer(os.environ.get("TMPDIR", "/tmp")))
    directory = listener.endpoint.directory
    try:
        listener.register("term", "right-token", Receiver())
        peer = Peer(os.path.join(directory, "s"))
        with caplog.at_level(logging.WARNING, logger="conpty_widget.direct"):
            peer.send({**first, "terminal": "term"})
            assert peer.receive() is None  # closed by the kernel
        assert received == []
        assert "refused a direct connection" in caplog.text
        # The right token is let in.
        peer = Peer(os.path.join(directory, "s"))
        peer.send({"type": "hello", "version": 1, "view": "x", "terminal": "term", "token": "right-token"})
        peer.sock.shutdown(socket.SHUT_WR)
        assert peer.receive() is None
        assert received and received[0]["type"] == "hello"
    finally:
        listener.close()
    assert not os.path.exists(directory)


def test_close_ends_every_connection_and_thread() -> None:
    hellos: list[dict] = []

    class Receiver:
        def receive(self, content, buffers, transport) -> None:
            hellos.append(content)

        def disconnected(self, transport) -> None:
            pass

    listener = direct.Listener(direct.UnixSocketServer(os.environ.get("TMPDIR", "/tmp")))
    listener.register("term", "right-token", Receiver())
    admitted = Peer(os.path.join(listener.endpoint.directory, "s"))
    admitted.send({"type": "hello", "version": 1, "view": "a", "terminal": "term", "token": "right-token"})
    idle = Peer(os.path.join(listener.endpoint.directory, "s"))  # connected, says nothing
    for _ in range(400):
        threads = [listener._accepting, *listener._open.values()]
        if hellos and len(threads) == 3 and all(t.is_alive() for t in threads):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the two connections were not served")
    listener.close()
    assert [t.name for t in threads if t.is_alive()] == []
    assert admitted.receive() is None and idle.receive() is None
    assert not os.path.exists(listener.endpoint.directory)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_another_user_cannot_connect() -> None:
    listener = direct.Listener(direct.UnixSocketServer(os.environ.get("TMPDIR", "/tmp")))
    try:
        path = os.path.join(listener.endpoint.directory, "s")
        pid = os.fork()
        if pid == 0:  # the child becomes nobody and tries; its exit code says what happened
            code = 3
            try:
                os.setgid(65534)
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(path)
                code = 0
            except PermissionError:
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1, "nobody must get PermissionError"
    finally:
        listener.close()


# -- the server companion ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``jupyter server`` as a user starts it: the companion is enabled by the installed package alone."""
    with running_server(tmp_path_factory.mktemp("companion"), [sys.executable, "-m", "jupyter", "server"]) as s:
        yield s


async def _kernel_websocket_then_status(server, kernel_id: str) -> dict:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?token={server.token}")
    try:
        for _ in range(600):  # the server connects the websocket once the kernel answers
            status = await asyncio.to_thread(api, server, "GET", "/conpty_widget/status")
            if status["kernel_websockets_nodelay"]:
                break
            await asyncio.sleep(0.1)
        return status
    finally:
        ws.close()


def test_the_companion_is_loaded_and_sets_nodelay_on_kernel_websockets(server) -> None:
    assert api(server, "GET", "/conpty_widget/status")["kernel_websockets_nodelay"] == []
    with pytest.raises(urllib.error.HTTPError) as refused:
        api(server, "GET", "/conpty_widget/status", token=False)
    assert refused.value.code == 403
    kernel = api(server, "POST", "/api/kernels", {"name": "python3"})
    try:
        status = run(_kernel_websocket_then_status(server, kernel["id"]))
    finally:
        api(server, "DELETE", f"/api/kernels/{kernel['id']}")
    assert status["kernel_websockets_nodelay"] == [True]  # read back from the server's socket


async def _relay(server, name: str, hello: dict, token: bool = True) -> list[tuple[dict, bytes]]:
    from tornado.websocket import websocket_connect

    query = f"?token={server.token}" if token else ""
    ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/conpty_widget/direct/{name}{query}")
    ws.write_message(direct.encode(hello), binary=True)
    got = []
    while (message := await asyncio.wait_for(ws.read_message(), 20)) is not None:
        got.append(direct.decode(message))
        if got[-1][0]["type"] == "reset":
            ws.write_message(direct.encode({"type": "input", "view": hello["view"], "data": "echo relay-$((6*7))\r"}), binary=True)
        if b"relay-42\r\n" in got[-1][1]:
            break
    ws.close()
    return got


def test_the_companion_relays_a_view_to_its_kernel_and_refuses_strangers(server) -> None:

    kernel = api(server, "POST", "/api/kernels", {"name": "python3"})
    try:
        from jupyter_client import BlockingKernelClient

        kc = BlockingKernelClient()
        runtime = server.root.parent / "runtime"
        kc.load_connection_file(str(runtime / f"kernel-{kernel['id']}.json"))
        kc.start_channels(hb=False)  # a heartbeat checked while the kernel starts can call it dead
        try:
            kc.wait_for_ready(timeout=120)
            _, info, _ = open_terminal(kc)
            hello = {"type": "hello", "version": 1, "view": "w1", "terminal": info["terminal"], "token": info["token"]}
            got = run(_relay(server, info["name"], hello))
            assert got[0][0]["type"] == "reset"
            assert any(b"relay-42\r\n" in payload for _, payload in got)
            for name, expected in ((info["name"], 403), ("conpty-nosuchdir", 404), ("..", 404)):
                with pytest.raises(Exception) as refused:
                    run(_relay(server, name, hello, token=name != info["name"]))
                assert str(expected) in str(refused.value), (name, refused.value)
        finally:
            kc.stop_channels()
    finally:
        api(server, "DELETE", f"/api/kernels/{kernel['id']}")


# -- the Windows transport's declarations, checked on any 64-bit OS (its tests run under Wine) --


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="64-bit layouts")
def test_named_pipe_layouts_and_prototypes() -> None:
    from conpty_widget import _namedpipe as p
    from conpty_widget.backends import _win32 as w

    layouts = {  # from the Windows SDK headers, 64-bit
        p.OVERLAPPED: (32, {"Internal": 0, "InternalHigh": 8, "Offset": 16, "OffsetHigh": 20, "hEvent": 24}),
        p.SECURITY_ATTRIBUTES: (24, {"nLength": 0, "lpSecurityDescriptor": 8, "bInheritHandle": 16}),
        p.SID_AND_ATTRIBUTES: (16, {"Sid": 0, "Attributes": 8}),
        p.TOKEN_USER: (16, {"User": 0}),
    }
    for struct_type, (size, offsets) in layouts.items():
        assert ctypes.sizeof(struct_type) == size, struct_type
        for field, offset in offsets.items():
            assert getattr(struct_type, field).offset == offset, (struct_type, field)
    assert (p.PIPE_REJECT_REMOTE_CLIENTS, p.FILE_FLAG_FIRST_PIPE_INSTANCE, p.FILE_FLAG_OVERLAPPED) == (0x8, 0x80000, 0x40000000)
    assert (p.SECURITY_SQOS_PRESENT, p.SECURITY_IDENTIFICATION) == (0x100000, 0x10000)
    assert (p.ERROR_PIPE_CONNECTED, p.ERROR_IO_PENDING, p.ERROR_PIPE_BUSY, p.ERROR_NOT_FOUND) == (535, 997, 231, 1168)
    # Every BOOL is checked: by errcheck, or by its caller where the error code is an answer.
    caller_checks = {
        "ConnectNamedPipe", "WaitNamedPipeW", "ReadFile", "WriteFile", "GetOverlappedResult", "CancelIoEx",
        "GetTokenInformation", "IsValidSid", "EqualSid",
    }  # fmt: skip
    for table in (p.KERNEL32, p.ADVAPI32):
        for name, (restype, argtypes, errcheck) in table.items():
            assert all(ctypes.sizeof(t) in (4, 8) for t in argtypes), name
            if restype == w.BOOL and errcheck is None:
                assert name in caller_checks, name


@pytest.mark.parametrize("name", ["conpty-k2x9_a1b", "conpty-widget-" + "0f" * 16])
def test_the_relay_takes_both_endpoint_names(name: str, tmp_path) -> None:
    from conpty_widget import _relay

    assert _relay.NAME.match(name)
    assert _relay.kernel_end_path(str(tmp_path), name) is None  # no such socket here
    (tmp_path / name).mkdir()
    (tmp_path / name / "s").touch()
    assert _relay.kernel_end_path(str(tmp_path), name) == str(tmp_path / name / "s")


@pytest.mark.parametrize("name", ["..", "conpty-../x", "conpty-a/b", "conpty-a\\b", "other", "conpty-"])
def test_the_relay_refuses_other_names(name: str) -> None:
    from conpty_widget import _relay

    assert not _relay.NAME.match(name)
