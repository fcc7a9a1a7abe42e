"""A Linux-side launcher for a Windows ipykernel under Wine, and the kernelspec that runs it.

A Linux Jupyter (jupyter_client, a Jupyter server) starts the kernelspec written by
:func:`write_kernelspec`, whose argv is this file run by a Linux Python::

    python3 wine_kernel.py --python /…/python.exe [--prefix DIR] [--pythonpath DIR] {connection_file}

The launcher starts ``wine python.exe -m ipykernel_launcher -f Z:\\…\\kernel-….json`` and
avoids the three ways a plain ``wine python.exe`` kernelspec fails:

1. A Windows Python under Wine dies at start ("init_sys_streams … Invalid handle") when its
   stdout or stderr is a regular file, as a Jupyter server's log often is: the kernel gets a
   pipe, which this launcher copies to its own stdout.
2. jupyter_client interrupts a kernel with ``killpg(SIGINT)``, and Wine leaves the Windows
   processes the kernel starts (the terminal's cmd.exe) in the kernel's Unix process group:
   the group signal would end the shell too. The kernel runs in a session of its own, and
   SIGINT, SIGTERM and SIGHUP sent to the launcher are forwarded to the kernel's pid only.
3. ``JPY_PARENT_PID`` holds a Linux pid, which a Windows ipykernel takes for a HANDLE to wait
   on (it exits when that handle is signalled): it is removed. The parent is watched from the
   Linux side instead: the kernel gets ``PR_SET_PDEATHSIG`` (SIGKILL when this launcher dies,
   even by SIGKILL), and this launcher gets SIGTERM when its own parent dies.

Run without ``{connection_file}`` in a test: ``write_kernelspec`` is imported from here.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading

PR_SET_PDEATHSIG = 1  # linux/prctl.h
KERNEL_NAME = "conpty-wine"
#: A Windows kernel's start under Wine, page to idle, as a hang guard: 9-12 s on a quiet machine,
#: a minute and more at load 16.
KERNEL_START = 240
#: Variables of the Linux side that must not reach the Windows Python.
DROPPED = ("JPY_PARENT_PID", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV")


def windows_path(path: str | os.PathLike[str]) -> str:
    """The Windows path of a Unix path: Wine maps ``/`` to drive ``Z:``."""
    return "Z:" + str(pathlib.Path(path).resolve()).replace("/", "\\")


def write_kernelspec(
    jupyter_path: pathlib.Path,
    python_exe: pathlib.Path,
    prefix: pathlib.Path,
    *,
    pythonpath: pathlib.Path | None = None,
    name: str = KERNEL_NAME,
    host_python: str = sys.executable,
) -> pathlib.Path:
    """Write ``<jupyter_path>/kernels/<name>/kernel.json``; return its folder.

    ``python_exe``: the Windows ``python.exe`` (a Unix path) with ipykernel installed;
    ``prefix``: the Wine prefix it runs in; ``pythonpath``: a folder put first on the
    Windows Python's path (the work tree, for the package under test).
    """
    argv = [host_python, str(pathlib.Path(__file__).resolve()), "--python", str(python_exe), "--prefix", str(prefix)]
    if pythonpath is not None:
        argv += ["--pythonpath", str(pythonpath)]
    argv.append("{connection_file}")
    spec = {
        "argv": argv,
        "display_name": "Python 3 (Windows, Wine)",
        "language": "python",
        # A Windows ipykernel ignores interrupt_request messages ("not supported on Windows").
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }
    folder = jupyter_path / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def _set_pdeathsig(sig: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _kernel_preexec(launcher: int) -> None:
    # Runs in the forked child before exec (start_new_session has made it a session leader).
    _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != launcher:  # the launcher died before prctl took effect
        os._exit(1)


def _copy(fd: int, out: int) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        try:
            os.write(out, data)
        except OSError:
            pass  # nobody reads our output: keep draining the kernel's, or it would block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the Windows python.exe (Unix path)")
    parser.add_argument("--prefix", help="WINEPREFIX (default: the inherited one)")
    parser.add_argument("--pythonpath", help="folder put first on the Windows Python's path (Unix path)")
    parser.add_argument("connection_file")
    args = parser.parse_args(argv)

    parent = os.getppid()
    _set_pdeathsig(signal.SIGTERM)  # our parent died: end the kernel as if asked to
    if os.getppid() != parent:
        return 1

    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.setdefault("WINEDEBUG", "-all")
    env.setdefault("WINEDLLOVERRIDES", "mscoree,mshtml=")  # no Mono/Gecko prompts in a new prefix
    if args.prefix:
        env["WINEPREFIX"] = args.prefix
    if args.pythonpath:
        env["PYTHONPATH"] = windows_path(args.pythonpath)

    read_fd, write_fd = os.pipe()
    launcher = os.getpid()
    kernel = subprocess.Popen(
        ["wine", args.python, "-m", "ipykernel_launcher", "-f", windows_path(args.connection_file)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=write_fd,
        stderr=write_fd,
        start_new_session=True,
        preexec_fn=lambda: _kernel_preexec(launcher),
    )
    os.close(write_fd)

    def forward(sig: int, _frame: object) -> None:
        try:
            os.kill(kernel.pid, sig)  # the kernel's pid only: never its process group
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)

    # A daemon thread: Wine's helper processes may hold the pipe open after the kernel exits.
    copier = threading.Thread(target=_copy, args=(read_fd, sys.stdout.fileno()), daemon=True)
    copier.start()
    code = kernel.wait()
    copier.join(2.0)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
