"""The terminal in a real browser (Debian's Chromium, driven by Playwright): JupyterLab 4 and
Notebook 7, and Voilà. Each test is one scenario a user goes through; the terminal is read through
xterm's own buffer (the view attaches its Terminal to its element as ``conptyTerminal``)."""

from __future__ import annotations

import os

import pytest

from harness.wait import poll

from . import page_scenarios as scenario
from .conftest import CHROMIUM, OUTPUT
from .jupyter_page import BASH, IMPORT, LAYOUT, Notebook, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")
# Says so once it sleeps in the terminal's foreground: a Ctrl-C while bash starts a child reaches
# bash alone, which lets the child go on.
SLEEPER = "sh -c 'echo sleeping-$((2*2)); exec sleep 100'"


def test_renders_and_runs_a_command(notebook: Notebook) -> None:
    """Scenario 1: ``Terminal()`` renders; click, type, Enter: the shell's answer shows."""
    path = notebook.server.notebook(f"s1-{notebook.app}", f"{IMPORT}\nTerminal()")
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.click()
    term.run("echo hi-$((6*7))")
    term.wait_for(r"(?m)^hi-42$")
    OUTPUT.mkdir(exist_ok=True)
    notebook.page.screenshot(path=str(OUTPUT / f"scenario1-{notebook.app}.png"))


def test_resize_follows_the_window(notebook: Notebook) -> None:
    """Scenario 2: a narrower window gives the shell fewer columns, and no horizontal scrollbar."""
    term = start(notebook, "s2")
    assert term.js("return term.rows") == 24, "shown at the size it was made with"
    assert notebook.page.evaluate(LAYOUT, 0) == []
    term.follows_a_narrower_window()
    assert notebook.page.evaluate(LAYOUT, 0) == []
    # The user drags the resize handle to a height that is not a whole number of rows.
    term.js("const h = term.element.querySelector('.xterm-screen').offsetHeight / term.rows;"
            "term.element.parentElement.style.height = `${Math.round(30 * h) + 3}px`;")
    poll("the terminal to get taller", lambda: term.js("return term.rows") == 30)
    assert notebook.page.evaluate(LAYOUT, 0) == []


def test_paste_is_one_bracketed_paste_and_ctrl_c_interrupts(notebook: Notebook) -> None:
    """Scenario 3: a multi-line paste arrives once, inside one pair of bracketed-paste markers."""
    term = start(notebook, "s3")
    # cat -v shows the markers; bash turns bracketed paste off while a command runs, printf on.
    # Paste only once the tty is cooked: bytes received while readline has it raw stay raw.
    term.run(r"stty -echo; printf '\033[?2004h'; echo ready-$((1+1)); cat -v; stty echo")
    term.wait_for(r"(?m)^ready-2$")
    notebook.page.evaluate("(t) => navigator.clipboard.writeText(t)", "alpha\nbeta\ngamma\n")
    notebook.page.keyboard.press("Control+V")
    notebook.page.keyboard.press("Enter")
    term.wait_for(r"(?m)^\^\[\[200~alpha\nbeta\ngamma\n\^\[\[201~$")
    assert term.text().count("200~") == 1
    notebook.page.keyboard.press("Control+D")  # ends cat
    term.wait_for_prompt()
    # As with a fast typist, keys typed before a program reads them may be flushed by ^C: wait.
    term.run(SLEEPER)
    term.wait_for(r"(?m)^sleeping-4$")
    notebook.page.keyboard.press("Control+C")
    term.wait_for(r"(?m)^sleeping-4\n\^C\n\$ $", timeout=20)  # not after 100 s
    term.run("echo after-$((2+2))")
    term.wait_for(r"(?m)^after-4$")


def test_typing_while_another_cell_runs(notebook: Notebook) -> None:
    """Scenario 4: keys reach the shell while a cell sleeps, also after the terminal printed output."""
    running_cell = "import time\nt.write('echo from-cell-$((3*3))\\r')\ntime.sleep(60)"
    term = start(notebook, "s4", running_cell)
    notebook.run_cell(1)
    term.wait_for(r"(?m)^from-cell-9$")  # the terminal has sent output since the cell began
    busy = lambda: "*" in notebook.page.locator(".jp-InputPrompt").nth(1).inner_text()  # noqa: E731
    assert busy()
    term.click()
    term.run("echo busy-ok")
    term.wait_for(r"(?m)^busy-ok$", timeout=20)
    term.run("echo busy-$((20+22))")
    term.wait_for(r"(?m)^busy-42$", timeout=20)
    assert busy(), "the answers must come while the cell still runs"


def test_reload_and_two_views(notebook: Notebook) -> None:
    """Scenario 5: two views of one Terminal agree; after a reload the screen is back and works."""
    scenario.reload_restores_the_screen(notebook, scenario.BASH_SHELL, views=2)


def test_interrupting_a_busy_cell_while_typing(notebook: Notebook) -> None:
    scenario.interrupting_a_busy_cell_while_typing(notebook, scenario.BASH_SHELL)


def test_a_crashed_page_stops_holding_the_size(notebook: Notebook) -> None:
    """A narrow page's view crashes (no ``bye``); a wide page opens the notebook: after the roll
    call the wide view gets its whole width (a size held by a dead view would stay narrow)."""
    notebook.page.set_viewport_size({"width": 700, "height": 800})
    path = notebook.server.notebook(f"s5b-{notebook.app}", f"{IMPORT}\nt = {BASH}\nt")
    notebook.open(path)
    notebook.run_cell(0)
    narrow = notebook.terminal()
    narrow.wait_for_prompt()
    cols = poll("the narrow view's size", lambda: narrow.js("return term.cols"))
    notebook.command("docmanager:save")
    poll("the notebook to be saved", lambda: notebook.page.evaluate(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
    ))  # fmt: skip
    try:
        notebook.page.context.new_cdp_session(notebook.page).send("Page.crash", timeout=3000)
    except Exception:  # the page dies before it can answer
        pass
    wide = Notebook(notebook.page.context.new_page(), notebook.server, notebook.app)
    wide.page.set_viewport_size({"width": 1600, "height": 800})
    wide.open(path)
    view = wide.terminal()
    poll("the wide view to get more columns than the crashed one had", lambda: view.js("return term.cols") > cols + 20)
    view.click()
    view.run("stty size")
    view.wait_for(rf"(?m)^\d+ {view.js('return term.cols')}$")


def test_exit_leaves_the_last_screen_with_the_banner(notebook: Notebook) -> None:
    """Scenario 6: keys and focus changes reach the shell as typed; after ``exit`` the output is the
    last screen, exit banner included, and no view is left to take input."""
    scenario.renders_takes_keys_and_exits(notebook, scenario.BASH_SHELL)


# Counts line feeds xterm parses; once armed, notes at which one a '%' first shows near the cursor.
_COUNT_LINES = """
  window.flood = { lf: 0, armed: false, seenAt: null };
  term.onLineFeed(() => {
    const f = window.flood;
    f.lf++;
    if (!f.armed || f.seenAt !== null) return;
    const b = term.buffer.active, y = b.baseY + b.cursorY;
    for (let i = y; i >= Math.max(0, y - 3); i--)
      if (b.getLine(i).translateToString(true).includes('%')) { f.seenAt = f.lf; break; }
  });
"""


@pytest.mark.timeout(360)
def test_flood(notebook: Notebook) -> None:
    """Scenario 7: 40 MB of base64 arrive whole, and a key typed meanwhile is echoed meanwhile."""
    term = start(notebook, "s7")
    term.js(_COUNT_LINES)
    file = f"flood-{notebook.app}.b64"
    term.run(f'head -c 30000000 /dev/urandom | base64 | tee {file}; echo "lines=$(wc -l < {file})"')
    poll("the flood to start", lambda: notebook.page.evaluate("() => window.flood.lf > 1000"))
    notebook.page.evaluate("() => { window.flood.armed = true; }")
    notebook.page.keyboard.type("%")  # not a base64 character
    lines = int(term.wait_for(r"(?m)^lines=(\d+)$", timeout=300)[1])
    flood = notebook.page.evaluate("() => window.flood")
    assert lines == 526316  # 40,000,000 characters in lines of 76
    assert flood["lf"] == lines + 2  # and the Enter of the command, and the "lines=" line
    assert flood["seenAt"] is not None and flood["seenAt"] < lines, "'%' was echoed only after the flood"
    last = (notebook.server.root / file).read_text().splitlines()[-1]
    shown = term.text().splitlines()
    assert shown[shown.index(f"lines={lines}") - 1].replace("%", "") == last
    notebook.page.screenshot(path=str(OUTPUT / f"scenario7-{notebook.app}.png"))


def _luminance(rgb: list[float]) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    lin = [c / 255 / 12.92 if c <= 0.04045 * 255 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: list[float], b: list[float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# Colours as the page paints them: JupyterLab's background, the terminal's background and
# default text, and the text of six ANSI colours the shell printed (DOM renderer spans).
_COLOURS = """(k) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const el = document.querySelectorAll('.conpty-widget')[k];
  const probe = document.createElement('div');
  probe.style.background = 'var(--jp-layout-color0)';
  el.parentElement.appendChild(probe);
  const jp = rgb(getComputedStyle(probe).backgroundColor);
  probe.remove();
  const ansi = {};
  for (const span of el.querySelectorAll('.xterm-rows span')) {
    const text = span.textContent.trim();
    if (/^[RGYBMC]$/.test(text)) ansi[text] = rgb(getComputedStyle(span).color);
  }
  return {
    light: document.body.dataset.jpThemeLight === 'true',
    jupyter: jp,
    background: rgb(getComputedStyle(el.querySelector('.xterm-scrollable-element')).backgroundColor),
    // Shows below the last row: must be see-through or the same.
    viewport: rgb(getComputedStyle(el.querySelector('.xterm-viewport')).backgroundColor),
    foreground: rgb(getComputedStyle(el.querySelector('.xterm-rows')).color),
    ansi,
  };
}"""


def test_light_and_dark_themes(notebook: Notebook) -> None:
    """Scenario 8: the terminal takes JupyterLab's light and dark backgrounds, and stays legible."""
    term = start(notebook, "s8")
    term.run(r"printf '\033[31mR \033[32mG \033[33mY \033[34mB \033[35mM \033[36mC\033[0m\n'")
    term.wait_for(r"(?m)^R G Y B M C$")
    seen = {}
    try:
        for theme, light in (("JupyterLab Dark", False), ("JupyterLab Light", True)):
            notebook.command("apputils:change-theme", {"theme": theme})

            def painted(light: bool = light) -> dict | None:
                c = notebook.page.evaluate(_COLOURS, 0)
                return c if c["light"] == light and c["background"][:3] == c["jupyter"][:3] else None

            seen[light] = c = poll(f"the terminal to follow the {theme} theme", painted)
            assert _contrast(c["foreground"], c["background"]) >= 4.5, c
            assert c["viewport"][3:] == [0] or c["viewport"][:3] == c["background"][:3], c
            assert len(c["ansi"]) == 6, c
            for name, colour in c["ansi"].items():
                assert _contrast(colour, c["background"]) >= 3, (theme, name, c)
    finally:  # the theme is a setting of the server, shared by the next tests
        notebook.page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    assert _luminance(seen[True]["background"]) > 0.5 > _luminance(seen[False]["background"])


def test_voila(page, jupyter_server) -> None:
    """Scenario 9: Voilà renders a notebook with a terminal, and the terminal takes input."""
    path = jupyter_server.notebook("s9-voila", f"{IMPORT}\n{BASH}")
    page.goto(f"/voila/render/{path}?token={jupyter_server.token}")
    term = Notebook(page, jupyter_server, "voila").terminal()
    term.wait_for_prompt()
    term.click()
    term.run("echo voila-$((2+3))")
    term.wait_for(r"(?m)^voila-5$")


# Where on the page the last line holding `text` shows it (the middle of its second character).
_FIND = """(text) => {
  const b = term.buffer.active;
  for (let y = b.length - 1; y >= 0; y--) {
    const x = b.getLine(y).translateToString(true).indexOf(text);
    if (x >= 0) {
      const box = term.element.querySelector('.xterm-screen').getBoundingClientRect();
      const w = box.width / term.cols, h = box.height / term.rows;
      return { x: box.left + (x + 1.5) * w, y: box.top + (y - b.viewportY + 0.5) * h };
    }
  }
  return null;
}"""


def test_keys_belong_to_the_terminal(notebook: Notebook) -> None:
    """Scenario 10: notebook shortcuts never see the terminal's keys; copy and paste work."""
    term = start(notebook, "s10", "x = 1")
    keyboard = notebook.page.keyboard
    before = notebook.state()
    # cat -A shows every byte it gets, a line per Enter; keys wait for the tty to be cooked.
    term.run("echo ready-$((1+2)); cat -A")
    term.wait_for(r"(?m)^ready-3$")
    for key in ("Escape", "Tab", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "a", "b", "d", "d", "Shift+Enter"):
        keyboard.press(key)
    term.wait_for(r"(?m)^\^\[\^I\^\[\[A\^\[\[B\^\[\[D\^\[\[Cabdd\$$")
    keyboard.press("Control+C")
    term.wait_for_prompt()
    assert notebook.state() == before

    # Ctrl+C with a selection copies: the half-typed line survives (^C would have discarded it).
    term.run("echo copy-me-$((4*5))")
    term.wait_for(r"(?m)^copy-me-20$")
    keyboard.type("echo kept-$((3+3))")
    spot = term.js(f"return ({_FIND})(arg)", "copy-me-20")
    notebook.page.mouse.dblclick(spot["x"], spot["y"])
    assert term.js("return term.getSelection()") == "copy-me-20"
    keyboard.press("Control+C")
    poll("the clipboard", lambda: notebook.page.evaluate("() => navigator.clipboard.readText()") == "copy-me-20")
    assert not term.js("return term.hasSelection()"), "the next Ctrl+C must interrupt"
    # Again where the async Clipboard API does not exist (a page served over plain http).
    notebook.page.evaluate("() => navigator.clipboard.writeText('')")
    notebook.page.mouse.dblclick(spot["x"], spot["y"])
    notebook.page.evaluate(
        "() => { Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true }); }"
    )
    keyboard.press("Control+C")
    notebook.page.evaluate("() => { delete navigator.clipboard; }")
    assert notebook.page.evaluate("() => navigator.clipboard.readText()") == "copy-me-20"
    keyboard.press("Enter")
    term.wait_for(r"(?m)^kept-6$")

    # Without a selection, Ctrl+C interrupts.
    term.run(SLEEPER)
    term.wait_for(r"(?m)^sleeping-4$")
    keyboard.press("Control+C")
    term.wait_for(r"(?m)^sleeping-4\n\^C\n\$ $", timeout=20)

    for n, combo in enumerate(("Control+V", "Control+Shift+V", "Shift+Insert")):
        notebook.page.evaluate("(t) => navigator.clipboard.writeText(t)", f"pasted-{n}-$((n+1))")
        keyboard.type(f"n={n}; echo ")
        keyboard.press(combo)
        keyboard.press("Enter")
        term.wait_for(rf"(?m)^pasted-{n}-{n + 1}$")
    assert notebook.state() == before
