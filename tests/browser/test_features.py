"""What the view adds to a terminal, in a real browser: the WebGL renderer and its budget, the
find bar, OSC 52 and the clipboard options, sixel images, title, bell, progress and zoom. Each
feature in JupyterLab; a smoke of each in Notebook 7 and Voilà (one page per host, the checks
one after another in it).

Headless Chromium has WebGL2 on SwiftShader (a software rasteriser), where ``renderer="auto"``
keeps the DOM renderer: the WebGL tests ask for ``renderer="webgl"``."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable

import pytest

from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import BASH, IMPORT, Notebook, TermView

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

BUDGET = 8  # js/src/renderer.ts, WEBGL_BUDGET
MANY = BUDGET + 2

# Each view's renderer, and whether its WebGL context (if any) is alive.
_RENDERERS = """() => [...document.querySelectorAll('.conpty-widget')].map((el) => {
  const live = [...el.querySelectorAll('.xterm-screen canvas')].some((c) => {
    if (c.classList.contains('xterm-image-layer')) return false;
    const gl = c.getContext('webgl2');
    return !!gl && !gl.isContextLost();
  });
  return `${el.dataset.renderer}${live ? '+gl' : ''}`;
})"""

# A sixel of 6x6 red pixels and an iTerm2 inline image (an 8x8 red PNG), and how to see them:
# the red pixels on the image addon's layer.
SIXEL = r"printf '\033Pq#0;2;100;0;0#0~~~~~~\033\\'; echo; echo sixel-$((3*3))"
PNG_8X8 = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC"
ITERM_IMAGE = rf"printf '\033]1337;File=inline=1;size=75:{PNG_8X8}\007'; echo; echo iterm-$((4*4))"
_RED_PIXELS = """
  const layer = term.element.querySelector('canvas.xterm-image-layer');
  if (!layer || !layer.width) return 0;
  const data = layer.getContext('2d').getImageData(0, 0, layer.width, layer.height).data;
  let red = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] > 200 && data[i + 1] < 60 && data[i + 2] < 60 && data[i + 3] > 200) red++;
  return red;
"""

# Records the visual bell (the class comes and goes) and the view's elements of each feature.
_WATCH = """
  const el = term.element.parentElement;
  window.bells = 0;
  new MutationObserver(() => { if (el.classList.contains('conpty-bell')) window.bells++; })
    .observe(el, { attributes: true, attributeFilter: ['class'] });
"""


def _renderers(notebook: Notebook) -> list[str]:
    return notebook.page.evaluate(_RENDERERS)


def _clipboard(page) -> str:
    return page.evaluate("() => navigator.clipboard.readText()")


def smoke(page, term: TermView, kernel_title: Callable[[], str] | None = None) -> None:
    """Title, bell, progress, OSC 52 (write lands, read gets nothing), a sixel, the find bar and zoom,
    in terminal ``term`` (bash at its prompt, focused); ``kernel_title`` reads ``t.title`` in the kernel."""
    keyboard = page.keyboard
    term.js(_WATCH)
    caption = page.locator(".conpty-title").nth(term.k)
    term.run(r"printf '\033]0;my-title-%s\007' $((6*7)); printf '\a'; printf '\033]9;4;1;40\007'; echo set-$((1+1))")
    term.wait_for(r"(?m)^set-2$")
    poll("the title on the view", lambda: caption.is_visible() and caption.inner_text() == "my-title-42")
    assert "Ctrl+Shift+F" in caption.get_attribute("title")
    if kernel_title is not None:
        assert kernel_title() == "my-title-42"
        term.click()  # running the cell took the focus
    poll("the visual bell", lambda: page.evaluate("() => window.bells") >= 1)
    bar = page.locator(".conpty-progress").nth(term.k)
    poll("the progress bar at 40%", lambda: bar.is_visible() and bar.evaluate("(b) => b.style.width") == "40%")
    term.run(r"printf '\033]9;4;0;0\007'; echo done-$((2+1))")
    term.wait_for(r"(?m)^done-3$")
    poll("the progress bar to go", lambda: not bar.is_visible())

    # OSC 52: a program copies; a program asking for the clipboard gets no answer at all.
    payload = base64.b64encode(b"osc52-copied").decode()
    term.run(rf"printf '\033]52;c;{payload}\007'; echo copied-$((3+4))")
    term.wait_for(r"(?m)^copied-7$")
    poll("OSC 52 to reach the clipboard", lambda: _clipboard(page) == "osc52-copied")
    page.evaluate("() => navigator.clipboard.writeText('secret-in-clipboard')")
    term.run(r"""printf '\033]52;c;?\007'; read -rs -t 2 x; echo "answer[${#x}]" """)
    term.wait_for(r"(?m)^answer\[0\]$")

    term.run(SIXEL)
    term.wait_for(r"(?m)^sixel-9$")
    sixel = poll("the sixel's red pixels", lambda: (n := term.js(_RED_PIXELS)) >= 36 and n)
    term.run(ITERM_IMAGE)
    term.wait_for(r"(?m)^iterm-16$")
    poll("the inline image's red pixels too", lambda: term.js(_RED_PIXELS) >= sixel + 48)

    # The find bar: three matches (the command line has "hay%s", not the word), next, previous, Escape.
    term.run("printf 'hay%s\\n' stack stack stack")
    term.wait_for(r"(?m)^haystack\nhaystack\nhaystack$")
    keyboard.press("Control+Shift+F")
    find = page.locator(".conpty-find").nth(term.k)
    poll("the find bar", find.is_visible)
    keyboard.type("haystack")
    count = find.locator(".conpty-find-count")
    first = poll("the match count", lambda: re.fullmatch(r"([123])/3", count.inner_text()))
    keyboard.press("Enter")
    poll("the next match", lambda: count.inner_text() == f"{int(first[1]) % 3 + 1}/3")
    keyboard.press("Shift+Enter")
    poll("the previous match", lambda: count.inner_text() == first[0])
    assert term.js("return term.getSelection()") == "haystack"
    keyboard.press("Escape")
    poll("the find bar to close", lambda: not find.is_visible())
    term.run("echo before-$(stty size | tr ' ' x)")  # the keys are the terminal's again
    small = term.wait_for(r"(?m)^before-(\d+)x(\d+)$")

    # Zoom: Ctrl+= three times, the font grows and the pty refits to fewer rows and columns.
    for _ in range(3):
        keyboard.press("Control+Equal")
    poll("the font to grow", lambda: term.js("return term.options.fontSize") == 16)
    poll("fewer columns", lambda: term.js("return term.cols") < int(small[2]))
    term.run("echo after-$(stty size | tr ' ' x)")
    big = term.wait_for(r"(?m)^after-(\d+)x(\d+)$")
    assert int(big[1]) < int(small[1]) and int(big[2]) < int(small[2]), (small[0], big[0])
    assert (int(big[1]), int(big[2])) == (term.js("return term.rows"), term.js("return term.cols"))
    keyboard.press("Control+0")
    poll("the font back to 13", lambda: term.js("return term.options.fontSize") == 13)


def _cell_output(notebook: Notebook, k: int) -> str:
    """The text output of cell ``k`` once it ran."""
    return notebook.page.evaluate(
        "(k) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[k];"
        " return c.outputArea.model.length ? c.outputArea.node.innerText.trim() : ''; }",
        k,
    )


def test_smoke_in_lab_and_notebook(notebook: Notebook) -> None:
    """Every feature once, in JupyterLab and in Notebook 7; the title also as the kernel's trait."""
    path = notebook.server.notebook(f"features-{notebook.app}", f"{IMPORT}\nt = {BASH}\nt", "print(t.title)")
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    term.click()

    def kernel_title() -> str:
        notebook.run_cell(1)
        return poll("the title cell's output", lambda: _cell_output(notebook, 1))

    smoke(notebook.page, term, kernel_title)


def test_smoke_in_voila(page, jupyter_server) -> None:
    """Every feature once, in Voilà; the clipboard options on (Voilà runs no later cell to turn them on)."""
    options = "t.copy_on_select = t.right_click_paste = True"
    path = jupyter_server.notebook("features-voila", f"{IMPORT}\nt = {BASH}\n{options}\nt")
    page.goto(f"/voila/render/{path}?token={jupyter_server.token}")
    term = Notebook(page, jupyter_server, "voila").terminal()
    term.wait_for_prompt()
    term.click()
    smoke(page, term)
    clipboard_options(page, term, enabled=True)


def clipboard_options(page, term: TermView, enabled: bool, own_menu: bool = True) -> None:
    """With ``copy_on_select`` and ``right_click_paste`` on, a double-click copies the word and a right
    click pastes; off, neither (and the host's own context menu opens, if ``own_menu``)."""
    term.run("echo select-me-$((4*5))")
    term.wait_for(r"(?m)^select-me-20$")
    spot = term.js(
        "const b = term.buffer.active; for (let y = b.length - 1; y >= 0; y--) {"
        " const x = b.getLine(y).translateToString(true).indexOf('select-me-20'); if (x < 0) continue;"
        " const r = term.element.querySelector('.xterm-screen').getBoundingClientRect();"
        " return { x: r.left + (x + 1.5) * r.width / term.cols, y: r.top + (y - b.viewportY + 0.5) * r.height / term.rows }; }"
    )
    page.evaluate("() => navigator.clipboard.writeText('before')")
    page.mouse.dblclick(spot["x"], spot["y"])
    assert term.js("return term.getSelection()") == "select-me-20"
    if enabled:
        poll("the selection in the clipboard", lambda: _clipboard(page) == "select-me-20")
    else:
        # A copy would be one animation frame away: two frames, then the clipboard.
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert _clipboard(page) == "before"
    term.js("term.clearSelection()")
    page.evaluate("(t) => navigator.clipboard.writeText(t)", f"echo pasted-{int(enabled)}-$((2+5))")
    page.mouse.click(spot["x"], spot["y"], button="right")
    if enabled:
        term.wait_for(r"(?m)^\$ echo pasted-1-\$\(\(2\+5\)\)$")  # the paste is asynchronous
        page.keyboard.press("Enter")
        term.wait_for(r"(?m)^pasted-1-7$")
    else:
        if own_menu:
            assert page.locator(".lm-Menu").first.is_visible(), "the host's own context menu"
            page.keyboard.press("Escape")
        term.click()
        page.keyboard.press("Enter")
        term.wait_for_prompt()
        assert "pasted-0" not in term.text()


def test_copy_on_select_and_right_click_paste(notebook: Notebook) -> None:
    """Off by default: a selection is not copied, a right click does not paste; on, they do."""
    options = "t.copy_on_select = t.right_click_paste = True"
    path = notebook.server.notebook(f"clipboard-options-{notebook.app}", f"{IMPORT}\nt = {BASH}\nt", options)
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    term.click()
    clipboard_options(notebook.page, term, enabled=False)
    notebook.run_cell(1)
    poll("the options to reach the view", lambda: notebook.page.evaluate(
        "() => document.querySelector('.conpty-widget').hasAttribute('data-jp-suppress-context-menu')"
    ))  # fmt: skip
    term.click()  # running the cell took the focus
    clipboard_options(notebook.page, term, enabled=True)


def test_webgl_budget_focus_visibility_and_context_loss(page, jupyter_server) -> None:
    """More WebGL terminals than the budget: only the budget's worth draw with WebGL (live contexts),
    a focused one takes a context, a hidden one gives its own back; a lost context falls back to the
    DOM at once with the text still shown; ``auto`` keeps the DOM on this software rasteriser."""
    page.set_viewport_size({"width": 1280, "height": 1600})
    notebook = Notebook(page, jupyter_server, "lab")
    cell = (
        f"{IMPORT}\nfrom IPython.display import display\n"
        f"ts = [Terminal(['cat'], rows=3, cols=40) for _ in range({MANY})]\n"
        "for t in ts:\n    t.renderer = 'webgl'\n"
        "auto = Terminal(['cat'], rows=3, cols=40)\ndisplay(*ts, auto)"
    )
    notebook.open(jupyter_server.notebook("webgl-budget", cell))
    notebook.run_cell(0)
    notebook.terminal(MANY, ready=False)
    webgl = lambda: [k for k, r in enumerate(_renderers(notebook)) if r.startswith("webgl")]  # noqa: E731
    held = poll("the budget's worth of WebGL views", lambda: w if len(w := webgl()) == BUDGET else None)
    kinds = _renderers(notebook)
    assert all(kinds[k] == "webgl+gl" for k in held), kinds
    assert kinds.count("dom") == MANY + 1 - BUDGET and kinds[MANY] == "dom", kinds
    assert all(not page.locator(".conpty-widget").nth(k).locator(".xterm-rows").count() for k in held)

    # A DOM view that gets the focus takes a context; the budget still holds.
    waiting = next(k for k in range(MANY) if k not in held)
    focused = TermView(page, waiting)
    focused.click()
    focused.run("typed-before-loss")
    focused.wait_for(r"(?m)^typed-before-loss\ntyped-before-loss$")  # the echo and cat's copy
    poll("the focused view on WebGL", lambda: _renderers(notebook)[waiting] == "webgl+gl")
    assert len(webgl()) == BUDGET

    # A hidden view gives its context back to one still waiting.
    gone = next(k for k in webgl() if k != waiting)
    page.evaluate(
        "(k) => { document.querySelectorAll('.conpty-widget')[k].closest('.jp-OutputArea-child').style.display = 'none'; }", gone
    )
    poll("the hidden view on the DOM", lambda: _renderers(notebook)[gone] == "dom")
    poll("its context given to another", lambda: len(webgl()) == BUDGET)

    # The focused view loses its context: it draws with the DOM at once (not blank), and stays there.
    focused.js("const c = [...term.element.querySelectorAll('.xterm-screen canvas')].find((c) => c.getContext('webgl2'));"
               "c.getContext('webgl2').getExtension('WEBGL_lose_context').loseContext();")  # fmt: skip
    poll("the DOM renderer after the loss", lambda: _renderers(notebook)[waiting] == "dom")
    rows = page.locator(".conpty-widget").nth(waiting).locator(".xterm-rows")
    poll("the text drawn by the DOM renderer", lambda: "typed-before-loss" in rows.inner_text())
    focused.run("typed-after-loss")
    poll("typing drawn after the loss", lambda: "typed-after-loss" in rows.inner_text())
    poll("the freed context given to another", lambda: len(webgl()) == BUDGET)
    assert _renderers(notebook)[waiting] == "dom"
