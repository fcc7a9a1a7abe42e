"""A terminal closed from another cell stays in the notebook as its last screen, in JupyterLab 4
and Notebook 7, and so it is saved, without widget state (an exit in the view: test_browser.py)."""

from __future__ import annotations

import os

import pytest

from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import Notebook, saved_notebook, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

VIEW = "application/vnd.jupyter.widget-view+json"


def saved_outputs(notebook: Notebook, name: str) -> list[dict]:
    notebook.command("docmanager:save")
    path = notebook.server.root / name

    def first_cell() -> list[dict] | None:
        outputs = saved_notebook(path)["cells"][0]["outputs"]
        return outputs if outputs and VIEW not in outputs[0].get("data", {}) else None

    return poll("the saved notebook to hold the last screen", first_cell)


def test_close_in_another_cell_leaves_the_last_screen(notebook: Notebook) -> None:
    term = start(notebook, "close-later", "t.close()")
    term.run("echo before-close-$((6*7))")
    term.wait_for(r"(?m)^before-close-42$")
    notebook.run_cell(1)
    text = notebook.last_screen()
    assert notebook.page.locator(".conpty-widget").count() == 0
    assert "before-close-42" in text and "[process hung up (SIGHUP)]" in text
    (out,) = saved_outputs(notebook, f"close-later-{notebook.app}.ipynb")
    assert "before-close-42" in "".join(out["data"]["text/html"])
    # Reopened with no kernel and no widget state (the default), the output is still the screen.
    notebook.server.shutdown_kernels()
    notebook.page.reload()
    poll("the saved screen", lambda: "before-close-42" in notebook.last_screen())

