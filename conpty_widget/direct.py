r"""The direct path: views talk to their terminal over a local stream instead of the kernel's channels.

Through the kernel's shell and iopub channels every message costs a round of ZMQ hops, a
busy/idle status pair and the server's rate limit, and waits behind a busy cell where the
host has no subshells. Where the server companion (``conpty_widget.server_extension``) runs
on the kernel's machine, it relays the websocket ``/conpty_widget/direct/<name>`` to this
kernel's endpoint, which this module listens on: one endpoint per kernel process, one
connection per view. The endpoint is a Unix socket ``<name>/s`` in the Jupyter runtime
directory on Linux and macOS, and the named pipe ``\\.\pipe\<name>`` on Windows
(``conpty_widget._namedpipe``; Windows CPython has no ``AF_UNIX``). The messages are those of
the protocol (conpty_widget/widget.py); the comm stays the path of every view that cannot connect.

Framing: a *message* is a 4-byte big-endian length of its JSON header, the header (UTF-8),
then its payload (output bytes, or raw input). On the websocket each binary frame is one
message; on the socket or pipe each message is preceded by its own 4-byte length. Both
transports share everything here (framing, hello, token, threads); only the OS object differs.

Who may connect:

* Linux/macOS: the socket lives in a directory only the kernel's user can enter (made by
  ``mkdtemp``, mode 0700), and a peer of another uid is refused where the OS tells
  (``SO_PEERCRED``).
* Windows: the pipe's DACL grants the kernel's user (its process token's user SID) and no one
  else, remote clients are rejected (``PIPE_REJECT_REMOTE_CLIENTS``), the pipe must be new
  (``FILE_FLAG_FIRST_PIPE_INSTANCE``), and a client whose process runs as another user is
  refused (``GetNamedPipeClientProcessId`` -> its token's user, ``EqualSid``).
* Both: the first message must be the view's ``hello`` naming the terminal and carrying its
  random token. Anything else is logged and the connection closed. No TCP port is ever opened.
"""

from __future__ import annotations

import atexit
import contextlib
import hmac
import json
import logging
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
from typing import Any, Protocol

log = logging.getLogger(__name__)

MESSAGE_MAX = 16 * 1024 * 1024  # largest message accepted from a view
#: Seconds ``Listener.close()`` waits for each of its threads.
CLOSE_TIMEOUT = 10.0
_LENGTH = struct.Struct(">I")
#: Set to "0" to keep every view on the comm (for comparisons, or a host that misbehaves).
DISABLE_ENV = "CONPTY_WIDGET_DIRECT"


def encode(header: dict, payload: bytes = b"") -> bytes:
    """One message: header length, JSON header, payload."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return _LENGTH.pack(len(head)) + head + payload


def decode(message: bytes) -> tuple[Any, bytes]:
    """``(header, payload)`` of one message; ValueError if it is not one."""
    if len(message) < _LENGTH.size:
        raise ValueError("message shorter than its header length")
    (size,) = _LENGTH.unpack_from(message)
    if size > len(message) - _LENGTH.size:
        raise ValueError("header length beyond the message")
    header = json.loads(message[_LENGTH.size : _LENGTH.size + size])
    return header, message[_LENGTH.size + size :]


def frame(message: bytes) -> bytes:
    """A message as a byte stream carries it: its own 4-byte length, then the message."""
    return _LENGTH.pack(len(message)) + message


def frame_size(head: bytes) -> int:
    """The size of the message a frame's 4-byte length announces; ValueError if over ``MESSAGE_MAX``."""
    (size,) = _LENGTH.unpack(head)
    if size > MESSAGE_MAX:
        raise ValueError(f"message of {size} bytes (at most {MESSAGE_MAX})")
    return size


FRAME_HEAD = _LENGTH.size


class Receiver(Protocol):
    """A terminal, as the listener sees it."""

    def receive(self, content: Any, buffers: list[bytes], transport: Connection) -> None: ...

    def disconnected(self, transport: Connection) -> None: ...


class Stream(Protocol):
    """A connected byte stream with the socket's verbs: a Unix socket, or a named pipe's end."""

    def recv(self, size: int, /) -> bytes: ...

    def sendall(self, data: bytes, /) -> None: ...

    def shutdown(self, how: int, /) -> None: ...

    def close(self) -> None: ...


class Endpoint(Protocol):
    """Where views connect (the OS object): its ``name`` is what a view names to reach it."""

    name: str

    def accept(self) -> Stream:
        """The next connection (blocks; OSError once closed)."""
        ...

    def peer_is_us(self, stream: Any) -> bool:
        """The connection's other end runs as this process's user (OSError if the OS will not say)."""
        ...

    def close(self) -> None:
        """No more connections: a blocked ``accept()`` raises."""
        ...


class Connection:
    """One view's connection: framed messages over a stream; the transport its terminal sends it messages on."""

    name = "direct"

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # one message at a time, whole

    def send(self, msg: dict, payload: bytes) -> None:
        self.send_message(encode(msg, payload))

    def send_message(self, message: bytes) -> None:
        """Send one encoded message; a failure ends the connection (its reader then sees the end)."""
        with self._lock:
            try:
                self._stream.sendall(frame(message))
            except OSError:
                self.close()

    def read(self) -> bytes | None:
        """The next message, or None at the end of the connection."""
        head = self._read_exactly(FRAME_HEAD)
        return None if head is None else self._read_exactly(frame_size(head))

    def _read_exactly(self, size: int) -> bytes | None:
        parts, left = [], size
        while left:
            part = self._stream.recv(min(left, 1 << 20))
            if not part:
                return None
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        """End the connection both ways (the stream itself is freed by its owner)."""
        with contextlib.suppress(OSError):
            self._stream.shutdown(socket.SHUT_RDWR)


class UnixSocketServer:
    """A Unix socket ``<runtime dir>/conpty-XXXXXXXX/s``, in a directory only this user can enter."""

    def __init__(self, runtime_dir: str) -> None:
        self.directory = tempfile.mkdtemp(prefix="conpty-", dir=runtime_dir)  # mode 0700
        #: What a view names to reach this kernel: the directory's name in the runtime dir.
        self.name = os.path.basename(self.directory)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(os.path.join(self.directory, "s"))
            self._sock.listen(64)
        except OSError:
            self._sock.close()
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def accept(self) -> socket.socket:
        return self._sock.accept()[0]

    def peer_is_us(self, stream: socket.socket) -> bool:
        """Where the OS says (``SO_PEERCRED``); elsewhere the directory's mode is the guard."""
        if not hasattr(socket, "SO_PEERCRED"):
            return True
        creds = stream.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid == os.getuid()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # a blocked accept() returns
        self._sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class Listener:
    """The terminals reachable over one endpoint, and a thread per connection serving them.

    Teardown (``close()``): the endpoint stops accepting (a blocked accept raises), the
    accepting thread is joined, then every open connection is ended (its blocked read returns
    the end) and its thread joined; each join waits at most ``CLOSE_TIMEOUT``. Every thread
    frees what it owns on its way out: nothing is left running or open.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self._lock = threading.Lock()
        self._terminals: dict[str, tuple[str, Receiver]] = {}  # terminal id -> token, receiver
        self._open: dict[Connection, threading.Thread] = {}
        self._closed = False
        self._accepting = threading.Thread(target=self._accept_loop, name="conpty-direct", daemon=True)
        self._accepting.start()

    def register(self, terminal: str, token: str, receiver: Receiver) -> None:
        with self._lock:
            self._terminals[terminal] = (token, receiver)

    def unregister(self, terminal: str) -> None:
        with self._lock:
            self._terminals.pop(terminal, None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.endpoint.close()
        _join(self._accepting)
        with self._lock:
            still_open = list(self._open.items())
        for conn, _ in still_open:
            conn.close()
        for _, thread in still_open:
            _join(thread)

    def _accept_loop(self) -> None:
        while True:
            try:
                stream = self.endpoint.accept()
            except OSError as exc:
                if not self._closed:
                    log.warning("conpty_widget: the direct path stops accepting: %s", exc)
                return
            conn = Connection(stream)
            with self._lock:
                if self._closed:
                    stream.close()
                    return
                thread = threading.Thread(target=self._serve, args=(conn, stream), name="conpty-direct-view", daemon=True)
                self._open[conn] = thread
            thread.start()

    def _serve(self, conn: Connection, stream: Stream) -> None:
        receiver: Receiver | None = None
        try:
            if not self._peer_is_us(stream):
                return
            try:
                content, payload = decode(conn.read() or b"")
            except ValueError:
                content, payload = None, b""
            receiver = self._admit(content)
            while receiver is not None:
                receiver.receive(content, [payload] if payload else [], conn)
                if (message := conn.read()) is None:
                    break
                content, payload = decode(message)
        except (OSError, ValueError) as exc:
            log.warning("conpty_widget: direct connection ended: %s", exc)
        finally:
            conn.close()
            stream.close()
            with self._lock:
                self._open.pop(conn, None)
            if receiver is not None:
                receiver.disconnected(conn)

    def _peer_is_us(self, stream: Stream) -> bool:
        try:
            if self.endpoint.peer_is_us(stream):
                return True
            log.warning("conpty_widget: refused a direct connection from another user")
        except OSError as exc:
            log.warning("conpty_widget: refused a direct connection: cannot tell its user (%s)", exc)
        return False

    def _admit(self, hello: Any) -> Receiver | None:
        """The terminal a connection's first message (a hello with the right token) opens, if any."""
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            log.warning("conpty_widget: refused a direct connection: it did not start with hello")
            return None
        with self._lock:
            token, receiver = self._terminals.get(str(hello.get("terminal")), ("", None))
        given = hello.get("token")
        if receiver is None or not isinstance(given, str) or not hmac.compare_digest(given, token):
            log.warning("conpty_widget: refused a direct connection: unknown terminal or wrong token")
            return None
        return receiver


def _join(thread: threading.Thread) -> None:
    if thread is not threading.current_thread():
        thread.join(CLOSE_TIMEOUT)


def _open_endpoint() -> Endpoint:
    """This OS's endpoint: a named pipe on Windows, a Unix socket in the Jupyter runtime dir elsewhere."""
    if sys.platform == "win32":
        from ._namedpipe import PipeServer

        return PipeServer()
    if not hasattr(socket, "AF_UNIX"):
        raise OSError("this OS has neither named pipes nor Unix sockets")
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = jupyter_runtime_dir()
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    return UnixSocketServer(runtime)


_listener: Listener | None = None
_listener_lock = threading.Lock()
_listener_failed = False


def listener() -> Listener | None:
    """This kernel's listener, started on first use; None where there can be no direct path."""
    global _listener, _listener_failed
    with _listener_lock:
        if _listener is None and not _listener_failed:
            _listener_failed = True  # tried once: a failure is not retried per terminal
            if os.environ.get(DISABLE_ENV) == "0":
                return None
            try:
                _listener = Listener(_open_endpoint())
                _listener_failed = False
                # Registered now, after the OS objects' finalizers: atexit runs this before them.
                atexit.register(_listener.close)
            except (ImportError, OSError) as exc:  # e.g. a socket path over the OS's ~104 bytes
                log.info("conpty_widget: no direct path (%s); views use the comm", exc)
        return _listener
