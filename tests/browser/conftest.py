"""Fixtures for the browser tests: one Jupyter server, one Chromium, a page per test.

The server is ``jupyter lab`` with the Notebook 7 and Voilà server extensions loaded too, so
one process serves ``/lab``, ``/notebooks`` and ``/voila``. Everything it writes goes to a
temp dir; it runs in its own process group, which is ended (with its kernels) at the end.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from .jupyter_page import Notebook, Server

CHROMIUM = "/usr/bin/chromium"
OUTPUT = pathlib.Path(__file__).resolve().parents[2] / "test-output"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab + Notebook 7 + Voilà on 127.0.0.1 for the whole session (log: server.log beside it)."""
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    dirs = {name: base / name for name in ("config", "runtime", "settings", "workspaces", "ipython")}
    for d in (root, *dirs.values()):
        d.mkdir()
    # The "Jupyter news" pop-up would cover outputs.
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }
    port, token = _free_port(), secrets.token_hex(16)
    argv = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = open(base / "server.log", "wb")
    proc = subprocess.Popen(argv, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, root)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {(base / 'server.log').read_text()[-3000:]}")
            try:
                server.api("GET", "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("jupyter server did not answer /api/status in 60 s") from None
                time.sleep(0.2)
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (whose own browser download cannot work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],  # fmt: skip
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, jupyter_server: Server) -> Iterator[object]:
    """A fresh page (own context, clipboard allowed); screenshot on failure; kernels shut down after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=jupyter_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=jupyter_server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(exc.stack or exc.message))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        OUTPUT.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(OUTPUT / f"FAILED-{name}.png"))
        except Exception as exc:  # the page may be what broke
            print(f"no screenshot: {exc}")
        if errors:
            print("page errors:", *errors, sep="\n  ")
    context.close()
    jupyter_server.shutdown_kernels()
    # anywidget imports our front end from a blob: URL, so its errors name one in their stack
    # (JupyterLab and Notebook 7 have harmless errors of their own).
    ours = [e for e in errors if "blob:" in e]
    if ours:
        pytest.fail("the terminal's front end threw:\n" + "\n".join(ours))


@pytest.fixture(params=["lab", "notebook"])
def app(request: pytest.FixtureRequest) -> str:
    """Each test runs in JupyterLab 4 and in Notebook 7."""
    return request.param


@pytest.fixture
def notebook(page, jupyter_server: Server, app: str) -> Notebook:
    return Notebook(page, jupyter_server, app)
