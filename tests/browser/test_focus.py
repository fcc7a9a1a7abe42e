"""Keyboard users leave a focused terminal with Shift+Esc (JupyterLab and Notebook 7, in Chromium)."""

from __future__ import annotations

import os

import pytest

from .conftest import CHROMIUM
from .jupyter_page import Notebook, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

# Whether the focus is in terminal k (its xterm textarea), and the tooltip of its title bar.
_FOCUS = """(k) => {
  const el = document.querySelectorAll('.conpty-widget')[k];
  return { inside: el.contains(document.activeElement), tooltip: el.parentElement.querySelector('.conpty-title').title };
}"""


def test_shift_esc_gives_the_focus_back_to_the_notebook(notebook: Notebook) -> None:
    term = start(notebook, "focus", "x = 1")
    keyboard = notebook.page.keyboard
    # cat -A shows every byte the pty gets; keys wait for the tty to be cooked.
    term.run("echo ready-$((1+2)); cat -A")
    term.wait_for(r"(?m)^ready-3$")
    before = notebook.state()
    keyboard.press("Escape")  # the terminal's: vi and readline need it
    assert notebook.page.evaluate(_FOCUS, 0)["inside"]
    keyboard.press("Shift+Escape")
    focus = notebook.page.evaluate(_FOCUS, 0)
    assert not focus["inside"] and "Leave the terminal: Shift+Esc." in focus["tooltip"]
    # The terminal's cell is the notebook's active cell, in command mode: its keys work again.
    assert notebook.state() == {**before, "mode": "command", "active": 0}
    keyboard.press("b")  # command mode: a new cell below the terminal's
    assert notebook.state()["cells"] == before["cells"] + 1
    # Back in the terminal: the pty got the Esc, and nothing of the chord.
    term.click()
    keyboard.press("x")
    keyboard.press("Enter")
    term.wait_for(r"(?m)^\^\[x\$$")
    keyboard.press("Control+C")
    term.wait_for_prompt()
