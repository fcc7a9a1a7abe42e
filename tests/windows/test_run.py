"""run() and the screen model in cmd.exe through a real pseudoconsole (Windows, or Wine)."""

from __future__ import annotations

import shutil

import pytest

from conpty_widget import Terminal
from conpty_widget.backends import _win32


@pytest.fixture
def cmd():
    t = Terminal("cmd.exe")
    t.expect(r">", timeout=30)
    yield t
    t.close()


def test_run_in_cmd_keeps_only_the_output_and_the_exit_code(cmd):
    r = cmd.run("echo hello world", timeout=30)
    assert (r.output, r.exit_code) == ("hello world\n", 0)
    # The echoed command line ("echo CW^B1:& ...") is not output, and the markers are not either.
    r = cmd.run("cmd /c exit 3", timeout=30)
    assert (r.output.strip(), r.exit_code) == ("", 3)


def test_screen_text_in_cmd(cmd):
    cmd.run("echo on-the-screen", timeout=30)
    assert "on-the-screen" in cmd.screen_lines()


@pytest.mark.skipif(
    _win32.wine_version() is not None or not (shutil.which("pwsh") or shutil.which("powershell")),
    reason="needs a real PowerShell (Wine's powershell.exe is a stub)",
)
def test_run_in_powershell():
    with Terminal(shutil.which("pwsh") or "powershell") as t:
        t.expect(r"> ?$", timeout=60)
        r = t.run("Write-Output hello; cmd /c exit 4", timeout=60)
        assert (r.output.strip().splitlines()[-1], r.exit_code) == ("hello", 4)


def test_the_widget_tells_its_views_the_conpty_build(cmd):
    """Views set xterm.js's windowsPty from this trait: the real build, never a shimmed one."""
    from conpty_widget.backends.conpty import windows_build

    assert cmd._conpty_build == windows_build() > 0
