"""The terminal in other hosts than JupyterLab 4 and Notebook 7, each installed from PyPI in a venv
of its own (``tests/browser/hosts/venvs.py``) and driven in Debian's Chromium: nbclassic (the Notebook 6
front end) with ipywidgets 8 and 7, JupyterLab 3 with ipywidgets 7, marimo (``edit`` and
``run``), Solara. Each renders, takes keys, streams a flood whole and follows the window's size;
marimo and Solara's dark themes darken it. The lifecycle a host gives a terminal is checked
where it has one of its own: marimo re-running a cell, a Panel server destroying a session
(Panel's page fetches the widget's front end from a CDN: only its server side runs here)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from harness.jupyter_server import free_port, running_server
from harness.process import running, serving
from harness.wait import poll

from ..conftest import CHROMIUM, watched_page
from ..jupyter_page import BASH, IMPORT, Notebook, Server
from . import venvs

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.timeout(600),  # a first run creates the host's venv
]

# The terminal of every host: bash with a plain prompt; its pid goes to a file (lifecycle tests).
TERMINAL = f"{IMPORT}\nt = {BASH}\nwith open('pids', 'a') as _f:\n    _f.write(f'{{t.pid}}\\n')\nt"


class HostTerm:
    """The ``k``-th terminal view of a page, found across shadow roots (marimo renders in one)."""

    def __init__(self, page: Any, k: int = 0) -> None:
        self.page, self.k = page, k
        self.locator = page.locator(".conpty-widget").nth(k)

    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``(term, arg) => body`` with this view's xterm Terminal."""
        return self.locator.evaluate(f"(el, arg) => {{ const term = el.conptyTerminal; {body} }}", arg)

    def text(self) -> str:
        return self.js(
            """const buf = term.buffer.active, lines = [];
            for (let i = 0; i < buf.length; i++) {
              const line = buf.getLine(i), text = line.translateToString(true);
              if (line.isWrapped && lines.length) lines[lines.length - 1] += text; else lines.push(text);
            }
            while (lines.length && lines[lines.length - 1] === '') lines.pop();
            return lines.join('\\n');"""
        )

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        regex = re.compile(pattern)
        try:
            return poll(f"{pattern!r} in the terminal", lambda: regex.search(self.text()), timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the terminal shows:\n{self.text()[-1500:]}") from None

    def run(self, command: str) -> None:
        self.page.keyboard.type(command)
        self.page.keyboard.press("Enter")


@dataclass
class Site:
    """A host's server, and how its pages show the notebook (or app) that shows ``t``."""

    host: str
    url: str
    root: pathlib.Path
    token: str = ""

    def open(self, page: Any) -> HostTerm:
        """Open the page that shows the terminal; wait for its prompt; focus it."""
        if self.host in ("nbclassic", "nbclassic-ipywidgets7", "lab3-ipywidgets7"):
            path = Server(self.url, self.token, self.root).notebook(f"t-{secrets.token_hex(3)}", TERMINAL)
            if self.host != "lab3-ipywidgets7":
                page.goto(f"{self.url}/notebooks/{path}?token={self.token}")
                poll("the classic notebook's kernel", lambda: page.evaluate(
                    "() => !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
                    " && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.info_reply)"
                ), timeout=60)  # fmt: skip
                page.evaluate("() => Jupyter.notebook.execute_cells([0])")
            else:
                lab = Notebook(page, Server(self.url, self.token, self.root), "lab")
                lab.open(path)
                lab.run_cell(0)
        else:
            page.goto(self.url)
        term = HostTerm(page)
        poll("the terminal view", lambda: term.locator.count() and term.js("return !!term"), timeout=60)
        term.wait_for(r"\$ $")
        term.locator.click()
        return term

    def pids(self) -> list[int]:
        """The shells' pids, as the terminals were made."""
        path = self.root / "pids"
        return [int(p) for p in path.read_text().split()] if path.exists() else []


@contextlib.contextmanager
def serve(argv: list[str], url: str, root: pathlib.Path, env: dict[str, str], log: pathlib.Path) -> Iterator[None]:
    """Run a host's server (its own process group, ended with what it started) until ``url`` answers."""
    with serving(argv, url, log, cwd=root, env={**os.environ, **env}, what=argv[2], timeout=90):
        yield


MARIMO_APP = '''import marimo

app = marimo.App()


@app.cell
def _():
{body}
    return


if __name__ == "__main__":
    app.run()
'''


def _marimo(python: pathlib.Path, mode: str, base: pathlib.Path, dark: bool) -> contextlib.AbstractContextManager[Site]:
    root = base / "root"
    root.mkdir(parents=True)
    (root / "app.py").write_text(MARIMO_APP.format(body=textwrap.indent(TERMINAL, "    ")))
    # marimo's user config lives under $HOME; a project's sits in the notebook's pyproject.toml.
    (root / "pyproject.toml").write_text(
        f'[tool.marimo.display]\ntheme = "{"dark" if dark else "light"}"\n[tool.marimo.runtime]\nauto_instantiate = true\n'
    )
    port = free_port()
    argv = [str(python), "-m", "marimo", mode, "app.py", "--headless", "--host=127.0.0.1", f"--port={port}"]
    if mode == "edit":
        argv.append("--no-token")
    url = f"http://127.0.0.1:{port}"
    env = {"HOME": str(base), "XDG_CONFIG_HOME": str(base / "config"), "MARIMO_SKIP_UPDATE_CHECK": "1"}

    return _site(f"marimo-{mode}", argv, url, root, env, base)


def _solara(base: pathlib.Path, dark: bool) -> contextlib.AbstractContextManager[Site]:
    root = base / "root"
    root.mkdir(parents=True)
    (root / "app.py").write_text(f"{TERMINAL}\npage = t\n")
    port = free_port()
    argv = [
        str(venvs.ensure("solara")), "-m", "solara", "run", "app.py", "--host=127.0.0.1", f"--port={port}",
        "--no-open", "--production",
    ]  # fmt: skip
    env = {"HOME": str(base), "SOLARA_THEME_VARIANT": "dark" if dark else "light", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    return _site("solara", argv, f"http://127.0.0.1:{port}/", root, env, base)


def _panel(base: pathlib.Path) -> contextlib.AbstractContextManager[Site]:
    root = base / "root"
    root.mkdir(parents=True)
    app = f"import panel as pn\n\npn.extension('ipywidgets')\n{TERMINAL}\npn.pane.IPyWidget(t).servable()\n"
    (root / "app.py").write_text(app)
    port = free_port()
    argv = [
        str(venvs.ensure("panel")), "-m", "panel", "serve", "app.py", "--address=127.0.0.1", f"--port={port}",
        f"--allow-websocket-origin=127.0.0.1:{port}", "--unused-session-lifetime=3000", "--check-unused-sessions=500",
        "--liveness",  # asking for /app would make a session: ready when /liveness answers
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    return _site("panel", argv, f"{url}/liveness", root, {"HOME": str(base)}, base, url=f"{url}/app")


@contextlib.contextmanager
def _site(host: str, argv: list[str], ready: str, root: pathlib.Path, env: dict[str, str], base: pathlib.Path,
          url: str = "", token: str = "") -> Iterator[Site]:  # fmt: skip
    with serve(argv, ready, root, env, base / "server.log"):
        yield Site(host, url or ready, root, token)


@contextlib.contextmanager
def site(host: str, base: pathlib.Path, dark: bool = False) -> Iterator[Site]:
    """The server of ``host`` with its state in ``base`` (``dark``: in the host's dark theme, where it has one)."""
    if host.startswith("marimo-"):
        with _marimo(venvs.ensure("marimo"), host.removeprefix("marimo-"), base, dark) as s:
            yield s
    elif host in ("solara", "panel"):
        with _solara(base, dark) if host == "solara" else _panel(base) as s:
            yield s
    else:
        venv, app = {
            "nbclassic": ("nbclassic", ["nbclassic"]),
            "nbclassic-ipywidgets7": ("ipywidgets7", ["nbclassic"]),
            "lab3-ipywidgets7": ("ipywidgets7", ["lab", "--LabApp.expose_app_in_browser=True"]),
        }[host]
        # ipywidgets 7 on the comm (its messages and buffers differ from 8's), nbclassic's 8 direct.
        env = {"CONPTY_WIDGET_DIRECT": "0"} if venv == "ipywidgets7" else {}
        with running_server(base, [str(venvs.ensure(venv)), "-m", "jupyter", *app], env=env) as server:
            yield Site(host, server.url, server.root, server.token)


HOSTS = ["nbclassic", "nbclassic-ipywidgets7", "lab3-ipywidgets7", "marimo-edit", "marimo-run", "solara"]
#: The path each host's view takes (the server companion runs only in nbclassic's jupyter_server).
PATHS = {host: "direct" if host == "nbclassic" else "comm" for host in HOSTS}


@pytest.fixture(scope="module", params=HOSTS)
def host_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with site(request.param, tmp_path_factory.mktemp(request.param)) as s:
        yield s


@pytest.fixture
def host_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A fresh page; a screenshot on failure; errors thrown by our front end fail the test."""
    with watched_page(request, browser.new_context(viewport={"width": 1280, "height": 900}), ("blob:", "conpty")) as page:
        yield page


def test_renders_types_and_resizes(host_site: Site, host_page: Any) -> None:
    """The terminal renders with a prompt, runs what is typed, and fits a narrower window."""
    term = host_site.open(host_page)
    term.run("echo hi-$((6*7))")
    term.wait_for(r"(?m)^hi-42$")
    assert term.locator.get_attribute("data-path") == PATHS[host_site.host]
    wide = term.js("return term.cols")
    host_page.set_viewport_size({"width": 520, "height": 900})
    seen: list[int] = []

    def settled() -> int | None:  # narrower, and the same as at the last look (a host lays out in steps)
        seen.append(term.js("return term.cols"))
        return seen[-1] if seen[-1] < wide and seen[-2:-1] == seen[-1:] else None

    narrow = poll("the terminal to get narrower", settled, interval=0.5)
    term.locator.click()
    term.run("stty size | tr ' ' x")
    m = term.wait_for(r"(?m)^(\d+)x(\d+)$")
    assert (int(m[1]), int(m[2])) == (term.js("return term.rows"), narrow)


def test_flood_arrives_whole(host_site: Site, host_page: Any) -> None:
    """5 MB of output: every line reaches xterm.js, in order, and the shell's prompt comes back."""
    term = host_site.open(host_page)
    term.js("window.lineFeeds = 0; term.onLineFeed(() => { window.lineFeeds++; });")
    term.run("seq 1 700000; echo done-$((6*7))")
    term.wait_for(r"(?m)^699999\n700000\ndone-42\n\$ $", timeout=300)
    assert host_page.evaluate("() => window.lineFeeds") == 700000 + 2  # and the Enter, and "done-42"


def test_marimo_rerun_ends_the_old_terminal(browser: Any, tmp_path: pathlib.Path) -> None:
    """Re-running the cell in ``marimo edit`` makes a new terminal; the old one's shell ends."""
    with site("marimo-edit", tmp_path) as s:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            s.open(page)
            first = s.pids()
            assert len(first) == 1 and running(first[0])
            page.locator(".marimo-cell").first.hover()  # its run button shows then
            page.locator("[data-testid='run-button']").first.click()
            poll("the cell to make a second terminal", lambda: len(s.pids()) == 2)
            HostTerm(page).wait_for(r"\$ $")
            poll(f"the first terminal's shell ({first[0]}) to end", lambda: not running(first[0]), timeout=20)
            assert running(s.pids()[1])
        finally:
            page.close()


def _background(term: HostTerm) -> list[int]:
    rgb = term.locator.evaluate("(el) => getComputedStyle(el.querySelector('.xterm-scrollable-element')).backgroundColor")
    return [int(v) for v in re.findall(r"\d+", rgb)[:3]]


@pytest.mark.parametrize("host", ["marimo-edit", "solara"])
def test_dark_theme(browser: Any, tmp_path: pathlib.Path, host: str) -> None:
    """In the host's dark theme (marimo's; Solara's, Vuetify's) the terminal is dark too, with light text."""
    with site(host, tmp_path, dark=True) as s:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            term = s.open(page)
            bg = poll("a dark background", lambda: c if sum(c := _background(term)) < 3 * 80 else None)
            fg = term.js("return term.options.theme.foreground")
            assert int(fg[1:3], 16) > 160, (bg, fg)
        finally:
            page.close()


def test_panel_session_end_ends_the_shell(browser: Any, tmp_path: pathlib.Path) -> None:
    """Panel runs the app's script for each page's session: closing the page ends the session
    (after ``--unused-session-lifetime``), and with it the terminal's shell. Panel's page loads
    the widget's front end from a CDN (ipywidgets_bokeh fetches anywidget from unpkg), so the
    view cannot render here; the session, its script and its end are Panel's own."""
    with site("panel", tmp_path) as s:
        page = browser.new_page()
        page.goto(s.url)
        poll("the page's Bokeh document", lambda: page.evaluate("() => !!(window.Bokeh && Bokeh.documents.length)"))
        # A session whose page connects later than its lifetime is destroyed and made anew.
        [pid] = poll("the page's terminal", lambda: [p for p in s.pids() if running(p)])
        page.close()
        poll(f"the shell ({pid}) to end with the session", lambda: not running(pid), timeout=30)
        assert not [p for p in s.pids() if running(p)]
        # The terminal's end (seen by its reader thread just after) must not raise into Panel: its
        # document is gone by then, and a message sent to it raises.
        log = tmp_path / "server.log"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if "/conpty_widget/" in (text := log.read_text()):
                pytest.fail(f"the terminal raised in Panel at the session's end:\n{text[max(text.find('Traceback'), 0):][:4000]}")
            time.sleep(0.2)
