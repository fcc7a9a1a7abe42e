"""The direct path: views talk to their terminal over a Unix socket instead of the kernel's channels.

Through the kernel's shell and iopub channels every message costs a round of ZMQ hops, a
busy/idle status pair and the server's rate limit, and waits behind a busy cell where the
host has no subshells. Where the server companion (``conpty_widget.server_extension``) runs
on the kernel's machine, it relays the websocket ``/conpty_widget/direct/<name>`` to the
socket ``<name>/s`` in the Jupyter runtime directory, which this module listens on: one
socket per kernel process, one connection per view. The messages are those of the protocol
(conpty_widget/widget.py); the comm stays the path of every view that cannot connect.

Framing: a *message* is a 4-byte big-endian length of its JSON header, the header (UTF-8),
then its payload (output bytes, or raw input). On the websocket each binary frame is one
message; on the socket each message is preceded by its own 4-byte length.

Who may connect: the socket lives in a directory only the kernel's user can enter (made by
``mkdtemp``, mode 0700), a peer of another uid is refused where the OS tells (``SO_PEERCRED``),
and the first message must be the view's ``hello`` naming the terminal and carrying its random
token. Anything else is logged and the connection closed. No TCP port is ever opened.
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
import tempfile
import threading
from typing import Any, Protocol

log = logging.getLogger(__name__)

MESSAGE_MAX = 16 * 1024 * 1024  # largest message accepted from a view
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


class Receiver(Protocol):
    """A terminal, as the listener sees it."""

    def receive(self, content: Any, buffers: list[bytes], transport: Connection) -> None: ...

    def disconnected(self, transport: Connection) -> None: ...


class Connection:
    """One view's connection: the transport its terminal sends it messages on."""

    name = "direct"

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()  # one message at a time, whole

    def send(self, msg: dict, payload: bytes) -> None:
        data = encode(msg, payload)
        with self._lock:
            try:
                self._sock.sendall(_LENGTH.pack(len(data)) + data)
            except OSError:
                self.close()  # the reader sees the end and tells the terminal

    def read(self) -> bytes | None:
        """The next message, or None at the end of the connection."""
        head = self._read_exactly(_LENGTH.size)
        if head is None:
            return None
        (size,) = _LENGTH.unpack(head)
        if size > MESSAGE_MAX:
            raise ValueError(f"message of {size} bytes (at most {MESSAGE_MAX})")
        return self._read_exactly(size)

    def _read_exactly(self, size: int) -> bytes | None:
        parts, left = [], size
        while left:
            part = self._sock.recv(min(left, 1 << 20))
            if not part:
                return None
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


class Listener:
    """The kernel's socket for direct connections, and the terminals reachable through it."""

    def __init__(self, runtime_dir: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="conpty-", dir=runtime_dir)  # mode 0700
        #: What a view names to reach this kernel: the directory's name in the runtime dir.
        self.name = os.path.basename(self._dir)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(os.path.join(self._dir, "s"))
            self._sock.listen(64)
        except OSError:
            self._sock.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self._lock = threading.Lock()
        self._terminals: dict[str, tuple[str, Receiver]] = {}  # terminal id -> token, receiver
        self._closed = False
        threading.Thread(target=self._accept_loop, name="conpty-direct", daemon=True).start()

    def register(self, terminal: str, token: str, receiver: Receiver) -> None:
        with self._lock:
            self._terminals[terminal] = (token, receiver)

    def unregister(self, terminal: str) -> None:
        with self._lock:
            self._terminals.pop(terminal, None)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), name="conpty-direct-view", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Connection(sock)
        receiver: Receiver | None = None
        try:
            if not _same_user(sock):
                log.warning("conpty_widget: refused a direct connection from another user")
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
            sock.close()
            if receiver is not None:
                receiver.disconnected(conn)

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


def _same_user(sock: socket.socket) -> bool:
    """The peer runs as this process's user (where the OS says; else the directory's mode rules)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


_listener: Listener | None = None
_listener_lock = threading.Lock()
_listener_failed = False


def listener() -> Listener | None:
    """This kernel's listener, started on first use; None where there can be no direct path."""
    global _listener, _listener_failed
    with _listener_lock:
        if _listener is None and not _listener_failed:
            _listener_failed = True  # tried once: a failure is not retried per terminal
            if os.environ.get(DISABLE_ENV) == "0" or not hasattr(socket, "AF_UNIX"):
                return None
            try:
                from jupyter_core.paths import jupyter_runtime_dir

                runtime = jupyter_runtime_dir()
                os.makedirs(runtime, mode=0o700, exist_ok=True)
                _listener = Listener(runtime)
                _listener_failed = False
            except (ImportError, OSError) as exc:  # e.g. a socket path over the OS's ~104 bytes
                log.info("conpty_widget: no direct path (%s); views use the comm", exc)
        return _listener


@atexit.register
def _close() -> None:
    if _listener is not None:
        _listener.close()
