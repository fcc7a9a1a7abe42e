"""The size rule in a real page (JupyterLab 4): a size set from Python is kept and the box follows
it (no row or column outside the box, no scrollbar); ``fit()`` gives the box back the say."""

from __future__ import annotations

import os

import pytest

from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import BASH, IMPORT, LAYOUT, Notebook

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")


@pytest.mark.parametrize("app", ["lab"])
def test_a_size_from_python_is_kept_and_the_box_follows_it(notebook: Notebook) -> None:
    shell = BASH[:-1] + ", cols=40)"
    path = notebook.server.notebook("sizes", f"{IMPORT}\nt = {shell}\nt", "t.resize(40, 80)", "t.fit()")
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    assert term.js("return [term.rows, term.cols]") == [24, 40], "shown at the columns asked for"
    box = term.js("return term.element.parentElement.getBoundingClientRect().width")
    cell = term.js("return term._core._renderService.dimensions.css.cell.width")
    assert box < 40 * cell + 14 + 12, "the box is as wide as 40 columns, not the page"
    assert notebook.page.evaluate(LAYOUT, 0) == []
    notebook.run_cell(1)
    poll("the view to follow resize()", lambda: term.js("return [term.rows, term.cols]") == [40, 80])
    poll("the box to hold 40 rows", lambda: notebook.page.evaluate(LAYOUT, 0) == [])
    term.click()
    term.run("stty size")
    term.wait_for(r"(?m)^40 80$")
    notebook.run_cell(2)
    poll("the columns to fit the page again", lambda: term.js("return term.cols") > 100)
    term.click()
    term.run("stty size")
    term.wait_for(rf"(?m)^40 {term.js('return term.cols')}$")
    assert notebook.page.evaluate(LAYOUT, 0) == []
