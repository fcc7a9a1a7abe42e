r"""Windows named pipes for the direct path (``conpty_widget.direct``), in plain ``ctypes``.

* :class:`PipeServer` listens on ``\\.\pipe\conpty-widget-<random>``: every instance is
  created with a security descriptor whose DACL grants one user (the token user of this
  process) and nobody else, ``PIPE_REJECT_REMOTE_CLIENTS``, and ``FILE_FLAG_FIRST_PIPE_INSTANCE``
  on the first, so a pipe of that name made by anyone else beforehand is an error, not ours.
* :func:`connect` opens a client end (``SECURITY_IDENTIFICATION``: the server may learn who
  we are, never act as us) and checks that the server's process runs as this user.
* :class:`PipeEnd` is one end of a connected instance, byte mode, with the socket verbs
  ``recv``/``sendall``/``shutdown``/``close`` that ``direct.Connection`` frames messages on.
  Its handle is overlapped: a read, a write and a ``shutdown`` may come from three threads at
  once (on a synchronous handle Windows serialises them, and a pending read would hold
  every write back), and every wait can be cut short.

Who the peer is, is asked where Windows tells: the peer's process id
(``GetNamedPipeClientProcessId``/``GetNamedPipeServerProcessId``) -> ``OpenProcess`` ->
``OpenProcessToken`` -> its token user, compared with ``EqualSid``. The DACL already keeps
other users out; this check is the second lock, and the one that holds where a DACL is not
enforced.

Teardown: ``shutdown()`` marks the end as ended and cancels its pending operations
(``CancelIoEx``): a blocked ``recv`` returns ``b""``, a blocked ``sendall`` or connect
raises. ``close()`` then waits (``CLOSE_TIMEOUT``) until no operation is in flight and
closes the handle and its events; an operation still in flight by then (never seen) keeps
them, leaked on purpose and logged: freeing an ``OVERLAPPED`` under a pending operation, or a
handle number another thread may still use, would corrupt memory or another handle.
``PipeServer.close()`` closes the instance waiting for a client, which ends a blocked
``accept()`` with ``OSError``.
"""

from __future__ import annotations

import ctypes
import logging
import secrets
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable
from ctypes import POINTER, Structure, byref, c_int32, c_void_p, c_wchar_p, sizeof
from typing import Any

from .backends import _win32 as w
from .backends.conpty import Win32Handle, _Resource

log = logging.getLogger(__name__)

PIPE_PREFIX = "\\\\.\\pipe\\"
#: Each direction's buffer in the pipe (an advisory quota: a larger write just waits).
BUFFER_SIZE = 256 * 1024
#: Seconds ``close()`` waits for operations cancelled by ``shutdown()`` to return.
CLOSE_TIMEOUT = 10.0
#: Seconds :func:`connect` waits while every instance of the pipe is busy.
CONNECT_TIMEOUT = 10.0

# --- constants ----------------------------------------------------------------------------
PIPE_ACCESS_DUPLEX = 0x00000003
FILE_FLAG_OVERLAPPED = 0x40000000
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
PIPE_TYPE_BYTE = 0x00000000
PIPE_READMODE_BYTE = 0x00000000
PIPE_WAIT = 0x00000000
PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
PIPE_UNLIMITED_INSTANCES = 255
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
SECURITY_SQOS_PRESENT = 0x00100000
SECURITY_IDENTIFICATION = 0x00010000  # SecurityIdentification << 16
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
TOKEN_QUERY = 0x0008
TokenUser = 1
SDDL_REVISION_1 = 1
SE_KERNEL_OBJECT = 6
DACL_SECURITY_INFORMATION = 0x00000004

ERROR_SUCCESS = 0
ERROR_FILE_NOT_FOUND = 2
ERROR_INSUFFICIENT_BUFFER = 122
ERROR_SEM_TIMEOUT = 121
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_PIPE_NOT_CONNECTED = 233
ERROR_PIPE_CONNECTED = 535
ERROR_IO_PENDING = 997
ERROR_NOT_FOUND = 1168
#: What a read gets once the other end has gone, or this end was shut down.
_READ_ENDS = (w.ERROR_BROKEN_PIPE, ERROR_PIPE_NOT_CONNECTED, ERROR_NO_DATA, w.ERROR_OPERATION_ABORTED)


# --- structures (64-bit Windows layouts, fixed-width types as in backends/_win32.py) -----------
class OVERLAPPED(Structure):
    _fields_ = [
        ("Internal", w.ULONG_PTR),
        ("InternalHigh", w.ULONG_PTR),
        ("Offset", w.DWORD),
        ("OffsetHigh", w.DWORD),
        ("hEvent", w.HANDLE),
    ]


class SECURITY_ATTRIBUTES(Structure):
    _fields_ = [("nLength", w.DWORD), ("lpSecurityDescriptor", w.LPVOID), ("bInheritHandle", w.BOOL)]


class SID_AND_ATTRIBUTES(Structure):
    _fields_ = [("Sid", c_void_p), ("Attributes", w.DWORD)]


class TOKEN_USER(Structure):
    _fields_ = [("User", SID_AND_ATTRIBUTES)]


def _check_win32_error(result: int, func: Any, args: tuple) -> int:
    """For functions that return their Win32 error code (``GetSecurityInfo``)."""
    if result != ERROR_SUCCESS:
        raise w.win_error(func.__name__, result)
    return result


_LPOVERLAPPED = POINTER(OVERLAPPED)
_PVOID = POINTER(c_void_p)

# --- prototypes: name -> (restype, argtypes, errcheck); errcheck None: the caller checks ------
KERNEL32: dict[str, w._Proto] = {
    "CreateNamedPipeW": (
        w.HANDLE,
        [c_wchar_p, w.DWORD, w.DWORD, w.DWORD, w.DWORD, w.DWORD, w.DWORD, POINTER(SECURITY_ATTRIBUTES)],
        w._check_handle,
    ),
    "ConnectNamedPipe": (w.BOOL, [w.HANDLE, _LPOVERLAPPED], None),  # ERROR_IO_PENDING, ERROR_PIPE_CONNECTED
    "CreateFileW": (
        w.HANDLE,
        [c_wchar_p, w.DWORD, w.DWORD, POINTER(SECURITY_ATTRIBUTES), w.DWORD, w.DWORD, w.HANDLE],
        w._check_handle,
    ),
    "WaitNamedPipeW": (w.BOOL, [c_wchar_p, w.DWORD], None),  # ERROR_SEM_TIMEOUT is an answer
    "ReadFile": (w.BOOL, [w.HANDLE, c_void_p, w.DWORD, w.PDWORD, _LPOVERLAPPED], None),  # ERROR_IO_PENDING
    "WriteFile": (w.BOOL, [w.HANDLE, c_void_p, w.DWORD, w.PDWORD, _LPOVERLAPPED], None),  # ERROR_IO_PENDING
    "GetOverlappedResult": (w.BOOL, [w.HANDLE, _LPOVERLAPPED, w.PDWORD, w.BOOL], None),  # the operation's error
    "CancelIoEx": (w.BOOL, [w.HANDLE, _LPOVERLAPPED], None),  # ERROR_NOT_FOUND: nothing pending
    "CreateEventW": (w.HANDLE, [POINTER(SECURITY_ATTRIBUTES), w.BOOL, w.BOOL, c_wchar_p], w._check_handle),
    "GetNamedPipeClientProcessId": (w.BOOL, [w.HANDLE, POINTER(w.ULONG)], w._check_bool),
    "GetNamedPipeServerProcessId": (w.BOOL, [w.HANDLE, POINTER(w.ULONG)], w._check_bool),
    "OpenProcess": (w.HANDLE, [w.DWORD, w.BOOL, w.DWORD], w._check_handle),
    "GetCurrentProcess": (w.HANDLE, [], None),  # a pseudo handle, never fails
    "LocalFree": (c_void_p, [c_void_p], None),  # nothing to do on failure
}

ADVAPI32: dict[str, w._Proto] = {
    "OpenProcessToken": (w.BOOL, [w.HANDLE, w.DWORD, w.PHANDLE], w._check_bool),
    "GetTokenInformation": (w.BOOL, [w.HANDLE, c_int32, c_void_p, w.DWORD, w.PDWORD], None),  # sized twice
    "GetLengthSid": (w.DWORD, [c_void_p], None),
    "IsValidSid": (w.BOOL, [c_void_p], None),  # an answer, not an error
    "EqualSid": (w.BOOL, [c_void_p, c_void_p], None),  # an answer, not an error
    "ConvertSidToStringSidW": (w.BOOL, [c_void_p, _PVOID], w._check_bool),
    "ConvertStringSidToSidW": (w.BOOL, [c_wchar_p, _PVOID], w._check_bool),
    "ConvertStringSecurityDescriptorToSecurityDescriptorW": (
        w.BOOL,
        [c_wchar_p, w.DWORD, _PVOID, POINTER(w.ULONG)],
        w._check_bool,
    ),
    "ConvertSecurityDescriptorToStringSecurityDescriptorW": (
        w.BOOL,
        [c_void_p, w.DWORD, w.DWORD, _PVOID, POINTER(w.ULONG)],
        w._check_bool,
    ),
    "GetSecurityInfo": (
        w.DWORD,
        [w.HANDLE, c_int32, w.DWORD, _PVOID, _PVOID, _PVOID, _PVOID, _PVOID],
        _check_win32_error,
    ),
}

_bound: dict[str, Any] = {}


def _dll(name: str, prototypes: dict[str, w._Proto]) -> Any:
    # our own instances (backends/_win32 binds kernel32 with its own prototypes)
    if sys.platform != "win32":
        raise OSError(f"{name}.dll exists only on Windows")
    if name not in _bound:
        _bound[name] = w._Dll(name, prototypes)
    return _bound[name]


def kernel32() -> Any:
    return _dll("kernel32", KERNEL32)


def advapi32() -> Any:
    return _dll("advapi32", ADVAPI32)


# --- users -----------------------------------------------------------------------------------
def _local_free(pointer: int) -> None:
    kernel32().LocalFree(pointer)


class Sid:
    """A security identifier (a copy of its bytes); ``==`` is ``EqualSid``, ``str()`` its S-1-... form."""

    def __init__(self, pointer: int) -> None:
        if not advapi32().IsValidSid(pointer):
            raise ValueError("not a valid SID")
        self._bytes = ctypes.string_at(pointer, advapi32().GetLengthSid(pointer))
        self._buffer = ctypes.create_string_buffer(self._bytes, len(self._bytes))

    @classmethod
    def parse(cls, text: str) -> Sid:
        """The SID written ``text`` (``S-1-5-18``...)."""
        pointer = c_void_p()
        advapi32().ConvertStringSidToSidW(text, byref(pointer))
        try:
            return cls(pointer.value)  # type: ignore[arg-type]
        finally:
            _local_free(pointer.value)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sid) and bool(advapi32().EqualSid(self._buffer, other._buffer))

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __str__(self) -> str:
        text = c_void_p()
        advapi32().ConvertSidToStringSidW(self._buffer, byref(text))
        try:
            return ctypes.wstring_at(text.value)  # type: ignore[arg-type]
        finally:
            _local_free(text.value)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Sid({self})"


def _token_user(token: int) -> Sid:
    size = w.DWORD()
    advapi = advapi32()
    if not advapi.GetTokenInformation(token, TokenUser, None, 0, byref(size)):
        error = ctypes.get_last_error()  # type: ignore[attr-defined]
        if error != ERROR_INSUFFICIENT_BUFFER:
            raise w.win_error("GetTokenInformation", error)
    buffer = ctypes.create_string_buffer(size.value)
    if not advapi.GetTokenInformation(token, TokenUser, buffer, size, byref(size)):
        raise w.win_error("GetTokenInformation")
    return Sid(TOKEN_USER.from_buffer(buffer).User.Sid)


def _process_token_user(process: int) -> Sid:
    token = w.HANDLE()
    advapi32().OpenProcessToken(process, TOKEN_QUERY, byref(token))
    with Win32Handle(token.value, "process token") as handle:  # type: ignore[arg-type]
        return _token_user(handle.value)


def process_user(pid: int) -> Sid:
    """The user whose token process ``pid`` runs with (``OSError`` if Windows will not say)."""
    with Win32Handle(kernel32().OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid), "process") as process:
        return _process_token_user(process.value)


_current_user: Sid | None = None


def current_user() -> Sid:
    """The token user of this process."""
    global _current_user
    if _current_user is None:
        _current_user = _process_token_user(kernel32().GetCurrentProcess())
    return _current_user


class SecurityDescriptor(_Resource):
    """A self-relative security descriptor made from SDDL (``LocalFree``'d once)."""

    def __init__(self, sddl: str) -> None:
        pointer = c_void_p()
        advapi32().ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, byref(pointer), None)
        self._pointer: int = pointer.value  # type: ignore[assignment]
        self._finalizer = weakref.finalize(self, _local_free, self._pointer)

    @classmethod
    def only(cls, user: Sid) -> SecurityDescriptor:
        """A protected DACL (nothing inherited) with one entry: ``user`` may do everything."""
        return cls(f"D:P(A;;GA;;;{user})")

    def attributes(self) -> SECURITY_ATTRIBUTES:
        """``SECURITY_ATTRIBUTES`` pointing at this descriptor (keep ``self`` alive while used)."""
        if self.closed:
            raise ValueError("security descriptor is freed")
        return SECURITY_ATTRIBUTES(sizeof(SECURITY_ATTRIBUTES), self._pointer, False)


def dacl_of(handle: int) -> str:
    """The DACL of a kernel object, as Windows reports it (``GetSecurityInfo``), in SDDL."""
    descriptor, text = c_void_p(), c_void_p()
    advapi = advapi32()
    advapi.GetSecurityInfo(handle, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, None, None, None, None, byref(descriptor))
    try:
        advapi.ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, byref(text), None
        )
        try:
            return ctypes.wstring_at(text.value)  # type: ignore[arg-type]
        finally:
            _local_free(text.value)  # type: ignore[arg-type]
    finally:
        _local_free(descriptor.value)  # type: ignore[arg-type]


# --- overlapped I/O ----------------------------------------------------------------------------
class _Overlapped:
    """An ``OVERLAPPED`` and its manual-reset event: one operation at a time."""

    def __init__(self, what: str) -> None:
        self.event = Win32Handle(kernel32().CreateEventW(None, True, False, None), f"{what} event")
        self.struct = OVERLAPPED(hEvent=self.event.value)

    def wait(self, handle: int, api: str) -> int:
        """Bytes moved by the operation started on ``handle``, once it is over (``OSError`` if it failed)."""
        count = w.DWORD()
        if not kernel32().GetOverlappedResult(handle, byref(self.struct), byref(count), True):
            raise w.win_error(api)
        return count.value


class PipeEnd:
    """One end of a named pipe's instance (the server's or a client's), byte mode, overlapped."""

    def __init__(self, handle: Win32Handle, *, server: bool) -> None:
        self._handle = handle
        self._server = server
        self._reading = _Overlapped("read")  # also the connect's: a server end connects before it reads
        self._writing = _Overlapped("write")
        self._lock = threading.Lock()  # guards _ended, _busy and the start of every operation
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._ended = False
        self._write_lock = threading.Lock()  # one sendall at a time, whole
        for resource in (handle, self._reading.event, self._writing.event):
            # Not closed by weakref's exit hook: a thread may still wait on them then (an accept,
            # a view's read), and would fail on a closed handle; the process's end frees them.
            resource._finalizer.atexit = False

    @property
    def handle(self) -> int:
        return self._handle.value

    def _operate(self, ov: _Overlapped, api: str, start: Callable[[], int], done: tuple[int, ...] = ()) -> int:
        """Start an operation (unless ended) and wait for it: bytes moved (0 for ``done`` codes)."""
        with self._lock:
            if self._ended:
                raise w.win_error(api, w.ERROR_OPERATION_ABORTED)
            self._busy += 1
            error = ERROR_SUCCESS if start() else ctypes.get_last_error()  # type: ignore[attr-defined]
        try:
            if error in done:
                return 0
            if error not in (ERROR_SUCCESS, ERROR_IO_PENDING):
                raise w.win_error(api, error)
            return ov.wait(self._handle.value, api)  # shutdown() cancels it
        finally:
            with self._lock:
                self._busy -= 1
                self._idle.notify_all()

    def connect(self) -> None:
        """Wait for a client (server end; ``OSError`` once shut down)."""
        ov = self._reading
        # A client may have come between CreateNamedPipe and now (ERROR_PIPE_CONNECTED), or come
        # and gone (ERROR_NO_DATA: its reads see the end).
        self._operate(
            ov, "ConnectNamedPipe", lambda: kernel32().ConnectNamedPipe(self._handle.value, byref(ov.struct)),
            done=(ERROR_PIPE_CONNECTED, ERROR_NO_DATA),
        )  # fmt: skip

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` once the other end has gone or this end is shut down."""
        buffer = ctypes.create_string_buffer(size)
        ov = self._reading
        try:
            count = self._operate(
                ov, "ReadFile", lambda: kernel32().ReadFile(self._handle.value, buffer, size, None, byref(ov.struct))
            )
        except OSError as exc:
            if exc.winerror in _READ_ENDS:  # type: ignore[attr-defined]
                return b""
            raise
        return ctypes.string_at(buffer, count)

    def sendall(self, data: bytes) -> None:
        """Write all of ``data`` (``OSError`` once the other end has gone or this end is shut down)."""
        data = bytes(data)
        with self._write_lock:
            while data:  # a byte-mode write completes whole unless cancelled
                data = data[self._write(data) :]

    def _write(self, data: bytes) -> int:
        ov = self._writing  # data stays alive until the write is over
        return self._operate(
            ov, "WriteFile", lambda: kernel32().WriteFile(self._handle.value, data, len(data), None, byref(ov.struct))
        )

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        """End both directions (``how`` is there for the socket's signature): pending operations
        are cancelled, later ones fail or read the end."""
        with self._lock:
            self._ended = True
            if not self._handle.closed and not kernel32().CancelIoEx(self._handle.value, None):
                error = ctypes.get_last_error()  # type: ignore[attr-defined]
                if error != ERROR_NOT_FOUND:  # nothing was pending
                    log.warning("named pipe: %s", w.win_error("CancelIoEx", error))

    def close(self) -> None:
        """Shut down, wait for cancelled operations to return, free the handle and events."""
        self.shutdown()
        with self._lock:
            idle = self._idle.wait_for(lambda: self._busy == 0, CLOSE_TIMEOUT)
        resources = (self._handle, self._reading.event, self._writing.event)
        if idle:
            for resource in resources:
                resource.close()
            return
        log.warning("named pipe: an operation outlived its cancellation by %s s; its handle stays open", CLOSE_TIMEOUT)
        for resource in resources:
            resource.abandon()
        _abandoned.append(self)  # its OVERLAPPEDs must outlive the operation

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def peer_pid(self) -> int:
        """The process id of the other end's process (as Windows recorded it at connection)."""
        pid = w.ULONG()
        k = kernel32()
        query = k.GetNamedPipeClientProcessId if self._server else k.GetNamedPipeServerProcessId
        query(self._handle.value, byref(pid))
        return pid.value

    def peer_user(self) -> Sid:
        """The token user of the other end's process (``OSError`` if Windows will not say)."""
        return process_user(self.peer_pid())

    def __repr__(self) -> str:
        return f"<PipeEnd {'server' if self._server else 'client'} {self._handle!r}>"


_abandoned: list[PipeEnd] = []


# --- the server and the client -------------------------------------------------------------------
def _create_instance(path: str, security: SecurityDescriptor, first: bool) -> PipeEnd:
    attributes = security.attributes()
    open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (FILE_FLAG_FIRST_PIPE_INSTANCE if first else 0)
    pipe_mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS
    handle = kernel32().CreateNamedPipeW(
        path, open_mode, pipe_mode, PIPE_UNLIMITED_INSTANCES, BUFFER_SIZE, BUFFER_SIZE, 0, byref(attributes)
    )
    return _pipe_end(Win32Handle(handle, "named pipe instance"), server=True)


def _pipe_end(handle: Win32Handle, *, server: bool) -> PipeEnd:
    try:
        return PipeEnd(handle, server=server)
    except BaseException:
        handle.close()
        raise


class PipeServer:
    """A named pipe that ``user`` (default: this process's) may open, from this machine only.

    One instance always waits for the next client; :meth:`accept` hands out the connected one
    and makes the next, so the name is never free for someone else to take while this lives.
    """

    def __init__(self, name: str | None = None, user: Sid | None = None) -> None:
        #: What a view names to reach this kernel (the pipe's name without ``\\.\pipe\``).
        self.name = name or f"conpty-widget-{secrets.token_hex(16)}"
        self.path = PIPE_PREFIX + self.name
        self.user = user if user is not None else current_user()
        self._security = SecurityDescriptor.only(self.user)
        self._lock = threading.Lock()
        self._closed = False
        self._waiting = _create_instance(self.path, self._security, first=True)

    def accept(self) -> PipeEnd:
        """The next client's end (blocks; ``OSError`` once closed)."""
        with self._lock:
            instance = self._waiting
        instance.connect()
        with self._lock:
            if self._closed:
                raise OSError(f"{self.path} is closed")
            try:
                self._waiting = _create_instance(self.path, self._security, first=False)
            except OSError:
                instance.close()
                raise
        return instance

    def peer_is_us(self, end: PipeEnd) -> bool:
        """The client's process runs as this pipe's user."""
        return end.peer_user() == self.user

    def dacl(self) -> str:
        """The pipe's DACL as Windows reports it (read back with ``GetSecurityInfo``), in SDDL."""
        with self._lock:
            return dacl_of(self._waiting.handle)

    def close(self) -> None:
        """No more clients: a blocked ``accept()`` raises; connected ends are their owners' to close."""
        with self._lock:
            self._closed = True
            waiting = self._waiting
        waiting.close()
        self._security.close()


def exists(path: str) -> bool:
    """Whether a pipe ``path`` exists (without connecting to it, which would take an instance)."""
    if kernel32().WaitNamedPipeW(path, 1):
        return True
    error = ctypes.get_last_error()  # type: ignore[attr-defined]
    if error == ERROR_SEM_TIMEOUT:  # every instance is busy
        return True
    if error == ERROR_FILE_NOT_FOUND:
        return False
    raise w.win_error("WaitNamedPipeW", error)


def connect(path: str, timeout: float = CONNECT_TIMEOUT) -> PipeEnd:
    """A client end of the pipe ``path`` whose server runs as this user (else ``PermissionError``)."""
    flags = FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION
    deadline = time.monotonic() + timeout
    k = kernel32()
    while True:
        try:
            handle = k.CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, flags, None)
            break
        except OSError as exc:
            left = deadline - time.monotonic()
            if exc.winerror != ERROR_PIPE_BUSY or left <= 0:  # type: ignore[attr-defined]
                raise
        # every instance is taken (the server makes the next one): wait for one
        if not k.WaitNamedPipeW(path, max(1, int(left * 1000))):
            error = ctypes.get_last_error()  # type: ignore[attr-defined]
            if error != ERROR_SEM_TIMEOUT:
                raise w.win_error("WaitNamedPipeW", error)
    end = _pipe_end(Win32Handle(handle, "named pipe client end"), server=False)
    try:
        if end.peer_user() != current_user():
            raise PermissionError(f"{path} is served by another user")
    except BaseException:
        end.close()
        raise
    return end
