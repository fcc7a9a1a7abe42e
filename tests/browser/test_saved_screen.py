"""The saved screen in a real browser (JupyterLab 4): a notebook run headless and saved shows the
terminal's last screen without its kernel, and an open view keeps the saved widget state current."""

from __future__ import annotations

import os

import nbclient
import nbformat
import pytest

from .conftest import CHROMIUM
from .jupyter_page import BASH, Notebook, Server, poll, terminal_states

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")


def test_a_notebook_saved_with_widget_state_shows_the_last_screen(page, jupyter_server: Server, save_state) -> None:
    # Run headless (nbclient, as `jupyter nbconvert --execute` does), keeping the widget state.
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"from conpty_widget import Terminal\nt = {BASH}\nt.run('echo saved-$((6*7))')\nt")]
    nbclient.NotebookClient(nb, kernel_name="python3", store_widget_state=True).execute()
    path = jupyter_server.root / "saved-state.ipynb"
    nbformat.write(nb, path)
    (state,) = terminal_states(path)
    assert "saved-42" in state["_snapshot"]
    # Opened again, the kernel that ran it is gone: the output still shows the screen (JupyterLab
    # shows the output's HTML when it does not restore the widget; a restored view paints the
    # widget state's snapshot: either way, the text is there).
    notebook = Notebook(page, jupyter_server, "lab")
    notebook.open(path.name)
    output = page.locator(".jp-OutputArea-output").first
    poll("the saved screen in the output", lambda: "saved-42" in output.inner_text())


def test_an_open_view_keeps_the_saved_screen_current(page, jupyter_server: Server, save_state) -> None:
    notebook = Notebook(page, jupyter_server, "lab")
    path = jupyter_server.notebook("live-state", f"from conpty_widget import Terminal\nt = {BASH}\nt")
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    term.click()
    # Typed in the page: the kernel never looks at this screen, the view saves it.
    term.run("echo typed-$((6*7))")
    term.wait_for(r"(?m)^typed-42$")

    def saved() -> bool:
        notebook.command("docmanager:save")
        try:
            return any("typed-42" in s["_snapshot"] for s in terminal_states(jupyter_server.root / path))
        except KeyError:  # not saved with widget state yet
            return False

    poll("the saved widget state to hold the typed line", saved, timeout=30, interval=1.0)
