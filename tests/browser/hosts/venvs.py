"""Virtual environments of the hosts the terminal is tested in, cached under ``.hosts/<name>/``.

Each host pins what it needs (nbclassic's Notebook 6 front end; JupyterLab 3 and nbclassic with
ipywidgets 7; marimo; Solara; Panel), which conflicts with the test venv's JupyterLab 4, so each gets a venv of
its own: the host from PyPI, this package's dependencies (``pyproject.toml``), and this package
itself as an editable install (a ``.pth`` naming the repository, plus the server companion's
config, as the wheel installs it), so the venv never needs rebuilding when the source changes;
and the npm packages (from the npm registry) that the host's page would otherwise fetch from a CDN.
A venv is rebuilt only when its requirements change (their hash is in ``.hosts/<name>/ready``).

    python tests/browser/hosts/venvs.py [NAME ...]   # create the missing ones, in parallel
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[3]
HOSTS_DIR = ROOT / ".hosts"

#: Venv name -> what it installs beside this package's dependencies.
HOSTS: dict[str, list[str]] = {
    "nbclassic": ["nbclassic==1.3.*", "ipykernel", "ipywidgets>=8,<9"],
    "ipywidgets7": ["jupyterlab==3.6.*", "nbclassic==1.3.*", "ipykernel", "ipywidgets==7.8.*"],
    "marimo": ["marimo==0.25.*"],
    "solara": ["solara==1.64.1"],
    "panel": ["panel==1.9.*", "ipywidgets_bokeh"],
}

#: The npm packages a host's page loads from a CDN, which its server can serve from a folder
#: instead: Solara proxies them from ``<prefix>/share/solara/cdn/<package>@<version>/``
#: (the versions its 1.64.1 page template names).
NPM_ASSETS: dict[str, tuple[str, list[str]]] = {
    "solara": ("share/solara/cdn", ["@widgetti/solara-vuetify3-app@5.2.0", "font-awesome@4.5.0", "requirejs@2.3.6"]),
}


def package_dependencies() -> list[str]:
    """This package's runtime dependencies, as ``pyproject.toml`` declares them."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def venv_dir(name: str) -> pathlib.Path:
    return HOSTS_DIR / name


def python(name: str) -> pathlib.Path:
    """The host venv's interpreter."""
    return venv_dir(name) / "bin" / "python"


def _requirements(name: str) -> list[str]:
    return [*HOSTS[name], *package_dependencies()]


def _key(name: str) -> str:
    text = "\n".join([sys.version, *_requirements(name), *NPM_ASSETS.get(name, ("", []))[1]])
    return hashlib.sha256(text.encode()).hexdigest()


def ready(name: str) -> bool:
    stamp = venv_dir(name) / "ready"
    return stamp.exists() and stamp.read_text() == _key(name)


def ensure(name: str) -> pathlib.Path:
    """Create the venv of host ``name`` unless it is current; return its interpreter. One process
    at a time per venv (the tests wait for a setup started before them)."""
    HOSTS_DIR.mkdir(exist_ok=True)
    with open(HOSTS_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready(name):
            _create(name)
    return python(name)


def _create(name: str) -> None:
    where = venv_dir(name)
    shutil.rmtree(where, ignore_errors=True)
    log = HOSTS_DIR / f"{name}.log"
    with open(log, "w") as out:
        def run(*argv: str | pathlib.Path) -> None:
            subprocess.run([str(a) for a in argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=True)

        try:
            run(sys.executable, "-m", "venv", where)
            run(python(name), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile", *_requirements(name))
        except subprocess.CalledProcessError:
            raise RuntimeError(f"could not create the {name} venv: {log.read_text()[-3000:]}") from None
    purelib = subprocess.run(
        [python(name), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (pathlib.Path(purelib) / "conpty_widget_editable.pth").write_text(f"{ROOT}\n")
    config = ROOT / "jupyter-config" / "jupyter_server_config.d"
    target = where / "etc" / "jupyter" / "jupyter_server_config.d"
    target.mkdir(parents=True, exist_ok=True)
    for file in config.iterdir():
        shutil.copy(file, target / file.name)
    if name in NPM_ASSETS:
        folder, packages = NPM_ASSETS[name]
        with tempfile.TemporaryDirectory() as tmp, open(log, "a") as out:
            for package in packages:
                tarball = subprocess.run(
                    ["npm", "pack", package, "--silent", f"--pack-destination={tmp}"],
                    capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
                ).stdout.split()[-1]  # fmt: skip
                dest = where / folder / package
                dest.mkdir(parents=True)
                with tarfile.open(pathlib.Path(tmp) / tarball) as tar:
                    for member in tar.getmembers():  # package/... -> dest/...
                        member.name = member.name.partition("/")[2]
                    tar.extractall(dest, members=[m for m in tar.getmembers() if m.name], filter="data")
                out.write(f"{package}: {dest}\n")
    (where / "ready").write_text(_key(name))


def main(names: list[str]) -> int:
    """Create the venvs of ``names`` (default: all) in parallel; report each."""
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        futures = {pool.submit(ensure, name): name for name in names}
        for future in concurrent.futures.as_completed(futures):
            try:
                print(f"{futures[future]}: {future.result()}")
            except RuntimeError as exc:
                failed += 1
                print(exc, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(HOSTS)))
