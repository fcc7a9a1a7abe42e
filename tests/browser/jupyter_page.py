"""Driving JupyterLab 4 / Notebook 7 pages and reading the terminal through xterm's buffer."""

from __future__ import annotations

import json
import pathlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import nbformat

from harness.jupyter_server import api
from harness.wait import poll

# A terminal with a plain, known prompt; the tests type shell arithmetic ("$((6*7))") so that
# the echo of a command never matches the output they wait for.
IMPORT = "from conpty_widget import Terminal"
BASH = 'Terminal(["bash", "--norc", "--noprofile"], env={"PS1": "$ ", "HISTFILE": "/dev/null"})'

# Logical lines of xterm's active buffer (wrapped rows joined), for the view number `k`.
_READ_BUFFER = """(k) => {
  const el = document.querySelectorAll('.conpty-widget')[k];
  const term = el && el.conptyTerminal;
  if (!term) return null;
  const buf = term.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i++) {
    const line = buf.getLine(i);
    const text = line.translateToString(true);
    if (line.isWrapped && lines.length) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\\n');
}"""


@dataclass
class Server:
    """The Jupyter server of the tests: its REST API and its root folder."""

    url: str
    token: str
    root: pathlib.Path
    logs: tuple[pathlib.Path, ...] = ()  # the server's log (and its gateway's): a failing test shows their ends

    def api(self, method: str, path: str) -> object:
        return api(self, method, path)

    def notebook(self, name: str, *cells: str, kernel: str = "python3") -> str:
        """Write a notebook of code ``cells`` (for the kernelspec ``kernel``) into the server's root; return its path there."""
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3" if kernel == "python3" else kernel, "language": "python"}
        path = f"{name}.ipynb"
        nbformat.write(nb, self.root / path)
        return path

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels"):  # type: ignore[union-attr]
            self.api("DELETE", f"/api/kernels/{kernel['id']}")



class TermView:
    """The ``k``-th terminal view on the page."""

    def __init__(self, page: Any, k: int) -> None:
        self.page, self.k = page, k
        self.locator = page.locator(".conpty-widget").nth(k)

    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``(term, arg) => body`` with this view's xterm Terminal."""
        return self.page.evaluate(
            f"([k, arg]) => {{ const term = document.querySelectorAll('.conpty-widget')[k].conptyTerminal; {body} }}",
            [self.k, arg],
        )

    def text(self) -> str:
        return self.page.evaluate(_READ_BUFFER, self.k) or ""

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        try:
            return poll(f"{regex.pattern!r} in terminal {self.k}", lambda: regex.search(self.text()), timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the terminal shows:\n{self.text()[-1500:]}") from None

    def wait_for_prompt(self) -> None:
        self.wait_for(re.compile(r"\$ $"))

    def click(self) -> None:
        self.locator.click()

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def follows_a_narrower_window(self) -> int:
        """Narrow the window: the view gets fewer columns, and the shell's size is the view's;
        return those columns."""
        wide = self.js("return term.cols")
        self.page.set_viewport_size({"width": 720, "height": 900})
        narrow = poll("the terminal to get narrower", lambda: (c := self.js("return term.cols")) < wide and c)
        self.click()
        self.run("stty size | tr ' ' x")
        m = self.wait_for(r"(?m)^(\d+)x(\d+)$")
        assert (int(m[1]), int(m[2])) == (self.js("return term.rows"), narrow)
        return narrow

    def run(self, command: str) -> None:
        """Type ``command`` and Enter (the terminal must have focus)."""
        self.page.keyboard.type(command)
        self.page.keyboard.press("Enter")


class Notebook:
    """A notebook opened in JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``)."""

    #: How long a kernel may take to start and answer (a hang guard): longer for Windows kernels under Wine.
    idle_timeout: float = 60

    def __init__(self, page: Any, server: Server, app: str) -> None:
        self.page, self.server, self.app = page, server, app
        self.workspace = secrets.token_hex(4)

    def url(self, path: str) -> str:
        token = f"token={self.server.token}"
        if self.app == "lab":
            # A workspace per test: JupyterLab would otherwise restore the previous tests' notebooks.
            return f"{self.server.url}/lab/workspaces/{self.workspace}/tree/{path}?{token}"
        return f"{self.server.url}/notebooks/{path}?{token}"

    def open(self, path: str) -> None:
        self.page.goto(self.url(path))
        self.wait_idle()

    def reload_and_restore_widgets(self) -> None:
        """Reload the page; wait until ipywidgets' manager has restored the notebook's widgets
        (from the kernel, or from the widget state saved with the notebook).

        In one race the manager marks itself restored without them (as its code reads: its first
        restore fails, the kernel's connection not yet set when the session is ready, and the one
        it runs on connecting loads the kernel's models only, never the notebook's state): the
        output then reads "Error displaying widget: model not found" for good (seen twice in about
        40 reloads, on a loaded machine: a Windows kernel's live Terminal in Notebook 7, a saved one
        in JupyterLab; reports upstream). A second reload shows the widget, as it would for a user:
        the kernel and the saved state are what is tested."""
        for attempt in (1, 2):
            self.page.reload()
            self.wait_idle()
            state = poll("the widgets to be restored", lambda: self.page.evaluate(
                """() => {
                  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')].map((o) => o.textContent);
                  if (outputs.some((t) => t.includes('model not found'))) return 'lost';
                  return outputs.some((t) => t.includes('Loading widget')) ? null : 'restored';
                }"""
            ), self.idle_timeout)  # fmt: skip
            if state == "restored":
                return
            print(f"reload {attempt}: ipywidgets' manager restored without the notebook's widgets")
        raise AssertionError("after two reloads the widget is still 'model not found'")

    def wait_idle(self) -> None:
        try:
            poll("the notebook's kernel to be connected and idle", lambda: self.kernel() == "connected idle", self.idle_timeout)
        except AssertionError as exc:
            dialogs = self.page.locator(".jp-Dialog").all_inner_texts()
            raise AssertionError(f"{exc}: the kernel is {self.kernel()!r}; dialogs: {dialogs}") from None

    def kernel(self) -> str:
        """The current notebook's kernel: its connection status and status, or what is missing."""
        return self.page.evaluate(
            """() => {
              const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
              if (!w || !w.sessionContext) return 'no notebook';
              const k = w.sessionContext.session && w.sessionContext.session.kernel;
              return k ? `${k.connectionStatus} ${k.status}` : 'no kernel';
            }"""
        )

    def command(self, command: str, args: dict | None = None) -> None:
        """Start a JupyterLab command; do not wait for it (``run-cell`` resolves only when the cell ends)."""
        self.page.evaluate("([c, a]) => { window.jupyterapp.commands.execute(c, a); }", [command, args or {}])

    def run_cell(self, index: int) -> None:
        self.page.evaluate(
            "(i) => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = i; }", index
        )
        self.command("notebook:run-cell")

    def state(self) -> dict:
        """What the notebook shortcuts would change: cell count, active cell, mode, execution counts."""
        return self.page.evaluate(
            """() => {
              const nb = window.jupyterapp.shell.currentWidget.content;
              return {
                cells: nb.widgets.length,
                active: nb.activeCellIndex,
                mode: nb.mode,
                counts: nb.widgets.map((c) => c.model.executionCount ?? null),
                sources: nb.widgets.map((c) => c.model.sharedModel.getSource()),
                palette: !!document.querySelector('.lm-CommandPalette:not(.lm-mod-hidden) .lm-CommandPalette-input:focus'),
              };
            }"""
        )

    def last_screen(self, k: int = 0) -> str:
        """The text of the ``k``-th static screen: what an ended terminal's output becomes."""
        screens = self.page.locator("pre.conpty-widget-screen")
        poll(f"static screen {k}", lambda: screens.count() > k)
        return screens.nth(k).inner_text()

    def terminal(self, k: int = 0, ready: bool = True) -> TermView:
        """The ``k``-th terminal view, once it exists (and, with ``ready``, shows something). A page
        that opened a notebook whose terminal lives in the kernel meets ipywidgets' race (see
        ``reload_and_restore_widgets``): a lost widget gets one reload."""
        def shown() -> str:
            return poll(f"terminal view {k}", lambda: self.page.evaluate(
                """(k) => {
                  const el = document.querySelectorAll('.conpty-widget')[k];
                  if (el && el.conptyTerminal) return 'shown';
                  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
                  return outputs.some((o) => o.textContent.includes('model not found')) ? 'lost' : null;
                }""", k
            ))  # fmt: skip

        if shown() == "lost":
            print("ipywidgets' manager opened the notebook without its widgets: reloading")
            self.reload_and_restore_widgets()
            assert shown() == "shown", "after a reload the widget is still 'model not found'"
        view = TermView(self.page, k)
        if ready:
            view.wait_for(r"\S")
        return view


def start(notebook: Notebook, name: str, *cells: str) -> TermView:
    """Open a notebook whose first cell shows a bash terminal ``t``; run that cell; focus the terminal."""
    path = notebook.server.notebook(f"{name}-{notebook.app}", f"{IMPORT}\nt = {BASH}\nt", *cells)
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for_prompt()
    term.click()
    return term


# What is wrong with the layout of terminal `k`: elements from the terminal up to its cell that
# would show a horizontal scrollbar, and rows or columns drawn outside the container's content box.
LAYOUT = """(k) => {
  const el = document.querySelectorAll('.conpty-widget')[k];
  const bad = [];
  const nodes = [...el.querySelectorAll('*')];
  for (let n = el; n && !n.classList.contains('jp-Cell'); n = n.parentElement) nodes.push(n);
  for (const n of nodes) {
    const ox = getComputedStyle(n).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && n.scrollWidth > n.clientWidth + 1)
      bad.push(`${n.className}: ${n.scrollWidth} > ${n.clientWidth}`);
  }
  const screen = el.querySelector('.xterm-screen').getBoundingClientRect();
  const box = el.getBoundingClientRect(), cs = getComputedStyle(el);
  const right = box.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
  const bottom = box.bottom - parseFloat(cs.borderBottomWidth) - parseFloat(cs.paddingBottom);
  if (screen.right > right + 0.5) bad.push(`screen ends at x=${screen.right}, content box at ${right}`);
  if (screen.bottom > bottom + 0.5) bad.push(`screen ends at y=${screen.bottom}, content box at ${bottom}`);
  return bad;
}"""


def saved_notebook(path: pathlib.Path) -> dict:
    """A notebook file as the server saved it: jupyter_server writes a file in place, so a read
    during a save can see part of it; this waits for a whole one."""

    def whole() -> dict | None:
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return None

    return poll(f"{path.name} to be written whole", whole, timeout=30, interval=0.05)


def terminal_states(path: pathlib.Path) -> list[dict]:
    """The widget states of the Terminals a notebook file saved."""
    nb = saved_notebook(path)
    models = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    return [m["state"] for m in models if m["state"].get("_anywidget_id", "").endswith("Terminal")]
