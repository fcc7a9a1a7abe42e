"""A recording's replay in a real browser. A recording's own display (the static player of its
HTML) and the Replay widget (``rec.replay()``) play in JupyterLab 4, Notebook 7 and Voilà, with
their controls (play/pause, restart, speed); a notebook saved without widget state (JupyterLab's
default) plays it again after a reload with no kernel; one saved with widget state plays the
widget; an nbconvert HTML export plays it opened from a file, with no server at all."""

from __future__ import annotations

import os
import pathlib

import nbclient
import nbconvert
import nbformat
import nbformat.sign
import pytest

from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import BASH, IMPORT, Notebook, Server

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

# A recording of two commands 1.5 s apart, shown as the cell's value.
RECORD = f"""import time
{IMPORT}
t = {BASH}
rec = t.record()
for n in (6, 7):
    t.write(f"echo replay-$(({{n}}*7))\\r")
    t.wait_for(rf"(?m)^replay-{{n * 7}}$")
    time.sleep(1.5)
rec = t.stop_recording()"""
RECORDED = RECORD + "\nrec"  # the recording as the cell's value
WIDGET = "rec.replay()"  # the same, as a widget, in the next cell

# The text of the k-th player's xterm buffer (wrapped rows joined), and its state.
_PLAYER = """(k) => {
  const el = document.querySelectorAll('.conpty-player')[k];
  const term = el && el.conptyTerminal;
  if (!term) return null;
  const buf = term.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i).translateToString(true));
  return {text: lines.join('\\n'), state: el.dataset.state};
}"""


_STATIC = "(k) => !!document.querySelectorAll('.conpty-player')[k].closest('.conpty-player-static')"


def player(page, k: int = 0) -> dict:
    return page.evaluate(_PLAYER, k) or {}


def wait_played(page, k: int = 0, timeout: float = 30) -> None:
    """The k-th player shows both commands' output and has reached the end."""
    try:
        poll("the replay to play to its end", lambda: (p := player(page, k)) and p["state"] == "ended"
             and "replay-42" in p["text"] and "replay-49" in p["text"], timeout)  # fmt: skip
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the player shows: {player(page, k)}") from None


def test_the_replay_plays_with_its_controls(notebook: Notebook) -> None:
    path = notebook.server.notebook(f"replay-{notebook.app}", RECORDED, WIDGET)
    notebook.open(path)
    notebook.command("notebook:run-all-cells")
    page = notebook.page
    poll("two players", lambda: player(page, 1))
    assert page.evaluate(_STATIC, 0) and not page.evaluate(_STATIC, 1)  # the recording's HTML, the widget
    for k in (0, 1):
        wait_played(page, k)
        controls = page.locator(".conpty-player").nth(k)
        # Restart at a slow speed (the pause between the commands lasts 3 s): it plays again
        # from an empty screen, and can be paused there, then played on to the end.
        controls.locator("select.conpty-player-speed").select_option("0.5")
        controls.locator("button.conpty-player-restart").click()
        poll("the replay to start again", lambda k=k: "replay-49" not in player(page, k)["text"])
        controls.locator("button.conpty-player-play").click()
        assert player(page, k)["state"] == "paused"
        controls.locator("button.conpty-player-play").click()
        assert player(page, k)["state"] == "playing"
        wait_played(page, k)
    # Saved as JupyterLab saves by default (no widget state) and reopened with no kernel: the
    # recording's own output plays again (the widget's output has no model left to show).
    notebook.command("docmanager:save")
    poll("the saved notebook", lambda: "conpty-player-static" in (notebook.server.root / path).read_text())
    notebook.server.shutdown_kernels()
    page.reload()
    poll("the player after the reload", lambda: player(page), timeout=60)
    assert page.evaluate(_STATIC, 0)
    wait_played(page)


def test_the_replay_plays_in_voila(page, jupyter_server: Server) -> None:
    path = jupyter_server.notebook("replay-voila", RECORDED, WIDGET)
    page.goto(f"/voila/render/{path}?token={jupyter_server.token}")
    poll("both players in Voilà", lambda: player(page, 1), timeout=60)
    assert page.evaluate(_STATIC, 0) and not page.evaluate(_STATIC, 1)
    wait_played(page, 0)
    wait_played(page, 1)


def executed(cells: list[str], widget_state: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbclient.NotebookClient(nb, kernel_name="python3", store_widget_state=widget_state).execute()
    return nb


def test_an_html_export_plays_from_a_file(page, tmp_path: pathlib.Path) -> None:
    nb = executed([RECORDED], widget_state=False)
    html, _resources = nbconvert.HTMLExporter().from_notebook_node(nb)
    path = tmp_path / "replay.html"
    path.write_text(html, encoding="utf-8")
    page.route("http*://**", lambda route: route.abort())  # no server, no CDN: the file alone
    page.goto(path.as_uri())
    poll("the static player in the export", lambda: player(page))
    assert page.evaluate(_STATIC, 0)  # the output's HTML plays it: no widget, no kernel
    wait_played(page)


def test_a_notebook_saved_with_widget_state_plays_the_widget_without_its_kernel(
    page, jupyter_server: Server, save_state  # noqa: F811 (the fixture)
) -> None:
    nb = executed([f"{RECORD}\n{WIDGET}"], widget_state=True)
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    (replay,) = [m["state"] for m in states if m["state"].get("_anywidget_id", "").endswith("Replay")]
    assert "replay-49" in replay["cast"]
    # Trusted, as a notebook its user ran and saved is (JupyterLab renders widgets only in
    # trusted notebooks; an untrusted one shows the output's HTML, scripts removed: the last screen).
    nbformat.sign.NotebookNotary().sign(nb)
    nbformat.write(nb, jupyter_server.root / "replay-saved.ipynb")
    notebook = Notebook(page, jupyter_server, "lab")
    notebook.open("replay-saved.ipynb")  # a new kernel, which never ran the cell
    poll("the restored player", lambda: player(page), timeout=60)
    assert not page.evaluate(_STATIC, 0)  # the widget, from the saved state
    wait_played(page)
