"""Run the notebooks in this folder and store them with their outputs, ready for ``pytest --nbval``.

    .venv/bin/python notebooks/run.py                          # every notebook here
    .venv/bin/python notebooks/run.py notebooks/automation.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel, in this folder, as nbval will
run it. The stored copy keeps the outputs but not ``metadata.widgets`` (anywidget would embed
its whole JavaScript bundle there for every widget class) nor execution timings. Then check with
``.venv/bin/python -m pytest --nbval -p no:cacheprovider notebooks`` (``./dev test`` does).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbclient
import nbformat
from jupyter_client.kernelspec import get_kernel_spec

HERE = pathlib.Path(__file__).resolve().parent


def run(path: pathlib.Path, timeout: int = 120) -> None:
    """Execute ``path`` in place and strip what must not be stored."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    # The kernelspec as JupyterLab and Notebook 7 write it when they open the notebook: any other
    # display name would mark the notebook modified before anything ran.
    spec = get_kernel_spec(client.kernel_name)
    nb.metadata.kernelspec = {"display_name": spec.display_name, "language": spec.language, "name": client.kernel_name}
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every notebook in notebooks/")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(HERE.glob("*.ipynb")):
        print(f"running {path}", file=sys.stderr)
        run(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
