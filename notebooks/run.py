"""Run the notebooks in this folder and store them with their outputs, ready for ``pytest --nbval``.

    .venv/bin/python notebooks/run.py                          # every notebook here but the Windows ones
    .venv/bin/python notebooks/run.py notebooks/automation.ipynb
    .venv/bin/python notebooks/run.py --kernel conpty-wine notebooks/windows-conpty.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel, in this folder, as nbval will
run it. The stored copy keeps the outputs but not ``metadata.widgets`` (anywidget would embed
its whole JavaScript bundle there for every widget class) nor execution timings. Then check with
``.venv/bin/python -m pytest --nbval -p no:cacheprovider notebooks`` (``./dev test`` does).
The Windows notebooks (``windows-*.ipynb``) need a Windows kernel: ``--kernel`` names one (under
Wine: the kernelspec of tests/windows/wine_kernel.py, which tests/windows/run-under-wine.sh writes
into ``.winpy/jupyter-path``: put that on ``JUPYTER_PATH``); notebooks/conftest.py says where nbval runs them.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbclient
import nbformat
from jupyter_client.kernelspec import get_kernel_spec

HERE = pathlib.Path(__file__).resolve().parent


def run(path: pathlib.Path, kernel: str = "python3", timeout: int = 120) -> None:
    """Execute ``path`` in place and strip what must not be stored."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    # The kernelspec as JupyterLab and Notebook 7 write it when they open the notebook: any other
    # display name would mark the notebook modified before anything ran. Always python3: a Windows
    # notebook run by another kernel here (--kernel) is for a Windows PC's own python3.
    spec = get_kernel_spec("python3")
    nb.metadata.kernelspec = {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every notebook in notebooks/")
    parser.add_argument("--kernel", default="python3", help="the kernelspec to run them in (default: python3)")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(p for p in HERE.glob("*.ipynb") if not p.name.startswith("windows-")):
        print(f"running {path} in {args.kernel}", file=sys.stderr)
        run(path, args.kernel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
