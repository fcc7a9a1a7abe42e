"""Which notebooks ``pytest --nbval`` runs where: one notebook per platform.

``windows-*.ipynb`` run Windows' own programs (cmd.exe in a pseudoconsole) and store what they
printed there: they run on a Windows kernel only, that is with pytest on Windows, or with
``--nbval-kernel-name`` naming a Windows kernel (tests/windows/run-under-wine.sh passes the Wine
kernel of tests/windows/wine_kernel.py). The others run on the Linux kernel (``./dev test``).
Outputs that vary by platform could not be stored once for both; the notebook says which it is.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

#: Kernelspecs that are Windows kernels (tests/windows/wine_kernel.py's KERNEL_NAME).
WINDOWS_KERNELS = {"conpty-wine"}


def pytest_ignore_collect(collection_path: pathlib.Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".ipynb":
        return None
    kernel = config.getoption("nbval_kernel_name", None)
    on_windows = sys.platform == "win32" or kernel in WINDOWS_KERNELS
    return collection_path.name.startswith("windows-") != on_windows
