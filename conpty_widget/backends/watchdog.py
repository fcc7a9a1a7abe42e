"""A per-kernel watchdog that ends terminal sessions when the kernel dies without cleaning up.

``close()``, comm close and kernel shutdown end a terminal's processes from inside the
kernel (``atexit`` covers the last). Nothing in the kernel runs when it is killed with
SIGKILL (or crashes), so its terminals would be left running. The watchdog covers that:

* On the first ``spawn``, the POSIX backend starts one helper process per kernel and keeps
  the write end of a pipe to its stdin. Each terminal's session id is registered
  (``+sid``) when it starts and unregistered (``-sid``) once the backend has ended it.
* The helper reads the pipe. End-of-file means the kernel is gone (or exited: then nothing
  is registered any more): it ends every process of every registered session, with the
  backend's own HUP -> TERM -> KILL escalation over session members, and exits.

Why not ``PR_SET_PDEATHSIG``: it is delivered when the *thread* that forked the child exits,
not the process, and terminals are created from whatever thread runs the cell (ipykernel
subshells run cells on their own threads); it only reaches the direct child, not a
``sleep 1000 &`` with a process group of its own or a job that ignores SIGHUP; and it is
Linux-only. The helper sees the whole session, like ``close()`` does.

The helper leads its own session, so signals to the kernel's process group (interrupt,
``killpg`` on shutdown) do not reach it. Known limit: a process forked from the kernel
without exec (``multiprocessing`` with "fork") inherits the pipe's write end, so the helper
then waits for that process too before it acts. A session is unregistered once ``terminate()``
has ended it (the session's reader always calls it when the child exits), so the helper only
signals ids of sessions that were still running when the kernel died.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_helper: subprocess.Popen | None = None
_registered: set[int] = set()  # session ids alive in this kernel, re-sent to a restarted helper


def register(sid: int) -> None:
    """Have the helper end session ``sid`` if this process dies; starts the helper lazily."""
    with _lock:
        _registered.add(sid)
        _send(f"+{sid}\n")


def unregister(sid: int) -> None:
    """Session ``sid`` has been ended by the backend: forget it."""
    with _lock:
        if sid in _registered:
            _registered.discard(sid)
            _send(f"-{sid}\n")


def helper_pid() -> int | None:
    """Process id of this process's helper, if one is running (for tests)."""
    with _lock:
        return _helper.pid if _helper is not None and _helper.poll() is None else None


def _send(line: str) -> None:
    """Write one line to the helper (lock held); (re)start it if needed. Never raises."""
    global _helper
    for _attempt in range(2):
        restarted = False
        if _helper is None or _helper.poll() is not None:
            try:
                _helper = _start()
            except OSError:
                log.warning("conpty_widget: cannot start the watchdog; terminals may outlive a killed kernel",
                            exc_info=True)
                _helper = None
                return
            restarted = True
        try:
            # A restarted helper learns every live session, which includes this line's.
            data = "".join(f"+{s}\n" for s in _registered) if restarted else line
            if data:
                stdin = _helper.stdin
                assert stdin is not None  # started with stdin=PIPE
                stdin.write(data.encode())
                stdin.flush()
            return
        except (BrokenPipeError, ValueError, OSError):
            _helper = None  # it died (someone killed it): start a new one once
    log.warning("conpty_widget: the watchdog keeps failing; terminals may outlive a killed kernel")


def _start() -> subprocess.Popen:
    # Run this file's main() without importing the conpty_widget package (which pulls in
    # anywidget and ipywidgets): a stub package whose __path__ is the real one lets
    # `conpty_widget.backends` (stdlib-only) be imported on its own.
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('conpty_widget')\n"
        f"pkg.__path__ = [{package_dir!r}]\n"
        "sys.modules['conpty_widget'] = pkg\n"
        "from conpty_widget.backends.watchdog import main\n"
        "main()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-I", "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
        bufsize=0,
    )


def main() -> None:
    """The helper: track registrations on stdin; at end-of-file, end every registered session."""
    from .posix import end_sessions

    # Ignore terminal and interrupt signals: only the pipe's end-of-file tells us to act.
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    sessions: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if line[:1] in (b"+", b"-") and line[1:].isdigit():
            (sessions.add if line[:1] == b"+" else sessions.discard)(int(line[1:]))
    # The kernel is gone: end every registered session, as the backend's terminate() does one.
    end_sessions(sessions)
