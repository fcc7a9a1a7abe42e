"""The direct path on Windows: the kernel's named pipe (``conpty_widget._namedpipe`` under
``conpty_widget.direct``'s listener) and the companion's end of a relay to it
(``conpty_widget._relay``), with real Win32 pipes, a real cmd.exe and real processes.

Measured under Wine 8: it does not enforce a pipe's DACL (a process of a user the DACL leaves
out opens the pipe all the same) nor ``FILE_FLAG_FIRST_PIPE_INSTANCE`` (a second server of the
same name is created). The tests below hold Windows' behaviour and are strict xfails under Wine,
so a Wine that starts enforcing is noticed; there the listener's second lock, the client's
process user, is what refuses a stranger (tested on both). ``PIPE_REJECT_REMOTE_CLIENTS`` needs
a second machine to prove and no API reads it back: only real Windows on a network shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import re
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conpty_widget import Terminal, _namedpipe, _relay, direct
from conpty_widget.backends import _win32
from harness.wait import poll

from .conftest import ENTER, PYTHON, plain

WINE = _win32.wine_version() is not None
_LENGTH = struct.Struct(">I")  # the framing, written out here (not the product's helper)
SYSTEM = "S-1-5-18"  # a user this process never runs as, here or on Windows


class View:
    """A view on the direct path: a client end of the kernel's pipe, each read bounded in time."""

    def __init__(self, name: str) -> None:
        self.end = _namedpipe.connect(_namedpipe.PIPE_PREFIX + name)
        self.timed_out = False

    def send(self, msg: dict, payload: bytes = b"") -> None:
        data = direct.encode(msg, payload)
        self.end.sendall(_LENGTH.pack(len(data)) + data)

    def _exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            part = self.end.recv(size - len(data))
            if not part:
                return None
            data += part
        return data

    def receive(self, timeout: float = 20) -> tuple[dict, bytes] | None:
        """The next message, None once the kernel ended the connection."""

        def expire() -> None:
            self.timed_out = True
            self.end.shutdown()

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            head = self._exactly(_LENGTH.size)
            message = None if head is None else self._exactly(_LENGTH.unpack(head)[0])
        finally:
            timer.cancel()
        if self.timed_out:
            raise TimeoutError(f"no message within {timeout}s")
        return None if message is None else direct.decode(message)

    def read_until(self, pattern: str) -> str:
        out = b""
        while not re.search(pattern, text := plain(out.decode("utf-8", "replace"))):
            got = self.receive()
            assert got is not None, f"connection closed before {pattern!r}; got {text[-300:]!r}"
            msg, payload = got
            if msg["type"] in ("reset", "output"):
                out += payload
        return text

    def close(self) -> None:
        self.end.close()


class Recorder:
    """A terminal as the listener sees it, recording what it is given."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.ended = threading.Event()

    def receive(self, content: Any, buffers: list[bytes], transport: direct.Connection) -> None:
        self.received.append(content)

    def disconnected(self, transport: direct.Connection) -> None:
        self.ended.set()


@pytest.fixture
def cmd() -> Iterator[Terminal]:
    t = Terminal("cmd.exe")
    t.expect(r">", timeout=30)
    yield t
    t.close()


@pytest.fixture
def views() -> Iterator[Callable[[str], View]]:
    made: list[View] = []

    def connect(name: str) -> View:
        made.append(View(name))
        return made[-1]

    yield connect
    for view in made:
        view.close()


def hello(view: str, terminal: str, token: str) -> dict:
    return {"type": "hello", "version": 1, "view": view, "terminal": terminal, "token": token}


def direct_path(t: Terminal) -> dict:
    """``_direct`` and the token (a view asks the kernel for it on the comm; there is none here)."""
    return {**t._direct, "token": t._direct_token}


def test_a_view_with_the_token_types_into_cmd_over_the_pipe(cmd: Terminal, views) -> None:
    info = direct_path(cmd)
    assert re.fullmatch(r"conpty-widget-[0-9a-f]{32}", info["name"]), info
    view = views(info["name"])
    view.send(hello("p1", info["terminal"], info["token"]))
    view.read_until(r">")
    poll("the view on the direct path", lambda: cmd.transports == {"p1": "direct"})
    view.send({"type": "input", "view": "p1", "data": f"echo pipe-%OS%{ENTER}", "ack": 0})
    view.read_until(r"pipe-Windows_NT")
    view.send({"type": "input", "view": "p1"}, f"echo raw-%OS%{ENTER}".encode())  # bytes in the payload
    view.read_until(r"raw-Windows_NT")
    view.close()  # the connection ends: the view is detached, and may come back
    poll("the view detached", lambda: cmd.transports == {})
    cmd.close()
    assert cmd._direct == {}


@pytest.mark.parametrize(
    "first",
    [hello("x", "term", "wrong"), {"type": "input", "view": "x", "data": "echo hi\r", "terminal": "term"}],
    ids=["wrong-token", "not-hello"],
)
def test_a_connection_without_the_token_is_refused_and_logged(first: dict, views, caplog) -> None:
    listener = direct.Listener(_namedpipe.PipeServer())
    terminal = Recorder()
    try:
        listener.register("term", "right-token", terminal)
        with caplog.at_level(logging.WARNING, logger="conpty_widget.direct"):
            view = views(listener.name)
            view.send(first)
            assert view.receive() is None  # closed by the kernel
        assert terminal.received == []
        assert "refused a direct connection" in caplog.text
        view = views(listener.name)  # the right token is let in
        view.send(hello("x", "term", "right-token"))
        poll("the hello handed to the terminal", lambda: terminal.received)
        assert terminal.received[0]["type"] == "hello"
    finally:
        listener.close()


def test_a_client_of_another_user_is_refused(views, caplog) -> None:
    """A pipe for another user (SYSTEM): Windows refuses us at CreateFile (the DACL); where the
    DACL is not enforced (Wine), the listener's process check refuses us, and logs it."""
    listener = direct.Listener(_namedpipe.PipeServer(user=_namedpipe.Sid.parse(SYSTEM)))
    terminal = Recorder()
    try:
        listener.register("term", "right-token", terminal)
        with caplog.at_level(logging.WARNING, logger="conpty_widget.direct"):
            try:
                view = views(listener.name)
            except PermissionError:  # the DACL
                pass
            else:
                with contextlib.suppress(BrokenPipeError):  # refused before it says anything
                    view.send(hello("x", "term", "right-token"))
                assert view.receive() is None
                assert "refused a direct connection from another user" in caplog.text
        assert terminal.received == []
    finally:
        listener.close()


@pytest.mark.xfail(WINE, strict=True, reason="Wine 8 does not enforce a named pipe's DACL")
def test_the_dacl_keeps_another_users_pipe_closed_to_us() -> None:
    server = _namedpipe.PipeServer(user=_namedpipe.Sid.parse(SYSTEM))
    try:
        with pytest.raises(PermissionError):
            _namedpipe.connect(server.path, timeout=2).close()
    finally:
        server.close()


def test_the_pipe_dacl_grants_the_kernel_user_only() -> None:
    """Read back with GetSecurityInfo: a protected DACL, one entry, full access for our user."""
    server = _namedpipe.PipeServer()
    try:
        sddl = server.dacl()
    finally:
        server.close()
    flags = re.match(r"D:([A-Z]*)", sddl)
    assert flags and "P" in flags.group(1), sddl  # protected: nothing inherited
    aces = re.findall(r"\(([^)]*)\)", sddl)
    assert len(aces) == 1, sddl
    kind, _, rights, _, _, sid = aces[0].split(";")
    assert (kind, sid) == ("A", str(_namedpipe.current_user())), sddl
    assert rights in ("GA", "FA"), sddl  # GENERIC_ALL, or FILE_ALL_ACCESS once mapped (Windows)


@pytest.mark.xfail(WINE, strict=True, reason="Wine 8 ignores FILE_FLAG_FIRST_PIPE_INSTANCE")
def test_a_second_server_of_the_same_name_is_refused() -> None:
    first = _namedpipe.PipeServer()
    try:
        with pytest.raises(PermissionError):  # ERROR_ACCESS_DENIED
            _namedpipe.PipeServer(name=first.name).close()
    finally:
        first.close()


def test_the_client_process_is_asked_who_it_runs_as() -> None:
    """GetNamedPipeClientProcessId names the connecting process; its token user is ours."""
    server = _namedpipe.PipeServer()
    accepted: list[_namedpipe.PipeEnd] = []
    acceptor = threading.Thread(target=lambda: accepted.append(server.accept()))
    acceptor.start()
    script = (
        "from conpty_widget import _namedpipe as p\n"
        f"end = p.connect({server.path!r})\n"
        "end.sendall(b'!')\n"
        "assert end.recv(1) == b'', 'the server closes'\n"
    )
    child = subprocess.Popen([PYTHON, "-c", script])
    try:
        acceptor.join(30)
        assert accepted, "no client came"
        end = accepted[0]
        assert end.recv(1) == b"!"
        assert end.peer_pid() == child.pid
        assert end.peer_user() == _namedpipe.current_user()
        assert server.peer_is_us(end)
        stranger = _namedpipe.PipeServer(user=_namedpipe.Sid.parse(SYSTEM))  # the same check for another user
        try:
            assert not stranger.peer_is_us(end)
        finally:
            stranger.close()
        end.close()
        assert child.wait(30) == 0
    finally:
        child.kill()
        server.close()
        for end in accepted:
            end.close()


def _valid_handles(values: list[int]) -> list[int]:
    k = ctypes.WinDLL("kernel32", use_last_error=True)  # a private instance: its own prototypes
    k.GetHandleInformation.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    k.GetHandleInformation.restype = ctypes.c_int32
    flags = ctypes.c_uint32()
    return [v for v in values if k.GetHandleInformation(ctypes.c_void_p(v), ctypes.byref(flags))]


def _handles_of(end: _namedpipe.PipeEnd) -> list[int]:
    return [end.handle, end._reading.event.value, end._writing.event.value]


def test_close_ends_every_thread_and_frees_every_handle(views) -> None:
    listener = direct.Listener(_namedpipe.PipeServer())
    terminal = Recorder()
    listener.register("term", "right-token", terminal)
    admitted = views(listener.name)
    admitted.send(hello("a", "term", "right-token"))
    poll("the hello handed to the terminal", lambda: terminal.received)
    idle = views(listener.name)  # connected, says nothing: its thread waits in a read
    threads = poll(
        "two connections served",
        lambda: len(listener._open) == 2 and [listener._accepting, *listener._open.values()],
    )
    poll("every thread running", lambda: all(t.is_alive() for t in threads))
    ends = [listener.endpoint._waiting, *(conn._stream for conn in listener._open)]
    handles = [h for end in ends for h in _handles_of(end)]
    assert _valid_handles(handles) == handles  # sanity: the check sees open handles
    listener.close()
    assert [t.name for t in threads if t.is_alive()] == []
    assert terminal.ended.is_set()
    assert _valid_handles(handles) == []
    assert admitted.receive() is None and idle.receive() is None  # both views saw the end
    admitted.close()
    idle.close()
    assert not _namedpipe.exists(listener.endpoint.path)  # nothing is left of the pipe


# -- the companion's end of a relay (what server_extension.DirectHandler runs) -----------


def _run(coro: Any) -> Any:
    """On a selector loop: jupyter_server runs tornado on one on Windows."""
    loop = asyncio.SelectorEventLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _read_until(end: _relay.KernelEnd, pattern: str) -> str:
    out = b""
    while not re.search(pattern, text := plain(out.decode("utf-8", "replace"))):
        message = await asyncio.wait_for(end.read(), 20)
        assert message is not None, f"the kernel ended the relay before {pattern!r}; got {text[-300:]!r}"
        msg, payload = direct.decode(message)
        if msg["type"] in ("reset", "output"):
            out += payload
    return text


def test_the_companion_finds_the_pipe_by_the_views_name(cmd: Terminal) -> None:
    name = cmd._direct["name"]
    assert _relay.kernel_end_path("", name) == _namedpipe.PIPE_PREFIX + name
    for stranger in ("conpty-widget-" + "0" * 32, "..", "conpty-a\\..\\b", "other"):
        assert _relay.kernel_end_path("", stranger) is None, stranger


def test_the_companion_relays_a_view_to_cmd_over_the_pipe(cmd: Terminal) -> None:
    info = direct_path(cmd)

    async def relay() -> None:
        end = await _relay.open_kernel_end(_namedpipe.PIPE_PREFIX + info["name"])
        try:
            await end.write(direct.encode(hello("r1", info["terminal"], info["token"])))
            await _read_until(end, r">")
            await end.write(direct.encode({"type": "input", "view": "r1", "data": f"echo relay-%OS%{ENTER}"}))
            await _read_until(end, r"relay-Windows_NT\s+\S*>")
            pending = asyncio.ensure_future(end.read())  # waits in ReadFile on the relay's thread
            await asyncio.sleep(0.2)
            end.close()  # the page went away
            last = await asyncio.wait_for(pending, 10)  # cancelled, or what came just before
            assert last is None or direct.decode(last)[0]["type"] == "output"
            assert await asyncio.wait_for(end.read(), 10) is None
        finally:
            end.close()

    _run(relay())
    poll("the relay's view detached", lambda: cmd.transports == {})
    poll("the relay's threads gone", lambda: not [t for t in threading.enumerate() if t.name.startswith("conpty-relay")])


def test_the_companion_relay_ends_when_the_kernel_refuses_the_token(cmd: Terminal) -> None:
    info = direct_path(cmd)

    async def relay() -> bytes | None:
        end = await _relay.open_kernel_end(_namedpipe.PIPE_PREFIX + info["name"])
        try:
            await end.write(direct.encode(hello("r2", info["terminal"], "wrong")))
            return await asyncio.wait_for(end.read(), 20)
        finally:
            end.close()

    assert _run(relay()) is None
    assert cmd.transports == {}
