"""The Windows lab stack under Wine: JupyterLab and Notebook 7 served by Windows CPython, Windows
ipykernels, the package installed from its wheel, Linux Chromium driving the page.

Run from ``bash tests/windows/run-under-wine.sh``, which prepares the stack (harness/wine_stack.py
says what it is and what Wine needs) and names it in the environment; on real Windows the same
tests run with the server on the machine's own Python (``CONPTY_STACK_NATIVE=1``, see
.github/workflows/windows.yml). A plain ``pytest tests`` leaves this folder to that script;
naming it without one is a usage error, not a skip.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Iterator

import pytest

from harness import wine_stack
from harness.jupyter_server import running_server
from tests.browser.jupyter_page import Server

STACK = wine_stack.configured()
NATIVE = sys.platform == "win32" and os.environ.get("CONPTY_STACK_NATIVE") == "1"
#: Under Wine (as opposed to real Windows), for the few facts of Wine's console the tests state.
WINE = STACK is not None

if STACK is None and not NATIVE:
    collect_ignore_glob = ["test_*.py"]
else:
    # the browser tests' Chromium, pages and report hook (tests/browser/conftest.py); the server is ours
    from tests.browser.conftest import app, browser, notebook, page, pytest_runtest_makereport  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    if STACK is not None or NATIVE:
        return
    here = pathlib.Path(__file__).parent
    for arg in config.invocation_params.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == here or here in path.parents:
            raise pytest.UsageError("tests/windows_stack needs the Windows stack: run bash tests/windows/run-under-wine.sh")


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab + Notebook 7 on Windows Python (under Wine, or this machine's on Windows)."""
    base = tmp_path_factory.mktemp("winstack")
    if STACK is not None:
        context = wine_stack.windows_server(base, *STACK)
    else:
        command = [sys.executable, "-m", "jupyter", "lab", "--LabApp.expose_app_in_browser=True",
                   "--JupyterNotebookApp.expose_app_in_browser=True"]  # fmt: skip
        context = running_server(base, command, timeout=240)
    with context as server:
        yield Server(server.url, server.token, server.root, (server.log,))
