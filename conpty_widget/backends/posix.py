"""POSIX pseudo-terminal backend (Linux, macOS)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pwd
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from . import PtyProcess, check_size, watchdog

# The escalation that ends a terminal's processes: each signal, then how long to wait, in seconds.
# SIGHUP is sent twice: bash takes a hang-up that arrives as it draws its prompt, before its
# line editor installs its handlers, only as a note, and then waits for input (seen as one close
# in five right after a command, ended by SIGKILL 3 s later); a second hang-up ends it. A process
# that takes the hang-up leaves at once; the waits are long so that on a loaded machine one is
# not killed while it leaves, and cost only where a process ignores SIGHUP.
ESCALATION = ((signal.SIGHUP, 0.5), (signal.SIGHUP, 1.5), (signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0))


class PosixPtyProcess(PtyProcess):
    """A child leading its own session on a new pty; the whole session is ended on terminate."""

    def __init__(self, popen: subprocess.Popen, master_fd: int) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._fd = master_fd
        # A self-pipe wakes a reader or writer blocked in poll() when we close.
        self._wake_r, self._wake_w = os.pipe()
        # pidfd (Linux 5.3+) makes the child's exit a poll() event: no idle polling.
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        self._closing = False
        self._eof = False
        self._lock = threading.Lock()
        self._terminated = False
        self._drain_budget = 1 << 20
        self._cond = threading.Condition()
        self._users = 0  # threads inside read() or write()

    @classmethod
    def _spawn(
        cls, argv: list[str], *, cwd: str | None, env: Mapping[str, str] | None, rows: int, cols: int
    ) -> PosixPtyProcess:
        master, slave = os.openpty()
        try:
            _set_winsize(master, rows, cols)
            os.set_blocking(master, False)
            os.set_inheritable(master, False)
            popen = subprocess.Popen(
                argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=_child_setup,
                close_fds=True,
            )
        except FileNotFoundError as exc:
            os.close(master)
            raise FileNotFoundError(
                exc.errno, f"cannot start {argv[0]!r}: no such program or directory", argv[0]
            ) from None
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        # If the kernel is killed outright, the watchdog ends this session (see watchdog.py).
        watchdog.register(popen.pid)
        return cls(popen, master)

    @staticmethod
    def default_shell() -> list[str]:
        shell = os.environ.get("SHELL")
        if not shell:
            try:
                shell = pwd.getpwuid(os.getuid()).pw_shell
            except KeyError:
                shell = None
        for candidate in (shell, "/bin/bash", "/bin/sh"):
            if candidate and shutil.which(candidate):
                return [candidate]
        return ["/bin/sh"]

    @staticmethod
    def split_command(command: str) -> list[str]:
        return shlex.split(command)

    def read(self, size: int = 65536) -> bytes:
        if self._closing:
            return b""
        with self._active():
            # In a flood the pty is nearly always readable already: try the (non-blocking) read
            # before select(), saving a system call and a wake-up per 4 KiB read (about 1.2x
            # the kernel's flood throughput, bench/ab.py; bench/RESULTS.md).
            if not self._eof:
                data = self._read_master(size)
                if data:
                    return data
            while not self._eof:
                fds = [self._fd, self._wake_r] + ([self._pidfd] if self._pidfd is not None else [])
                # Without a pidfd, wake up now and then to notice the child's exit.
                ready, _, _ = select.select(fds, [], [], None if self._pidfd is not None else 0.2)
                if self._wake_r in ready:
                    self._eof = True
                    break
                if self._fd in ready:
                    data = self._read_master(size)
                    if data:
                        return data
                    continue
                if self._popen.poll() is None:
                    if ready:  # pidfd fired but another thread is reaping: let it finish
                        time.sleep(0.005)
                    continue
                # The child exited: hand out what it left in the pty (bounded, as a leftover
                # background job may keep writing), then end of output, as a terminal hangs up.
                data = self._read_master(size) if self._drain_budget > 0 else b""
                if data:
                    self._drain_budget -= len(data)
                    return data
                self._eof = True
            return b""

    def _read_master(self, size: int) -> bytes:
        try:
            data = os.read(self._fd, size)
        except BlockingIOError:
            return b""
        except OSError as exc:
            # EIO: every process has closed the terminal.
            if exc.errno not in (errno.EIO, errno.EBADF):
                raise
            data = b""
        if not data:
            self._eof = True
        return data

    def write(self, data: bytes) -> None:
        with self._active():
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._fd, view) :]
                    continue
                except BlockingIOError:
                    pass
                # The child is not reading: wait for room (or for close) without holding anything.
                woken, ready, _ = select.select([self._wake_r], [self._fd], [], 1.0)
                if woken:
                    raise OSError(errno.EIO, "terminal is closed")
                if not ready and self._popen.poll() is not None:
                    raise OSError(errno.EIO, "the terminal's process has exited")

    def write_nowait(self, data: bytes) -> int:
        with self._active():
            try:
                return os.write(self._fd, data)
            except BlockingIOError:
                return 0

    def setwinsize(self, rows: int, cols: int) -> None:
        rows, cols = check_size(rows, cols)
        if self._closing:
            return
        _set_winsize(self._fd, rows, cols)

    def getwinsize(self) -> tuple[int, int]:
        """The terminal's size as (rows, cols)."""
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(self._fd, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols

    def terminate(self) -> None:
        with self._lock:
            if self._terminated:
                return
            self._terminated = True
            end_sessions({self.pid}, [self._popen])
            self._popen.wait()
            watchdog.unregister(self.pid)

    @classmethod
    def terminate_all(cls, ptys: Sequence[PtyProcess]) -> None:
        """End all their trees in one escalation (the grace periods once, not once each)."""
        end_sessions({p.pid for p in ptys}, [p._popen for p in ptys if isinstance(p, cls)])
        super().terminate_all(ptys)  # each reaps its child and leaves the watchdog

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def exit_code(self) -> int | None:
        return self._popen.returncode if self._popen.returncode is not None else self._popen.poll()

    def close(self) -> None:
        self.terminate()
        with self._cond:
            if self._closing:
                return
            self._closing = True
            os.write(self._wake_w, b"x")
            # Free the descriptors only once no reader or writer can still be using them.
            self._cond.wait_for(lambda: self._users == 0)
            fds = [self._fd, self._wake_r, self._wake_w, self._pidfd]
            self._pidfd = None
        for fd in fds:
            if fd is not None:
                os.close(fd)

    @contextlib.contextmanager
    def _active(self) -> Iterator[None]:
        with self._cond:
            if self._closing:
                raise OSError(errno.EIO, "terminal is closed")
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()


# Every signal a child can be given starts at its default, unblocked, as terminal emulators
# start their shells: an ignored signal stays ignored across exec, and the processes a terminal
# is made in ignore some (ipykernel ignores SIGINT between cells; a server started by nohup, or
# with `&` from a script, ignores SIGHUP, or SIGINT and SIGQUIT): Ctrl-C or Ctrl-\ would do
# nothing to the terminal's programs, and a hang-up would not end them.
_CHILD_SIGNALS = tuple(sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}))


def _child_setup() -> None:
    """Runs in the child after setsid(), before exec: signals at their defaults; stdin (the pty
    slave) made the controlling terminal, so job control, ^C and SIGWINCH work."""
    for sig in _CHILD_SIGNALS:
        try:
            signal.signal(sig, signal.SIG_DFL)
        except OSError:  # one the C library keeps for itself
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def end_sessions(sids: set[int], children: Sequence[subprocess.Popen] = ()) -> None:
    """End every process of the sessions ``sids``: SIGHUP (twice), then SIGTERM, then SIGKILL.

    Every member counts, across all process groups: an interactive shell gives each
    background job a group of its own, and some jobs ignore SIGHUP. ``children``, our own
    children among them, are signalled while alive and reaped while we wait.
    """
    for sig, grace in ESCALATION:
        members = _session_members(*sids) | {c.pid for c in children if c.poll() is None}
        if not members:
            return
        for pid in members:
            _kill(pid, sig)
            if sig != signal.SIGKILL:
                _kill(pid, signal.SIGCONT)  # a stopped job only sees the signal once continued
        if _wait_gone(members, children, grace):
            return


def _session_members(*sids: int) -> set[int]:
    """Live processes whose session id is one of ``sids``."""
    if sys.platform.startswith("linux"):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    else:
        out = subprocess.run(["ps", "-A", "-o", "pid="], capture_output=True, text=True).stdout
        pids = [int(p) for p in out.split()]
    members = set()
    for pid in pids:
        try:
            if os.getsid(pid) in sids and _alive(pid):
                members.add(pid)
        except OSError:
            pass
    return members


def _wait_gone(pids: set[int], children: Sequence[subprocess.Popen], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        for child in children:
            child.poll()  # reap our own children so they do not linger as zombies
        if not any(_alive(p) for p in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
