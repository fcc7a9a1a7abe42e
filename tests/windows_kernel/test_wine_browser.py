"""Terminal("cmd.exe") in a Windows kernel under Wine, in JupyterLab 4 and Notebook 7 (Chromium):
the page scenarios of tests/browser/page_scenarios.py (render, keys, focus changes, exit; interrupt of
a busy cell while typing; reload; saved screen), with cmd.exe as the shell.

The page, server and browser fixtures are those of tests/browser; only the kernel differs.
"""

from __future__ import annotations

import os

from tests.browser import page_scenarios as scenario
from tests.browser.conftest import CHROMIUM
from tests.browser.jupyter_page import Notebook

from .conftest import KERNEL_NAME, KERNEL_START

# Not a skip: a missing Chromium is a broken set-up here (./dev test installs it).
assert os.path.exists(CHROMIUM), f"the browser tests need Debian's chromium at {CHROMIUM}"

# Wine's conhost never asks for focus reports (Windows' ConPTY asks, and consumes them).
CMD = scenario.Shell(
    "cmd", "Terminal('cmd.exe')", KERNEL_NAME, r">$", "%COMSPEC:~-7%", "cmd.exe", start_timeout=60, kernel_start=KERNEL_START
)


def test_cmd_renders_takes_keys_and_exits(notebook: Notebook) -> None:
    scenario.renders_takes_keys_and_exits(notebook, CMD)


def test_interrupting_a_busy_cell_while_typing(notebook: Notebook) -> None:
    scenario.interrupting_a_busy_cell_while_typing(notebook, CMD)


def test_reload_restores_the_screen(notebook: Notebook) -> None:
    scenario.reload_restores_the_screen(notebook, CMD)


def test_the_saved_screen_shows_without_the_kernel(page, jupyter_server, save_state) -> None:
    scenario.the_saved_screen_shows_without_the_kernel(page, jupyter_server, CMD)
