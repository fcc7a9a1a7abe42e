"""Strict ``pytest --nbval`` of a teacher's notebook (notebooks/lesson.ipynb: a terminal shown,
commands run, shown again, closed at the end; no tags), with the plugin the package gives pytest
(conpty_widget/pytest_nbval.py): it passes on another machine (another hostname, HOME and folder),
and fails where a terminal's last screen differs from the stored one, or never comes."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import nbformat
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="bash, and unshare for another hostname")

LESSON = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "lesson.ipynb"


def nbval(folder: pathlib.Path, *options: str, home: pathlib.Path | None = None, host: str | None = None):
    """``pytest --nbval`` of lesson.ipynb in ``folder`` (with ``home``; under ``host``, a
    hostname of its own: ``unshare --uts``, as root)."""
    env = {**os.environ, "HOME": str(home or folder)}
    argv = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q", *options, "lesson.ipynb"]
    if host is not None:
        argv = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *argv]
    return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def copy(tmp_path: pathlib.Path, name: str) -> pathlib.Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(LESSON, folder)
    return folder


def stored() -> nbformat.NotebookNode:
    return nbformat.read(LESSON, as_version=4)


def test_the_lesson_passes_on_another_machine(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("another hostname needs unshare --uts as root (CI runs as root)")
    home = tmp_path / "student-home"
    home.mkdir()
    (home / ".bashrc").write_text("echo 'Welcome, student!'\nPS1='\\u@\\h:\\w\\$ '\nalias ls='ls -F --color=always'\n")
    done = nbval(copy(tmp_path, "somewhere-else"), home=home, host="student-laptop")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # The lesson shows its terminal twice, and closes it in its last cell.
    cells = [c for c in stored()["cells"] if c["cell_type"] == "code"]
    shown = [o for c in cells for o in c["outputs"] if "conpty_widget" in o.get("metadata", {})]
    assert len(shown) == 2 and all(o["metadata"]["conpty_widget"]["ended"] for o in shown)
    assert all("This terminal has ended: run the notebook" in o["data"]["text/html"] for o in shown)
    assert not any(c["metadata"].get("tags") for c in cells)
    assert f"{len(cells)} passed" in done.stdout


def test_without_the_plugin_nbval_compares_the_first_shown_screen_and_fails(tmp_path):
    done = nbval(copy(tmp_path, "lesson"), "-p", "no:conpty_widget")
    assert done.returncode == 1 and "2 failed" in done.stdout, done.stdout[-3000:]


def test_a_last_screen_that_differs_fails_where_the_terminal_ended(tmp_path):
    folder = copy(tmp_path, "lesson")
    nb = stored()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    output = code[0]["outputs"][0]
    output["data"]["text/html"] = output["data"]["text/html"].replace("plums", "kiwis")
    nbformat.write(nb, folder / "lesson.ipynb")
    done = nbval(folder)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-3000:]
    last = len(code) - 1
    assert f"lesson.ipynb::Cell {last}" in done.stdout  # where the terminal ended
    assert "The output of cell 0 (its terminal ended) differs" in done.stdout and "kiwis" in done.stdout


def test_a_terminal_stored_ended_that_the_run_never_ends_fails_at_the_end(tmp_path):
    folder = copy(tmp_path, "lesson")
    nb = stored()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[-1]["source"] = code[-1]["source"].replace("term.close()", "term.write('')")  # stays open
    nbformat.write(nb, folder / "lesson.ipynb")
    done = nbval(folder)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "still running at the end of the notebook" in done.stdout
