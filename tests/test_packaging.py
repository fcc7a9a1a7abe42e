"""The package as a user gets it: the sdist and the wheel (``python -m build``), a wheel built
from the sdist with no Node on PATH, what the wheel holds, and the wheel installed into a fresh
venv running a Terminal in a real kernel of that venv."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import conpty_widget

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the Linux side of the suite"),
    pytest.mark.timeout(300),  # a hang guard: a first test also sets up the builds or the venv
]

ROOT = pathlib.Path(__file__).resolve().parents[1]
VERSION = conpty_widget.__version__
NAME = f"conpty_widget-{VERSION}"


@dataclass
class Dists:
    sdist: pathlib.Path
    wheel: pathlib.Path  # built from the sdist, without Node
    wheel_log: str
    path: str  # the PATH it was built with


def build(args: list[str], env: dict[str, str] | None = None) -> str:
    """``python -m build`` (isolated: its build requirements from the index); its output."""
    proc = subprocess.run([sys.executable, "-m", "build", *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"python -m build {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    tmp = tmp_path_factory.mktemp("dists")
    build(["--sdist", "--outdir", str(tmp / "sdist"), str(ROOT)])  # from the repository: bundles if stale
    (sdist,) = (tmp / "sdist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    nothing = tmp / "empty-bin"  # PATH: no node, no npm, nothing else either
    nothing.mkdir()
    env = {**os.environ, "PATH": str(nothing)}
    log = build(["--wheel", "--outdir", str(tmp / "wheel"), str(tmp / "unpacked" / NAME)], env)
    (wheel,) = (tmp / "wheel").glob("*.whl")
    return Dists(sdist, wheel, log, env["PATH"])


def test_the_sdist_carries_the_front_end_and_builds_a_wheel_without_node(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as tar:
        names = set(tar.getnames())
    for path in ("conpty_widget/static/widget.js", "conpty_widget/static/widget.css", "PKG-INFO", "LICENSE", "js/src/widget.ts"):
        assert f"{NAME}/{path}" in names, path
    assert not any("node_modules" in n for n in names)
    assert shutil.which("npm", path=dists.path) is None and shutil.which("node", path=dists.path) is None
    assert "Skip-if-exists file(s) found" in dists.wheel_log  # hatch-jupyter-builder never tried npm


def test_the_wheel_holds_the_front_end_types_license_and_server_config(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"{NAME}.dist-info/METADATA").decode()
        config = json.loads(whl.read(f"{NAME}.data/data/etc/jupyter/jupyter_server_config.d/conpty_widget.json"))
        bundle = whl.read("conpty_widget/static/widget.js")
    assert {"conpty_widget/static/widget.js", "conpty_widget/static/widget.css", "conpty_widget/py.typed",
            f"{NAME}.dist-info/licenses/LICENSE", "conpty_widget/shell/integration.bash"} <= names  # fmt: skip
    assert not any(n.startswith(("tests/", "js/", "bench/")) for n in names)
    assert config == {"ServerApp": {"jpserver_extensions": {"conpty_widget": True}}}
    assert len(bundle) > 100_000  # xterm.js and the view, bundled
    # One version: conpty_widget.__version__ is the metadata's (and the front end's package.json's).
    assert re.search(r"^Version: (.+)$", metadata, re.M)[1] == VERSION  # type: ignore[index]
    assert json.loads((ROOT / "js" / "package.json").read_text())["version"] == VERSION
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Requires-Python: >=3.10" in metadata


@pytest.fixture(scope="module")
def venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """A fresh venv with the wheel (from the sdist) and ipykernel: nothing of the repository.
    This interpreter's pip installs into it (``--python``): a pip of its own would cost its setup."""
    path = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    pip = [sys.executable, "-m", "pip", "--python", str(path / "bin" / "python"), "install", "-q", "--no-compile",
           "--disable-pip-version-check"]  # fmt: skip
    proc = subprocess.run([*pip, str(dists.wheel), "ipykernel"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pip install failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    yield path


def test_the_installed_wheel_runs_a_terminal_in_a_real_kernel(venv: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    from harness.protocol_client import Page

    spec = tmp_path / "kernels" / "wheel"
    spec.mkdir(parents=True)
    argv = [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "the wheel", "language": "python"}))
    km = KernelManager(kernel_name="wheel", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    km.start_kernel(cwd=str(tmp_path), env=env)  # not the repository's folder: nothing to import from there
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        page = Page(kc)
        page.execute(
            "import conpty_widget\nfrom conpty_widget import Terminal\n"
            f"t = Terminal(['bash'], env={{'HOME': {str(tmp_path)!r}}})\nr = t.run('echo from-the-wheel-$((6*7))')"
        )
        assert page.evaluate("r.output") == repr("from-the-wheel-42\n")
        location = page.evaluate("conpty_widget.__file__")
        assert location.startswith(repr(str(venv))[:-1]), location
        assert page.evaluate("conpty_widget.__version__") == repr(VERSION)
        page.execute("t.close()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
