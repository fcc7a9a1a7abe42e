"""What a notebook keeps of a terminal, in a real kernel run as nbconvert runs it (nbclient): every
output of a closed or exited terminal becomes its last screen, without the widget view."""

import subprocess
import sys

import nbclient
import nbformat
import pytest
from nbconvert import HTMLExporter

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kernel tests run on POSIX")

VIEW = "application/vnd.jupyter.widget-view+json"
BASH = 'Terminal(["bash", "--norc", "--noprofile"], env={"PS1": "$ ", "HISTFILE": "/dev/null"})'


def run(*cells: str, widget_state: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from conpty_widget import Terminal")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60, store_widget_state=widget_state).execute()
    return nb


def data(nb: nbformat.NotebookNode, cell: int) -> list[dict]:
    return [o["data"] for o in nb.cells[cell]["outputs"] if "data" in o]


def test_close_turns_every_output_of_the_terminal_into_its_last_screen():
    nb = run(f"t = {BASH}\nt.run('echo shown-$((6*7))')\nt", "display(t)", "t.close()")
    for cell in (1, 2):
        (out,) = data(nb, cell)
        assert VIEW not in out, f"cell {cell} still shows a view of a closed terminal"
        assert "shown-42" in out["text/html"] and "[process hung up (SIGHUP)]" in out["text/html"]
        assert out["text/plain"].startswith("Terminal(")
    # Exported to HTML, it is its screen (no widget manager to fetch from the network).
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert html.count("shown-42") >= 2


def test_with_block_leaves_the_screen_behind():
    nb = run(f"with {BASH} as t:\n    display(t)\n    t.run('echo inside-$((6*7))')")
    (out,) = data(nb, 1)
    assert VIEW not in out and "inside-42" in out["text/html"]


def test_an_exited_terminal_shows_its_last_screen_and_exit_banner():
    nb = run(
        "t = Terminal(['bash', '--norc', '-c', 'read x; echo bye-$((6*7)); exit 5'])\nt",
        "t.write('go\\r')\nt.wait(10)",
    )
    (out,) = data(nb, 1)
    assert VIEW not in out
    assert "bye-42" in out["text/html"] and "[process exited with code 5]" in out["text/html"]


def test_a_command_that_exits_at_once_gets_its_saved_screen():
    for _ in range(5):  # the exit races Session() returning
        nb = run("t = Terminal(['bash', '--norc', '-c', 'echo bye-$((6*7)); exit 5'])", "import time\ntime.sleep(1)\nt")
        (out,) = data(nb, 2)
        assert VIEW not in out and "bye-42" in out["text/html"], out


def test_a_running_terminal_keeps_its_view_and_its_screen():
    nb = run(f"t = {BASH}\nt.run('echo live-$((6*7))')\nt", widget_state=True)
    (out,) = data(nb, 1)
    assert VIEW in out and "live-42" in out["text/html"]


def test_close_after_the_comm_is_gone_and_failed_constructions_print_nothing():
    code = """
import gc, logging
logging.basicConfig(level=logging.WARNING)
from conpty_widget import Terminal
t = Terminal(["sh"])
t.comm.close()  # the host's comm went first (a Panel session destroyed, a page gone)
t.close()
t.close()
for kwargs in ({"cwd": "/nonexistent/dir"}, {"rows": 0}, {"cols": "80"}):
    try:
        Terminal(["sh"], **kwargs)
    except (OSError, ValueError) as exc:
        print(type(exc).__name__, exc)
gc.collect()
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("FileNotFoundError") and "/nonexistent/dir" in lines[0] and "working directory" in lines[0]
    assert lines[1:] == ["ValueError rows must be an integer from 1 to 1000, not 0",
                         "ValueError cols must be an integer from 1 to 2000, not '80'"]


def test_several_terminals_store_the_front_end_once():
    nb = run(*[f"t{i} = {BASH}\nt{i}" for i in range(3)], widget_state=True)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    bundles = [m["state"] for m in state if m["state"].get("_anywidget_id", "").endswith(".Bundle")]
    terminals = [m["state"] for m in state if m["state"].get("_anywidget_id", "").endswith(".Terminal")]
    assert len(terminals) == 3 and len(bundles) == 1 and len(bundles[0]["code"]) > 100_000
    assert all(len(t["_esm"]) < 2000 and t["_bundle"].startswith("IPY_MODEL_") for t in terminals)
