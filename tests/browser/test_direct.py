"""The two transports in a real page: views take the direct path where the server companion
runs, keep typing through a busy cell even without subshells, and use the comm where the
companion is absent."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from harness.jupyter_server import running_server
from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import Notebook, Server, TermView, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

# Comm messages go to the kernel's main shell, as in hosts without subshells (nbclassic, ipykernel 6).
NO_SUBSHELLS = {"@jupyterlab/apputils-extension/kernels": {"commsOverSubshells": "disabled"}}


def lab_server(tmp_path_factory: pytest.TempPathFactory, name: str, **options) -> Iterator[Server]:
    command = [sys.executable, "-m", "jupyter", "lab", "--LabApp.expose_app_in_browser=True"]
    with running_server(tmp_path_factory.mktemp(name), command, **options) as server:
        yield Server(server.url, server.token, server.root, (server.log,))


@pytest.fixture(scope="module")
def server_without_subshells(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from lab_server(tmp_path_factory, "nosubshells", settings=NO_SUBSHELLS)


@pytest.fixture(scope="module")
def server_without_companion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from lab_server(tmp_path_factory, "nocompanion", settings=NO_SUBSHELLS, disabled_extensions=["conpty_widget"])


def path_of(term: TermView) -> str:
    return term.page.evaluate("(k) => document.querySelectorAll('.conpty-widget')[k].dataset.path", term.k)


def output_of_cell(notebook: Notebook, index: int) -> str:
    return notebook.page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def test_views_take_the_direct_path(notebook: Notebook) -> None:
    term = start(notebook, "direct", "print(sorted(set(t.transports.values())), len(t.transports))")
    poll("the direct path", lambda: path_of(term) == "direct")
    term.run("echo direct-$((6*7))")
    term.wait_for(r"(?m)^direct-42$")
    notebook.run_cell(1)
    poll("the kernel's view of the paths", lambda: "['direct'] 1" in output_of_cell(notebook, 1))


def test_typing_through_a_busy_cell_without_subshells(page, server_without_subshells: Server) -> None:
    """Comm messages wait behind a busy cell here; the direct path does not."""
    notebook = Notebook(page, server_without_subshells, "lab")
    term = start(notebook, "busy", "import time\ntime.sleep(60)")
    poll("the direct path", lambda: path_of(term) == "direct")
    notebook.run_cell(1)
    busy = lambda: "*" in notebook.page.locator(".jp-InputPrompt").nth(1).inner_text()  # noqa: E731
    poll("the cell to run", busy)
    term.click()
    term.run("echo busy-$((20+22))")
    term.wait_for(r"(?m)^busy-42$", timeout=20)
    assert busy(), "the echo must come while the cell still runs"
    server_without_subshells.shutdown_kernels()


def test_without_the_companion_views_use_the_comm(page, server_without_companion: Server) -> None:
    notebook = Notebook(page, server_without_companion, "lab")
    term = start(notebook, "comm", "print(sorted(set(t.transports.values())))")
    poll("the comm path", lambda: path_of(term) == "comm")
    term.run("echo comm-$((6*7))")
    term.wait_for(r"(?m)^comm-42$")
    notebook.run_cell(1)
    poll("the kernel's view of the paths", lambda: "['comm']" in output_of_cell(notebook, 1))
    server_without_companion.shutdown_kernels()


def test_after_a_kernel_restart_the_view_says_it_is_disconnected(notebook: Notebook) -> None:
    term = start(notebook, "restart")
    term.run("echo before-$((6*7))")
    term.wait_for(r"(?m)^before-42$")
    notebook.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    notebook.wait_idle()
    term.click()
    term.type("x")  # on the comm path the first key finds the kernel gone; on the direct path its socket closed
    poll("the disconnected state", lambda: path_of(term) == "disconnected")
    assert "conpty-disconnected" in term.locator.get_attribute("class")
    assert term.js("return term.options.disableStdin;")
    term.type("more keys")  # nothing throws (the page fixture fails on our errors)
    term.wait_for(r"(?m)^before-42$")  # the screen stays


def test_two_views_answer_a_terminal_query_once(notebook: Notebook) -> None:
    """A program asking for the cursor position (ESC [ 6 n) gets one answer, as from a real terminal."""
    term = start(notebook, "query", "t")
    notebook.run_cell(1)
    second = notebook.terminal(1)
    second.wait_for_prompt()
    poll("the kernel to name one answerer", lambda: notebook.page.evaluate(
        "() => document.querySelectorAll('.conpty-widget').length") == 2)  # fmt: skip
    term.click()
    # read -t saves what came before its timeout: every answer the views sent, in %q form.
    term.run("printf '\\033[6n'; IFS= read -rs -t 2 -d '' got; printf 'got=%q\\n' \"$got\"")
    match = term.wait_for(r"(?m)^got=(.*)$", timeout=20)
    assert match.group(1).count("R") == 1, match.group(1)
