"""The terminal follows JupyterLab's theme and code font, live (js/src/theme.ts). The view is
rendered before JupyterLab puts it in the page, where no style applies: the font must be read
once it is there (other hosts' themes: hosts/)."""

from __future__ import annotations

import os

import pytest

from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import Notebook, TermView, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

# What JupyterLab's theme says, read on the page, and what the terminal shows.
_LOOK = """(k) => {
  const el = document.querySelectorAll('.conpty-widget')[k];
  const css = (name) => getComputedStyle(el).getPropertyValue(name).trim();
  const probe = document.createElement('div');
  probe.style.background = 'var(--jp-layout-color0)';
  el.parentElement.appendChild(probe);
  const jupyter = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return {
    light: document.body.dataset.jpThemeLight === 'true',
    codeFont: css('--jp-code-font-family'),
    jupyter,
    font: el.conptyTerminal.options.fontFamily,
    painted: getComputedStyle(el.querySelector('.xterm-scrollable-element')).backgroundColor,
    box: getComputedStyle(el).backgroundColor,
  };
}"""


def _look(term: TermView) -> dict:
    return term.page.evaluate(_LOOK, term.k)


def _dark(rgb: str) -> bool:
    return sum(int(v) for v in rgb[rgb.index("(") + 1 : -1].split(",")[:3]) < 3 * 80


@pytest.mark.parametrize("app", ["lab"])
def test_follows_the_jupyterlab_theme_and_code_font(notebook: Notebook) -> None:
    """The code font from the start; the dark theme's colours and another code font as soon as
    they are switched to, without a re-render."""
    term = start(notebook, "theme")
    look = _look(term)
    assert look["codeFont"] and look["font"] == look["codeFont"], look
    assert look["painted"] == look["jupyter"] == look["box"] and not _dark(look["painted"]), look

    def switch(command: str, args: dict) -> None:
        notebook.page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)", [command, args])

    try:
        switch("apputils:change-theme", {"theme": "JupyterLab Dark"})
        dark = poll("the terminal to turn dark", lambda: c if not (c := _look(term))["light"] and _dark(c["painted"]) else None)
        assert dark["painted"] == dark["jupyter"] == dark["box"], dark
        switch("apputils:change-font", {"enabled": True, "key": "code-font-family", "font": "'Liberation Mono', monospace"})
        font = poll("the terminal to take the new code font", lambda: c if "Liberation" in (c := _look(term))["font"] else None)
        assert font["font"] == font["codeFont"], font
    finally:  # the theme and the font are settings of the server, shared by the next tests
        switch("apputils:change-font", {"enabled": True, "key": "code-font-family", "font": None})
        switch("apputils:change-theme", {"theme": "JupyterLab Light"})
    poll("the terminal to turn light again", lambda: not _dark(_look(term)["painted"]))
    term.run("echo still-$((6*7))")
    term.wait_for(r"(?m)^still-42$")
