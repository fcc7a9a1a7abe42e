"""Fixtures for the browser tests: one Jupyter server, one Chromium, a page per test.

The server is ``jupyter lab`` with the Notebook 7 and Voilà server extensions loaded too, so
one process serves ``/lab``, ``/notebooks`` and ``/voila``. Everything it writes goes to a
temp dir; it runs in its own process group, which is ended (with its kernels) at the end.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from harness.jupyter_server import running_server

from .jupyter_page import Notebook, Server

# Debian's Chromium; elsewhere (the hosted Windows runners: their Chrome) CONPTY_CHROMIUM names one.
CHROMIUM = os.environ.get("CONPTY_CHROMIUM", "/usr/bin/chromium")
OUTPUT = pathlib.Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab + Notebook 7 + Voilà on 127.0.0.1 for the whole session (log: server.log beside it)."""
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
    ]  # fmt: skip
    with running_server(tmp_path_factory.mktemp("jupyter"), command) as server:
        yield Server(server.url, server.token, server.root, (server.log,))


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
    server = getattr(item, "funcargs", {}).get("jupyter_server")
    if report.failed and isinstance(server, Server):
        for log in server.logs:
            report.sections.append((f"end of {log.name}", log.read_text(errors="replace")[-6000:]))
    return report


@contextlib.contextmanager
def watched_page(request: pytest.FixtureRequest, context: Any, marks: tuple[str, ...] = ("blob:",)) -> Iterator[Any]:
    """A new page of ``context`` for the test of ``request``; afterwards, if the test failed, a
    screenshot and the logged errors of each page the context opened, the context closed, and a
    failure if our front end threw: anywidget imports it from a blob: URL, so its errors name one
    in their stack (``marks``; the hosts have harmless errors of their own)."""
    context.set_default_timeout(30_000)
    watched: list[tuple[Any, list[str], list[str]]] = []  # each page, its errors, its console

    def watch(page: Any) -> None:
        if any(page is p for p, _, _ in watched):
            return
        errors: list[str] = []
        console: list[str] = []  # warnings and errors the page logged, shown if the test fails
        page.on("pageerror", lambda exc: errors.append(exc.stack or exc.message))
        page.on("console", lambda msg: msg.type in ("warning", "error") and console.append(f"{msg.type}: {msg.text}"))
        watched.append((page, errors, console))

    context.on("page", watch)  # pages a test opens itself
    page = context.new_page()
    watch(page)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        OUTPUT.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for n, (each, errors, console) in enumerate(watched, 1):
            print(f"page {n}: {each.url}")
            try:
                each.screenshot(path=str(OUTPUT / f"FAILED-{name}{'' if n == 1 else f'-page{n}'}.png"))
            except Exception as exc:  # the page may be what broke
                print(f"no screenshot: {exc}")
            if errors:
                print("page errors:", *errors, sep="\n  ")
            if console:
                print("console warnings and errors (the last 40):", *console[-40:], sep="\n  ")
    context.close()
    ours = [e for _, errors, _ in watched for e in errors if any(mark in e for mark in marks)]
    if ours:
        pytest.fail("the terminal's front end threw:\n" + "\n".join(ours))


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, jupyter_server: Server) -> Iterator[object]:
    """A fresh page (own context, clipboard allowed); screenshot on failure; kernels shut down after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=jupyter_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=jupyter_server.url)
    try:
        with watched_page(request, context) as page:
            yield page
    finally:
        jupyter_server.shutdown_kernels()


@pytest.fixture(params=["lab", "notebook"])
def app(request: pytest.FixtureRequest) -> str:
    """Each test runs in JupyterLab 4 and in Notebook 7."""
    return request.param


@pytest.fixture
def notebook(page, jupyter_server: Server, app: str) -> Notebook:
    return Notebook(page, jupyter_server, app)


@pytest.fixture
def save_state(jupyter_server: Server) -> Iterator[None]:
    """JupyterLab saves (and restores) widget state with notebooks, as users may set it to."""
    settings = jupyter_server.root.parent / "settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True, exist_ok=True)
    path = settings / "plugin.jupyterlab-settings"
    path.write_text('{"saveState": true}')
    yield
    path.unlink()
