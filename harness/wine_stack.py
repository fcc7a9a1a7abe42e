"""The Windows lab stack under Wine, for the tests (tests/windows_stack) and the benchmarks.

A Jupyter server (JupyterLab with Notebook 7) run by a Windows CPython under Wine from a Windows
venv where the package was installed from its wheel as a user installs it (tests/windows/
run-under-wine.sh prepares it and names it in ``CONPTY_WINE_STACK``, its Wine prefix in
``CONPTY_WINE_STACK_PREFIX``); its kernels are the venv's own ``python3`` kernelspec, Windows
ipykernels. Linux Chromium drives the page.

What Wine needs here and Windows does not, all of it set-up (the package knows nothing of it):

* the server's output goes through a pipe: a Windows Python under Wine dies at start when its
  stdout or stderr is a regular file (the log);
* an X display (Xvfb) for the whole prefix: JupyterLab's own terminal (pywinpty) fails under
  Wine without one ("agent died"); the package needs none;
* JupyterLab's terminal runs cmd.exe: its default on Windows, powershell.exe, is a stub in Wine;
* the prefix's ``bcryptprimitives.dll`` (tests/windows_stack/wine_gaps.py, written by the script);
* the prefix is the stack's own, and is ended (``wineserver -k``) with the server: a runner
  ending its own prefix would take a shared one's server with it.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Iterator, Sequence

from .jupyter_server import RunningServer, running_server

STACK_ENV, PREFIX_ENV = "CONPTY_WINE_STACK", "CONPTY_WINE_STACK_PREFIX"
#: Variables of the Linux side that must not reach the Windows Python.
DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "JPY_PARENT_PID")


def windows_path(path: pathlib.Path) -> str:
    """The Windows path of a Unix path: Wine maps ``/`` to drive ``Z:``."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def configured() -> tuple[pathlib.Path, pathlib.Path] | None:
    """The stack's Windows venv and Wine prefix, if the environment names them."""
    venv, prefix = os.environ.get(STACK_ENV), os.environ.get(PREFIX_ENV)
    return (pathlib.Path(venv), pathlib.Path(prefix)) if venv and prefix else None


@contextlib.contextmanager
def x_display() -> Iterator[str]:
    """A headless X server (Xvfb) on a free display number; yields ``DISPLAY``."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x1024x24"],
                            pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextlib.contextmanager
def windows_server(
    base: pathlib.Path,
    venv: pathlib.Path,
    prefix: pathlib.Path,
    *,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    """``jupyter lab`` (Notebook 7 too) on the Windows venv ``venv`` under Wine in ``prefix``;
    ``env``: more variables for the server and its kernels (e.g. ``CONPTY_WIDGET_DIRECT``)."""
    python = venv / "Scripts" / "python.exe"
    command = [
        "bash", "-c", '"$@" 2>&1 | cat', "wine-pipe",  # a pipe, never a file, as the server's output
        "wine", str(python), "-m", "jupyter", "lab",
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
        '--ServerApp.terminado_settings={"shell_command": ["cmd.exe"]}',
    ]  # fmt: skip
    wine = {"WINEPREFIX": str(prefix), "WINEDEBUG": "-all", "WINEDLLOVERRIDES": "mscoree,mshtml=", **{k: "" for k in DROPPED}}
    try:
        with x_display() as display:
            env = {**wine, "DISPLAY": display, **(env or {})}
            # a loaded machine: the first start in a prefix takes 10-40 s
            with running_server(base, [*command, *options], env=env, timeout=240, server_path=windows_path) as server:
                yield server
    finally:
        # Everything the server started in its prefix (kernels, shells, conhosts, Wine's helpers).
        subprocess.run(["wineserver", "-k"], env={**os.environ, "WINEPREFIX": str(prefix)}, check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
