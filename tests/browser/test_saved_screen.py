"""The saved screen in a real browser (JupyterLab 4, Notebook 7): a notebook run headless and saved shows
the terminal's last screen without its kernel, an open view keeps the saved widget state current, and
a terminal that ends after the page was reloaded still becomes its last screen in the saved notebook."""

from __future__ import annotations

import os
import pathlib
import shutil

import nbclient
import nbformat
import pytest

from harness.wait import poll

from . import page_scenarios as scenario
from .conftest import CHROMIUM
from .jupyter_page import BASH, IMPORT, Notebook, Server, saved_notebook, terminal_states

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


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
    scenario.the_saved_screen_shows_without_the_kernel(page, jupyter_server, scenario.BASH_SHELL)


def saved_outputs(path) -> list[dict]:
    """The outputs of a notebook file's first cell."""
    return saved_notebook(path)["cells"][0]["outputs"]


@pytest.mark.timeout(300)  # two page loads, a reload, two saves
@pytest.mark.parametrize("saving", ["without-state", "with-state"])
def test_a_terminal_ended_after_a_reload_keeps_its_last_screen(request, page, jupyter_server: Server, app: str, saving) -> None:
    """Save, reload (the output now comes from the file: no display id), end, save, reopen with no
    kernel: the output is the last screen, in JupyterLab and Notebook 7, with widget state or not."""
    if saving == "with-state":
        request.getfixturevalue("save_state")
    notebook = Notebook(page, jupyter_server, app)
    path = jupyter_server.notebook(f"reload-{app}-{saving}", f"{IMPORT}\nt = {BASH}\nt")
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    term.click()
    term.run("echo before-$((6*7))")
    term.wait_for(r"(?m)^before-42$")
    file = jupyter_server.root / path

    def saved(check) -> bool:
        notebook.command("docmanager:save")
        outputs = saved_outputs(file)
        return bool(outputs) and check(outputs[0])

    poll("the notebook saved with the live view", lambda: saved(lambda o: WIDGET_VIEW in o.get("data", {})), interval=1.0)
    notebook.reload_and_restore_widgets()
    term = notebook.terminal()  # the output loaded from the file, its view on the same kernel
    term.wait_for(r"(?m)^before-42$")
    term.click()
    term.run("exit")
    poll("the output to become the last screen", lambda: "process exited with code 0" in notebook.last_screen())

    def ended(output: dict) -> bool:
        html = "".join(output.get("data", {}).get("text/html", ""))
        return WIDGET_VIEW not in output["data"] and "before-42" in html and "process exited with code 0" in html

    poll("the notebook saved with the last screen", lambda: saved(ended), interval=1.0)
    jupyter_server.shutdown_kernels()
    # Reopened with no kernel of its own yet: the last screen, not "model not found".
    page.goto("about:blank")
    notebook.open(path)
    assert "process exited with code 0" in notebook.last_screen() and "before-42" in notebook.last_screen()
    assert "model not found" not in page.locator(".jp-OutputArea-output").first.inner_text()


@pytest.mark.parametrize("name", ["getting-started", "lesson"])
def test_a_shipped_notebook_opens_unmodified_and_its_first_output_invites(page, jupyter_server: Server, app: str, name) -> None:
    """The first minute: the notebook as `./dev demo` opens it, before any cell runs."""
    shutil.copy(NOTEBOOKS / f"{name}.ipynb", jupyter_server.root / f"{name}-{app}.ipynb")
    notebook = Notebook(page, jupyter_server, app)
    notebook.open(f"{name}-{app}.ipynb")  # its kernel connected and idle: the metadata it brings is in
    first = page.locator(".jp-OutputArea-output").first
    poll("the first output", lambda: "This terminal has ended: run the notebook" in first.inner_text())
    assert "model not found" not in first.inner_text()
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty") is False
