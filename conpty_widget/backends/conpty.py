"""Windows backend: a pseudoconsole (ConPTY, Windows 10 1809+) in pure ``ctypes``.

How a terminal is made (the numbers are the checklist in the design notes):

* two anonymous pipes; ``CreatePseudoConsole`` gets their child ends, sized
  columns first, without ``PSEUDOCONSOLE_INHERIT_CURSOR`` (8);
* a thread-attribute list carrying the pseudoconsole, a kill-on-close Job,
  and ``CreateProcessW`` with ``EXTENDED_STARTUPINFO_PRESENT |
  CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED``, ``bInheritHandles=FALSE`` and
  ``STARTF_USESTDHANDLES`` with NULL std handles, so a child of a Jupyter kernel
  (whose stdio are pipes) talks to the pseudoconsole (2, 3, 10, 11); the process
  joins the Job and only then runs (``ResumeThread``), so its whole tree dies
  with ``terminate()``/``close()`` or with us (11); our "ignore Ctrl+C" flag,
  which the child would inherit, is cleared first (9, :func:`_heed_ctrl_c`);
* the child's pipe ends are closed once the pseudoconsole has its own copies
  (as Microsoft's sample does, right after ``CreatePseudoConsole``), the thread
  handle and the attribute list right after ``CreateProcessW`` (4);
* a *pump* thread reads the output pipe at all times into a buffer that
  :meth:`ConPtyProcess.read` serves, so the console can always flush (5);
* a *waiter* thread blocks on the process handle; when the child exits it
  records the exit code and calls ``ClosePseudoConsole`` (never on the pump
  thread, and while the pump drains), which is what makes the output pipe reach
  EOF: ConPTY gives no EOF on the child's exit by itself (6, 7).

Every Win32 resource is owned by one small object below with ``close()``, a
context manager and a ``weakref.finalize`` safety net. ``spawn`` makes them in
two steps, :func:`_open_console` (pipes and pseudoconsole) and
:func:`_create_process` (Job, process), each pushing its own undoing on one
``contextlib.ExitStack``: a failure anywhere unwinds exactly what was made.

Wine (used to test this on Linux) differs in one place, kept in
:func:`_wine_console_handles`: see there.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import subprocess
import sys
import threading
import weakref
from collections.abc import Mapping, Sequence
from ctypes import byref, sizeof
from typing import Any

from . import PtyProcess, check_size
from . import _win32 as w

log = logging.getLogger(__name__)

#: Longest command line ``CreateProcessW`` accepts, in UTF-16 code units with the NUL.
MAX_COMMAND_LINE = 32767
#: Exit code given to processes ended by ``terminate()`` (as ``subprocess`` does).
TERMINATED_EXIT_CODE = 1
#: Seconds ``close()`` waits for each teardown step before leaving a stuck thread behind.
CLOSE_TIMEOUT = 10.0


class ConPTYUnavailableError(OSError):
    """This Windows has no pseudoconsole API (before Windows 10 1809, build 17763)."""


# --- pure helpers (tested on every OS) ------------------------------------------
def build_environment_block(env: Mapping[str, str]) -> str:
    """The text of a ``CREATE_UNICODE_ENVIRONMENT`` block: ``K=V\\0...\\0\\0``.

    Names compare case-insensitively on Windows: the block is sorted by the
    upper-cased name (as the documentation asks) and, of two names differing in
    case only, the later one wins. Encode the result as UTF-16-LE.
    """
    merged: dict[str, tuple[str, str]] = {}
    for key, value in env.items():
        key, value = str(key), str(value)
        if not key or "=" in key[1:] or "\0" in key or "\0" in value:
            raise ValueError(f"invalid environment variable: {key!r}")
        merged[key.upper()] = (key, value)
    entries = [f"{key}={value}\0" for _, (key, value) in sorted(merged.items())]
    return "".join(entries) + "\0" if entries else "\0\0"


def build_command_line(argv: Sequence[str]) -> str:
    """The command line for ``argv``, quoted as the C runtime parses it (``list2cmdline``)."""
    if not argv:
        raise ValueError("empty command")
    line = subprocess.list2cmdline([str(a) for a in argv])
    if "\0" in line:
        raise ValueError("command line contains a NUL character")
    if len(line) + 1 > MAX_COMMAND_LINE:
        raise ValueError(f"command line is longer than {MAX_COMMAND_LINE - 1} characters")
    return line


BATCH_SUFFIXES = (".bat", ".cmd")


def process_command_line(program: str, argv: Sequence[str], comspec: str) -> tuple[str, str]:
    """``(lpApplicationName, lpCommandLine)`` to run ``argv`` whose ``argv[0]`` resolved to ``program``.

    An executable runs as itself. A batch file (``npm.cmd``...) cannot: it runs as
    ``cmd.exe /d /s /c "<command line>"`` (``/s``: cmd strips just the outer quotes).
    cmd then interprets its metacharacters (``& | < > ^ %``) in the arguments, as it
    does for any batch file.
    """
    if program.lower().endswith(BATCH_SUFFIXES):
        inner = build_command_line([program, *argv[1:]])
        line = f'{subprocess.list2cmdline([comspec])} /d /s /c "{inner}"'
        if len(line) + 1 > MAX_COMMAND_LINE:
            raise ValueError(f"command line is longer than {MAX_COMMAND_LINE - 1} characters")
        return comspec, line
    return program, build_command_line(argv)


def split_command_line(command: str) -> list[str]:
    """Split a Windows command line as ``CommandLineToArgvW``/the C runtime do.

    Use this (not ``shlex.split(posix=False)``, which keeps the quotes in the
    words) for a ``str`` command on Windows: ``build_command_line`` turns the
    result back into the same command line the user meant.
    """
    args: list[str] = []
    i, n = 0, len(command)
    while i < n and command[i] in " \t":
        i += 1
    if i >= n:
        return args
    # argv[0], the program: no backslash escapes, quotes only group
    word: list[str] = []
    quoted = False
    while i < n and (quoted or command[i] not in " \t"):
        if command[i] == '"':
            quoted = not quoted
        else:
            word.append(command[i])
        i += 1
    args.append("".join(word))
    # the arguments: 2n backslashes + quote -> n backslashes and a quote toggle;
    # 2n+1 backslashes + quote -> n backslashes and a literal quote; "" inside
    # quotes -> a literal quote
    while True:
        while i < n and command[i] in " \t":
            i += 1
        if i >= n:
            return args
        word = []
        quoted = False
        while i < n and (quoted or command[i] not in " \t"):
            c = command[i]
            if c == "\\":
                j = i
                while j < n and command[j] == "\\":
                    j += 1
                count = j - i
                if j < n and command[j] == '"':
                    word.append("\\" * (count // 2))
                    if count % 2:
                        word.append('"')
                        j += 1
                    i = j
                else:
                    word.append("\\" * count)
                    i = j
                continue
            if c == '"':
                if quoted and i + 1 < n and command[i + 1] == '"':
                    word.append('"')
                    i += 2
                    continue
                quoted = not quoted
                i += 1
                continue
            word.append(c)
            i += 1
        args.append("".join(word))


def _env_path(env: Mapping[str, str] | None) -> str | None:
    if env is None:
        return None
    for key, value in env.items():
        if key.upper() == "PATH":
            return value
    return None


def resolve_program(name: str, env: Mapping[str, str] | None = None) -> str:
    """The full path of ``name`` (``PATHEXT`` applied), or ``FileNotFoundError`` naming it."""
    found = shutil.which(name, path=_env_path(env))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, f"program not found: {name!r}", name)
    return os.path.abspath(found)


# --- one object per Win32 resource ---------------------------------------------
class _Resource:
    """Something freed exactly once: by ``close()``, ``with``, or the garbage collector."""

    _finalizer: weakref.finalize

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_handle(value: int) -> None:
    w.kernel32().CloseHandle(value)


class Win32Handle(_Resource):
    """A kernel handle (pipe end, thread, process, job ...), ``CloseHandle``'d once."""

    def __init__(self, value: int, what: str) -> None:
        if not value:
            raise ValueError(f"NULL {what} handle")
        self._value = value
        self.what = what
        self._finalizer = weakref.finalize(self, _close_handle, value)

    @property
    def value(self) -> int:
        if self.closed:
            raise ValueError(f"{self.what} handle is closed")
        return self._value

    def abandon(self) -> None:
        """Never close this handle: a thread stuck in a call on it keeps it (closing it there
        could hand its number to a new handle under that call)."""
        self._finalizer.detach()

    def __repr__(self) -> str:
        state = "closed" if self.closed else hex(self._value)
        return f"<{type(self).__name__} {self.what} {state}>"


class Pipe:
    """An anonymous pipe (``CreatePipe``), not inheritable: two handles, each its own resource."""

    def __init__(self, what: str) -> None:
        read, write = w.HANDLE(), w.HANDLE()
        w.kernel32().CreatePipe(byref(read), byref(write), None, 0)
        self.read_end = Win32Handle(read.value, f"{what} pipe read end")  # type: ignore[arg-type]
        self.write_end = Win32Handle(write.value, f"{what} pipe write end")  # type: ignore[arg-type]

    @property
    def closed(self) -> bool:
        return self.read_end.closed and self.write_end.closed

    def close(self) -> None:
        self.read_end.close()
        self.write_end.close()

    def __enter__(self) -> Pipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessHandle(Win32Handle):
    """The child's process handle: wait, exit code, terminate."""

    def wait(self, timeout_ms: int = w.INFINITE) -> bool:
        """True once the process has exited."""
        return w.kernel32().WaitForSingleObject(self.value, timeout_ms) == w.WAIT_OBJECT_0

    def exit_code(self) -> int | None:
        code = w.DWORD()
        w.kernel32().GetExitCodeProcess(self.value, byref(code))
        if code.value == w.STILL_ACTIVE and not self.wait(0):
            return None
        return code.value

    def terminate(self, exit_code: int = TERMINATED_EXIT_CODE) -> None:
        # fails with ERROR_ACCESS_DENIED once the process is gone: that is fine
        w.kernel32().TerminateProcess(self.value, exit_code)


class JobObject(Win32Handle):
    """A Job that kills every process in it when its last handle closes."""

    def __init__(self) -> None:
        super().__init__(w.kernel32().CreateJobObjectW(None, None), "job")
        info = w.JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        info.BasicLimitInformation.LimitFlags = w.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        w.kernel32().SetInformationJobObject(
            self.value, w.JobObjectExtendedLimitInformation, byref(info), sizeof(info)
        )

    def assign(self, process: ProcessHandle) -> None:
        w.kernel32().AssignProcessToJobObject(self.value, process.value)

    def terminate(self, exit_code: int = TERMINATED_EXIT_CODE) -> None:
        w.kernel32().TerminateJobObject(self.value, exit_code)


def _close_pseudoconsole(hpc: int) -> None:
    w.kernel32().ClosePseudoConsole(hpc)


class PseudoConsole(_Resource):
    """An ``HPCON``. ``close()`` may block until the output is drained (before
    Windows 11 24H2): call it only while another thread reads the output pipe,
    and never on that thread."""

    def __init__(self, rows: int, cols: int, input_read: Win32Handle, output_write: Win32Handle) -> None:
        hpc = w.HPCON()
        # columns first; flags 0: no PSEUDOCONSOLE_INHERIT_CURSOR
        w.kernel32().CreatePseudoConsole(
            w.COORD(cols, rows), input_read.value, output_write.value, 0, byref(hpc)
        )
        self._hpc: int = hpc.value  # type: ignore[assignment]
        self._finalizer = weakref.finalize(self, _close_pseudoconsole, self._hpc)

    @property
    def handle(self) -> int:
        if self.closed:
            raise ValueError("pseudoconsole is closed")
        return self._hpc

    def resize(self, rows: int, cols: int) -> None:
        w.kernel32().ResizePseudoConsole(self.handle, w.COORD(cols, rows))


def _delete_attribute_list(buffer: ctypes.Array) -> None:
    w.kernel32().DeleteProcThreadAttributeList(buffer)


class ProcThreadAttributeList(_Resource):
    """``PROC_THREAD_ATTRIBUTE_LIST``: Initialize -> Update -> Delete.

    The buffer (8-byte aligned) stays alive until ``close()``, after
    ``CreateProcessW`` has read it.
    """

    def __init__(self, count: int) -> None:
        k = w.kernel32()
        size = w.SIZE_T(0)
        k.InitializeProcThreadAttributeList(None, count, 0, byref(size))  # fails, gives the size
        if not size.value:
            raise w.win_error("InitializeProcThreadAttributeList")
        self._buffer = (ctypes.c_uint64 * ((size.value + 7) // 8))()
        if not k.InitializeProcThreadAttributeList(self._buffer, count, 0, byref(size)):
            raise w.win_error("InitializeProcThreadAttributeList")
        self._finalizer = weakref.finalize(self, _delete_attribute_list, self._buffer)

    @property
    def pointer(self) -> int:
        if self.closed:
            raise ValueError("attribute list is deleted")
        return ctypes.addressof(self._buffer)

    def set_pseudoconsole(self, console: PseudoConsole) -> None:
        # The value of this attribute is the HPCON itself (not a pointer to it).
        w.kernel32().UpdateProcThreadAttribute(
            self.pointer, 0, w.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, console.handle, sizeof(w.HPCON), None, None
        )


# --- availability ----------------------------------------------------------------
def windows_build() -> int:
    """The build number of this Windows (``RtlGetVersion``), 0 elsewhere.

    ``RtlGetVersion`` is not subject to the compatibility shims that make
    ``GetVersionEx`` report an older Windows to programs without a manifest
    (``sys.getwindowsversion().build``); under Wine it is the version the prefix
    claims to be (``winecfg -v``), as ``cmd /c ver`` shows. This is the number
    xterm.js wants as ``windowsPty.buildNumber``.
    """
    if sys.platform != "win32":
        return 0
    info = w.RTL_OSVERSIONINFOW()
    info.dwOSVersionInfoSize = sizeof(info)
    w.ntdll().RtlGetVersion(byref(info))
    return int(info.dwBuildNumber)


def check_conpty_available() -> None:
    """Raise :class:`ConPTYUnavailableError` unless this Windows has ConPTY."""
    if sys.platform != "win32":
        raise ConPTYUnavailableError(errno.ENOSYS, "ConPTY exists only on Windows")
    if not w.kernel32().has("CreatePseudoConsole"):
        raise ConPTYUnavailableError(
            errno.ENOSYS,
            f"this is Windows build {windows_build()}, which has no pseudoconsole "
            f"(CreatePseudoConsole is missing from kernel32): conpty_widget needs "
            f"Windows 10 version 1809 (build {w.CONPTY_MIN_BUILD}) or later",
        )


# --- the Wine-only branch --------------------------------------------------------
_wine_prepared = False


def _is_wine() -> bool:
    return w.wine_version() is not None


def _wine_console_handles() -> tuple[Win32Handle, Win32Handle]:
    """WINE ONLY: std handles for a pseudoconsole child.

    Real Windows gives a child attached to a pseudoconsole its console handles
    when we pass NULL std handles with ``STARTF_USESTDHANDLES`` (which we must
    set, so that the child does not write to a Jupyter kernel's pipes). Wine 8
    gives it none, and its output is lost. Under Wine we pass instead, as the
    child's stdin and stdout/stderr, handles opened with ``NtCreateFile`` on
    ``\\Device\\ConDrv\\Input`` and ``\\Device\\ConDrv\\Output`` and close
    them after ``CreateProcessW``; Wine binds them to the new process's
    pseudoconsole (measured with Wine 8.0: NULL or ``CONIN$``/``CONOUT$``
    handles lose the output; neither ``OBJ_INHERIT`` nor ``bInheritHandles`` is
    needed). Never used on Windows.

    Also under Wine: the desktop process is started now (``GetDesktopWindow``),
    before it could start later inside a child and inherit the output pipe,
    which would delay EOF.
    """
    global _wine_prepared
    if not _wine_prepared:
        w.user32().GetDesktopWindow()
        _wine_prepared = True
    opened = []
    with contextlib.ExitStack() as undo:
        for name in ("\\Device\\ConDrv\\Input", "\\Device\\ConDrv\\Output"):
            text = ctypes.create_unicode_buffer(name)
            uname = w.UNICODE_STRING(len(name) * 2, len(name) * 2 + 2, ctypes.addressof(text))
            attrs = w.OBJECT_ATTRIBUTES(sizeof(w.OBJECT_ATTRIBUTES), None, ctypes.addressof(uname), 0)
            handle = w.HANDLE()
            iosb = w.IO_STATUS_BLOCK()
            w.ntdll().NtCreateFile(
                byref(handle),
                w.CONDRV_ACCESS,
                byref(attrs),
                byref(iosb),
                None,
                0,
                w.FILE_SHARE_READ | w.FILE_SHARE_WRITE | w.FILE_SHARE_DELETE,
                w.FILE_CREATE,
                w.FILE_SYNCHRONOUS_IO_NONALERT | w.FILE_NON_DIRECTORY_FILE,
                None,
                0,
            )
            opened.append(undo.enter_context(Win32Handle(handle.value, f"Wine {name}")))  # type: ignore[arg-type]
        undo.pop_all()
    return opened[0], opened[1]


# --- the backend -----------------------------------------------------------------
class ConPtyProcess(PtyProcess):
    """A child process on a Windows pseudoconsole."""

    def __init__(
        self,
        console: PseudoConsole,
        input_write: Win32Handle,
        output_read: Win32Handle,
        process: ProcessHandle,
        job: JobObject,
        pid: int,
    ) -> None:
        self.pid = pid
        self._console = console
        self._input = input_write
        self._output = output_read
        self._process = process
        self._job = job
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self._eof = False  # the output pipe reached EOF
        self._closed = False  # close() was called
        self._exit_code: int | None = None
        self._exited = threading.Event()
        self._write_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._pump_thread_id = 0
        self._pump = threading.Thread(target=self._pump_output, name=f"conpty-pump-{pid}", daemon=True)
        self._waiter = threading.Thread(target=self._watch_exit, name=f"conpty-waiter-{pid}", daemon=True)

    # -- spawning --
    @classmethod
    def _spawn(
        cls, argv: list[str], *, cwd: str | None, env: Mapping[str, str] | None, rows: int, cols: int
    ) -> ConPtyProcess:
        check_conpty_available()
        program = resolve_program(argv[0], env)
        application, line = process_command_line(program, argv, ConPtyProcess.default_shell()[0])
        command_line = ctypes.create_unicode_buffer(line)  # mutable, as CreateProcessW requires
        env_block = None
        if env is not None:
            env_block = ctypes.create_string_buffer(build_environment_block(env).encode("utf-16-le"))
        if cwd is not None:
            cwd = os.path.abspath(cwd)

        with contextlib.ExitStack() as undo:
            console, input_write, output_read = _open_console(undo, rows, cols)
            process, pid, job = _create_process(undo, console, application, command_line, env_block, cwd, program)
            undo.pop_all()  # made: from here on the ConPtyProcess owns them
        self = cls(console, input_write, output_read, process, job, pid)
        self._pump.start()
        self._waiter.start()
        return self

    @staticmethod
    def default_shell() -> list[str]:
        comspec = os.environ.get("COMSPEC")
        if not comspec:
            root = os.environ.get("SYSTEMROOT", r"C:\Windows")
            comspec = os.path.join(root, "System32", "cmd.exe")
        return [comspec]

    split_command = staticmethod(split_command_line)

    # -- threads --
    def _pump_output(self) -> None:
        """Read the output pipe until EOF, always: the console must be able to flush."""
        k = w.kernel32()
        self._pump_thread_id = k.GetCurrentThreadId()
        handle = self._output.value
        buf = ctypes.create_string_buffer(65536)
        count = w.DWORD()
        try:
            while True:
                if not k.ReadFile(handle, buf, len(buf), byref(count), None):
                    err = ctypes.get_last_error()  # type: ignore[attr-defined]
                    if err not in (w.ERROR_BROKEN_PIPE, w.ERROR_OPERATION_ABORTED, w.ERROR_PIPE_NOT_CONNECTED):
                        log.warning("ConPTY output: %s", w.win_error("ReadFile", err))
                    return
                if count.value:
                    with self._cond:
                        if not self._closed:
                            self._buffer += ctypes.string_at(buf, count.value)
                            self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _watch_exit(self) -> None:
        """On the child's exit: record its code, then close the console (-> EOF)."""
        try:
            self._process.wait()
            code = self._process.exit_code()
        except OSError as exc:  # the handle is broken: should not happen
            log.warning("ConPTY child: %s", exc)
            code = None
        with self._cond:
            self._exit_code = code
            self._cond.notify_all()
        self._exited.set()
        # the pump is draining: ClosePseudoConsole can flush and return
        self._console.close()

    # -- the interface --
    def read(self, size: int = 65536) -> bytes:
        if size <= 0:
            return b""
        with self._cond:
            while not self._buffer and not self._eof and not self._closed:
                self._cond.wait()
            if self._closed or not self._buffer:
                return b""
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
            return chunk

    def write(self, data: bytes) -> None:
        view = memoryview(bytes(data))
        if not view:
            return
        k = w.kernel32()
        count = w.DWORD()
        with self._write_lock:
            if self._closed or self._input.closed:
                raise BrokenPipeError(errno.EPIPE, "the terminal is closed")
            handle = self._input.value
            while view:
                chunk = bytes(view[:65536])
                k.WriteFile(handle, chunk, len(chunk), byref(count), None)
                view = view[count.value :]

    def write_nowait(self, data: bytes) -> int:
        # The input is an anonymous pipe, synchronous by nature: Windows cannot say whether a
        # write would block (PIPE_NOWAIT exists only for LAN Manager compatibility), and a
        # blocked write here would stall the kernel thread handling the page's message.
        return 0

    def setwinsize(self, rows: int, cols: int) -> None:
        rows, cols = check_size(rows, cols)
        if self._console.closed:
            return  # the child has exited: nothing to resize
        try:
            self._console.resize(rows, cols)
        except OSError as exc:
            if exc.winerror == w.E_NOTIMPL and _is_wine():  # type: ignore[attr-defined]
                log.debug("Wine has no ResizePseudoConsole: the size stays")  # documented Wine gap
                return
            if self._console.closed:
                return
            raise

    def terminate(self) -> None:
        if self._exited.is_set():
            return
        for kill in (self._job.terminate, self._process.terminate):
            try:
                kill(TERMINATED_EXIT_CODE)
            except (OSError, ValueError):
                pass  # already gone, or the handle is closed
        if not self._exited.wait(CLOSE_TIMEOUT):
            log.warning("ConPTY child %d did not end after TerminateProcess", self.pid)

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._exited.wait(timeout):
            return None
        return self._exit_code

    @property
    def exit_code(self) -> int | None:
        return self._exit_code if self._exited.is_set() else None

    def close(self) -> None:
        with self._close_lock:
            if self._closed and self._input.closed:
                return
            with self._cond:
                self._closed = True  # read() returns b"", the pump discards
                self._buffer.clear()
                self._cond.notify_all()
            self.terminate()
            # the waiter closes the console once the child is gone; the pump drains meanwhile
            _join(self._waiter, CLOSE_TIMEOUT)
            if not self._waiter.is_alive():
                self._console.close()
            _join(self._pump, CLOSE_TIMEOUT)
            if self._pump.is_alive() and threading.current_thread() is not self._pump:
                self._cancel_pump()
            # a writer blocked in WriteFile fails once the console is gone, and lets go
            if self._write_lock.acquire(timeout=CLOSE_TIMEOUT):
                try:
                    self._input.close()
                finally:
                    self._write_lock.release()
            if not self._pump.is_alive():
                self._output.close()
            if not self._waiter.is_alive():
                self._process.close()
            self._job.close()  # kill-on-close: nothing of the tree survives

    def _cancel_pump(self) -> None:
        """Last resort when EOF does not come: cancel the pump's blocking ReadFile."""
        if not self._pump_thread_id:
            return
        k = w.kernel32()
        try:
            with Win32Handle(k.OpenThread(w.THREAD_TERMINATE, False, self._pump_thread_id), "pump thread") as t:
                k.CancelSynchronousIo(t.value)
        except OSError as exc:
            log.warning("ConPTY: cannot cancel the output reader: %s", exc)
        self._pump.join(1.0)

    def __enter__(self) -> ConPtyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _join(thread: threading.Thread, timeout: float) -> None:
    """Join ``thread`` unless it is the calling one (``close()`` run by a finalizer there)."""
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout)


def _open_console(undo: contextlib.ExitStack, rows: int, cols: int) -> tuple[PseudoConsole, Win32Handle, Win32Handle]:
    """Two pipes and a pseudoconsole on their child ends: ``(console, input_write, output_read)``.

    Pushes on ``undo`` what frees them. The console keeps its own copies of the
    child ends (input read, output write): they are closed here, on success too.
    """
    input_pipe = undo.enter_context(Pipe("input"))
    output_pipe = undo.enter_context(Pipe("output"))
    console = PseudoConsole(rows, cols, input_pipe.read_end, output_pipe.write_end)
    undo.callback(_close_console_draining, console, output_pipe.read_end)
    input_pipe.read_end.close()
    output_pipe.write_end.close()
    return console, input_pipe.write_end, output_pipe.read_end


def _close_console_draining(console: PseudoConsole, output_read: Win32Handle) -> None:
    """Close a console nobody reads yet: ``ClosePseudoConsole`` may wait for its output to be read."""
    drain = threading.Thread(target=_drain, args=(output_read.value,), daemon=True)
    drain.start()
    console.close()
    drain.join(CLOSE_TIMEOUT)
    if drain.is_alive():
        output_read.abandon()  # the stuck reader keeps its handle


def _heed_ctrl_c() -> None:
    """Clear this process's "ignore Ctrl+C" flag, which every process it creates inherits, one
    on a pseudoconsole too: a process started in a new process group (``CREATE_NEW_PROCESS_GROUP``:
    CI agents, some launchers) has it, and ^C would then do nothing to the terminal's programs.
    Windows Terminal clears it at start the same way. This process heeds a Ctrl+C of its own
    console again: Python turns it into SIGINT, which a kernel ignores between cells (ipykernel
    is interrupted through its interrupt event, not its console). A failure (none is known)
    leaves the flag as it was: the child starts all the same."""
    if not w.kernel32().SetConsoleCtrlHandler(None, False):
        log.debug("conpty_widget: %s", w.win_error("SetConsoleCtrlHandler"))


def _create_process(
    undo: contextlib.ExitStack,
    console: PseudoConsole,
    application: str,
    command_line: ctypes.Array,
    env_block: ctypes.Array | None,
    cwd: str | None,
    program: str,
) -> tuple[ProcessHandle, int, JobObject]:
    """The child on ``console``, created suspended, put in a kill-on-close Job, then resumed.

    Pushes on ``undo`` what ends and frees them (the process terminated, the Job closed).
    """
    k = w.kernel32()
    job = undo.enter_context(JobObject())
    undo.callback(_terminate_quietly, job)
    with ProcThreadAttributeList(1) as attributes, contextlib.ExitStack() as std_handles:
        attributes.set_pseudoconsole(console)
        info = w.STARTUPINFOEXW()
        info.StartupInfo.cb = sizeof(w.STARTUPINFOEXW)
        # NULL std handles, but set: else a child of a process whose stdio are
        # pipes (a Jupyter kernel) would inherit those instead of the console
        info.StartupInfo.dwFlags = w.STARTF_USESTDHANDLES
        info.lpAttributeList = attributes.pointer
        if _is_wine():
            stdin, stdout = (std_handles.enter_context(h) for h in _wine_console_handles())
            info.StartupInfo.hStdInput = stdin.value
            info.StartupInfo.hStdOutput = stdout.value
            info.StartupInfo.hStdError = stdout.value
        pi = w.PROCESS_INFORMATION()
        _heed_ctrl_c()
        try:
            k.CreateProcessW(
                application,
                ctypes.addressof(command_line),
                None,
                None,
                False,  # bInheritHandles: a kernel holds inheritable handles of its own
                w.EXTENDED_STARTUPINFO_PRESENT | w.CREATE_UNICODE_ENVIRONMENT | w.CREATE_SUSPENDED,
                env_block,
                cwd,
                byref(info),
                byref(pi),
            )
        except OSError as exc:  # name the program (ERROR_FILE_NOT_FOUND -> FileNotFoundError)
            raise OSError(None, exc.strerror, program, exc.winerror) from None  # type: ignore[attr-defined]
    process = undo.enter_context(ProcessHandle(pi.hProcess, "process"))  # type: ignore[arg-type]
    undo.callback(process.terminate)
    with Win32Handle(pi.hThread, "thread") as thread:  # type: ignore[arg-type]
        job.assign(process)
        k.ResumeThread(thread.value)
    return process, pi.dwProcessId, job


def _terminate_quietly(job: JobObject) -> None:
    with contextlib.suppress(OSError):
        job.terminate()


def _drain(handle: int) -> None:
    buf = ctypes.create_string_buffer(4096)
    count = w.DWORD()
    while w.kernel32().ReadFile(handle, buf, len(buf), byref(count), None):
        pass


__all__ = [
    "ConPtyProcess",
    "ConPTYUnavailableError",
    "build_command_line",
    "build_environment_block",
    "split_command_line",
    "process_command_line",
    "resolve_program",
]
