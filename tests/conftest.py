import os
import sys

import pytest

POSIX = sys.platform != "win32"
PROMPT = r"\$ $"


def bash_argv() -> list[str]:
    return ["bash", "--norc", "--noprofile"]


@pytest.fixture
def shell():
    """A headless Session running bash with a plain ``$ `` prompt, closed afterwards."""
    from conpty_widget.session import Session

    s = Session(bash_argv(), env={"PS1": "$ ", "HISTFILE": os.devnull})
    s.expect(PROMPT, timeout=10)
    yield s
    s.close()


@pytest.fixture(scope="module")
def kernel():
    """A real ipykernel (jupyter_client), shared by a module's tests; yields (manager, client)."""
    from harness.protocol_client import start_kernel

    km, kc = start_kernel()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=False)


# tests/windows is the Windows suite: it runs under a Windows Python (tests/windows/run-under-wine.sh).
collect_ignore = ["windows"] if sys.platform != "win32" else []
