"""The POSIX backend (``PosixPtyProcess``) with real programs in a real pty."""

import os
import signal
import sys

import pytest

from conpty_widget.backends.posix import PosixPtyProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pty")


def read_all(p: PosixPtyProcess) -> bytes:
    out = b""
    while chunk := p.read():
        out += chunk
    return out


def test_backend_runs_child_with_size_env_and_exit_code(tmp_path):
    p = PosixPtyProcess.spawn(
        ["sh", "-c", 'stty size; pwd; echo "$GREETING"; exit 3'],
        cwd=str(tmp_path),
        env={"PATH": os.environ["PATH"], "GREETING": "héllo"},
        rows=30,
        cols=100,
    )
    out = read_all(p)
    assert p.wait(5) == 3 and p.exit_code == 3
    assert out.split(b"\r\n")[:3] == [b"30 100", str(tmp_path).encode(), "héllo".encode()]
    p.close()


def test_backend_rejects_bad_sizes_and_missing_program():
    with pytest.raises(FileNotFoundError, match="no-such-program-xyz"):
        PosixPtyProcess.spawn(["no-such-program-xyz"])
    for rows, cols in [(0, 80), (24, -1), (24, 10**6), ("24", 80), (True, 80)]:
        with pytest.raises(ValueError):
            PosixPtyProcess.spawn(["true"], rows=rows, cols=cols)


def test_child_leads_its_own_session_with_a_controlling_tty():
    p = PosixPtyProcess.spawn(["sh", "-c", "tty; ps -o sid= -p $$; ps -o tty= -p $$"])
    lines = read_all(p).decode().split()
    p.close()
    assert lines[0].startswith("/dev/pts/")
    assert int(lines[1]) == p.pid
    assert lines[2] == lines[0][len("/dev/"):]


@pytest.fixture
def kernel_like_signals():
    """The spawning process as a kernel can be: SIGINT ignored (ipykernel between cells), SIGHUP
    and SIGQUIT ignored (a server started by nohup, or with `&` from a script), SIGUSR1 blocked."""
    ignored = (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in ignored}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_child_starts_with_every_signal_at_its_default(kernel_like_signals):
    p = PosixPtyProcess.spawn(["cat", "/proc/self/status"])
    status = dict(line.split(":\t", 1) for line in read_all(p).decode().splitlines() if ":\t" in line)
    p.close()
    assert int(status["SigIgn"], 16) == 0 and int(status["SigBlk"], 16) == 0


def test_ctrl_c_and_a_hang_up_reach_a_child_of_a_process_that_ignores_them(kernel_like_signals):
    p = PosixPtyProcess.spawn(["sleep", "100"])
    p.write(b"\x03")
    assert p.wait(10) == -signal.SIGINT
    p.close()
    p = PosixPtyProcess.spawn(["sleep", "100"])
    p.terminate()  # SIGHUP first; SIGTERM only after a grace period
    assert p.exit_code == -signal.SIGHUP
    p.close()
