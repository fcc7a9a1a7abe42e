"""Terminal("cmd.exe") in a Windows kernel under Wine, in JupyterLab 4 and Notebook 7 (Chromium):
render, type, focus changes, interrupt of a busy cell while typing, reload, exit, saved screen.

The page, server and browser fixtures are those of tests/browser; only the kernel differs.
"""

from __future__ import annotations

import os

from tests.browser.conftest import CHROMIUM
from tests.browser.jupyter_page import Notebook, TermView, poll, terminal_states

from .conftest import KERNEL_NAME

# Not a skip: a missing Chromium is a broken set-up here (./dev test installs it).
assert os.path.exists(CHROMIUM), f"the browser tests need Debian's chromium at {CHROMIUM}"

CMD = "from conpty_widget import Terminal\nt = Terminal('cmd.exe')\nt"
PROMPT = r">$"


def start(notebook: Notebook, name: str, *cells: str) -> TermView:
    path = notebook.server.notebook(f"{name}-{notebook.app}", CMD, *cells, kernel=KERNEL_NAME)
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for(PROMPT, timeout=60)
    term.click()
    return term


def test_cmd_renders_takes_keys_and_exits(notebook: Notebook) -> None:
    term = start(notebook, "wine-render")
    assert notebook.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name") == KERNEL_NAME
    term.run("echo hi-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^hi-cmd\.exe$")
    # Focus leaves the terminal and comes back: no focus report may reach cmd.exe as text
    # (Wine's conhost never asks for them; Windows' ConPTY asks, and consumes them).
    notebook.page.locator(".jp-InputArea-editor").first.click()
    term.click()
    term.run("echo focus-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^focus-cmd\.exe$")
    assert "[I" not in term.text() and "[O" not in term.text(), term.text()
    # Backspace: xterm.js sends DEL
    term.type("echo bx")
    notebook.page.keyboard.press("Backspace")
    term.run("s-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^bs-cmd\.exe$")
    term.run("exit 3")
    assert "[process exited with code 3]" in notebook.last_screen()  # the output is the last screen now


def test_interrupting_a_busy_cell_while_typing(notebook: Notebook) -> None:
    term = start(notebook, "wine-interrupt", "import time\nprint('sleeping')\ntime.sleep(120)")
    notebook.run_cell(1)
    output = notebook.page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    poll("the busy cell to start", lambda: "sleeping" in output.inner_text(), timeout=60)
    term.click()
    term.run("echo busy-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^busy-cmd\.exe$")
    term.type("echo typed-before-")
    notebook.command("notebook:interrupt-kernel")
    poll("the cell to be interrupted", lambda: "KeyboardInterrupt" in output.inner_text(), timeout=60)
    # The interrupt reached the kernel, not the shell: the half-typed line goes on.
    term.click()
    term.run("interrupt-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^typed-before-interrupt-cmd\.exe$")


def test_reload_restores_the_screen(notebook: Notebook) -> None:
    term = start(notebook, "wine-reload")
    term.run("echo first-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^first-cmd\.exe$")
    notebook.command("docmanager:save")
    poll("the notebook to be saved", lambda: notebook.page.evaluate(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
    ))  # fmt: skip
    notebook.page.reload()
    notebook.wait_idle()
    view = notebook.terminal()
    view.wait_for(r"(?m)^first-cmd\.exe$")
    view.click()
    view.run("echo reloaded-%COMSPEC:~-7%")
    view.wait_for(r"(?m)^reloaded-cmd\.exe$")


def test_the_saved_screen_shows_without_the_kernel(page, jupyter_server, save_state) -> None:
    """As tests/browser/test_saved_screen.py, in JupyterLab: saved with widget state, the notebook
    shows the terminal's last screen once its kernel is gone."""
    notebook = Notebook(page, jupyter_server, "lab")
    path = jupyter_server.notebook("wine-saved", CMD, kernel=KERNEL_NAME)
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for(PROMPT, timeout=60)
    term.click()
    term.run("echo saved-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^saved-cmd\.exe$")

    def saved() -> bool:
        notebook.command("docmanager:save")
        try:
            return any("saved-cmd.exe" in s["_snapshot"] for s in terminal_states(jupyter_server.root / path))
        except KeyError:  # not saved with widget state yet
            return False

    poll("the saved widget state to hold the typed line", saved, timeout=30, interval=1.0)
    jupyter_server.shutdown_kernels()
    page.reload()
    output = page.locator(".jp-OutputArea-output").first
    poll("the saved screen in the output", lambda: "saved-cmd.exe" in output.inner_text(), timeout=60)
