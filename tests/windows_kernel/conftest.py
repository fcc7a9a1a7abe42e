"""A Linux Jupyter driving a Windows ipykernel under Wine (the kernelspec of tests/windows/wine_kernel.py).

These tests run on Linux, from ``bash tests/windows/run-under-wine.sh``, which prepares the
Windows Python (with ipykernel) and sets ``CONPTY_WINE_PYTHON`` to its ``python.exe`` and
``WINEPREFIX``. A plain ``pytest tests`` leaves this folder to that script (as it leaves
tests/windows); naming this folder without the script is a usage error, not a skip.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WINE_PYTHON = os.environ.get("CONPTY_WINE_PYTHON")

sys.path.insert(0, str(ROOT / "tests" / "windows"))
from wine_kernel import KERNEL_NAME, KERNEL_START, write_kernelspec  # noqa: E402

if not WINE_PYTHON:
    collect_ignore_glob = ["test_*.py"]
else:
    # the browser tests' server, Chromium and pages (tests/browser/conftest.py), for test_wine_browser
    from tests.browser.conftest import (  # noqa: F401
        app,
        browser,
        jupyter_server,
        notebook,
        page,
        pytest_runtest_makereport,
        save_state,
    )


def pytest_configure(config: pytest.Config) -> None:
    if WINE_PYTHON:
        return
    here = pathlib.Path(__file__).parent
    for arg in config.invocation_params.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == here or here in path.parents:
            raise pytest.UsageError(
                "tests/windows_kernel needs a Windows Python under Wine: run bash tests/windows/run-under-wine.sh"
            )


#: Wine's own processes, which outlive a kernel by 1-3 s and are not the terminal's.
WINE_HELPERS = {"wineserver", "wineserver64", "explorer.exe", "services.exe", "winedevice.exe", "plugplay.exe", "svchost.exe", "rpcss.exe"}


@pytest.fixture(scope="session", autouse=True)
def wine_kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The kernelspec, in a temporary folder put first on ``JUPYTER_PATH`` (also for a Jupyter server started later)."""
    jupyter_path = tmp_path_factory.mktemp("jupyter-path")
    write_kernelspec(jupyter_path, pathlib.Path(WINE_PYTHON), pathlib.Path(os.environ["WINEPREFIX"]), pythonpath=ROOT)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(jupyter_path), *([old] if old else [])])
    yield KERNEL_NAME
    if old is None:
        del os.environ["JUPYTER_PATH"]
    else:
        os.environ["JUPYTER_PATH"] = old


def start_wine_kernel():
    from harness.protocol_client import start_kernel

    # ready in 3-8 s on a loaded 2-core machine, 12 s on a new Wine prefix
    return start_kernel(KERNEL_NAME, startup_timeout=120)


@pytest.fixture(scope="module")
def kernel() -> Iterator[tuple[object, object]]:
    """A Windows ipykernel under Wine shared by a module's tests; yields (manager, client)."""
    km, kc = start_wine_kernel()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def kernel_unix_pid(km) -> int:
    """The Unix pid of the Windows python.exe behind the launcher: its session holds every
    Windows process the kernel starts (Wine does not give them sessions of their own)."""
    (child,) = psutil.Process(km.provisioner.process.pid).children()
    return child.pid


def session_processes(sid: int) -> list[psutil.Process]:
    """The processes of Unix session ``sid`` but Wine's helpers: the kernel and what it started."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if os.getsid(p.pid) != sid or p.status() == psutil.STATUS_ZOMBIE:
                continue
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
        name = (p.info["cmdline"] or [""])[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
        if name not in WINE_HELPERS:
            found.append(p)
    return found


def names(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            out.append(" ".join(p.cmdline()))
        except psutil.NoSuchProcess:
            pass
    return out


def wait_gone(probe, what: str, timeout: float = 30) -> None:
    """Poll ``probe()`` (a list of processes) until it is empty; a hang guard, not a timing check."""
    deadline = time.monotonic() + timeout
    while True:
        left = names(probe())
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still running after {timeout} s: {left}")
        time.sleep(0.2)
