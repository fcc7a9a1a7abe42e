"""run() and the screen model in cmd.exe through a real pseudoconsole (Windows, or Wine)."""

from __future__ import annotations

import shutil

import pytest

from conpty_widget import Terminal
from conpty_widget.backends import _win32


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
        t.wait_for(r"(?m)>$", timeout=60)  # on the screen: the prompt's marks may follow it in the stream
        r = t.run("Write-Output hello; cmd /c exit 4", timeout=60)
        assert (r.output.strip().splitlines()[-1], r.exit_code) == ("hello", 4)


def test_the_widget_tells_its_views_the_conpty_build(cmd):
    """Views set xterm.js's windowsPty from this trait: the real build, never a shimmed one."""
    from conpty_widget.backends.conpty import windows_build

    assert cmd._conpty_build == windows_build() > 0


# Shell integration: the marks of conpty_widget/shell_integration.py. Wine's cmd ignores a PROMPT
# it inherits (it sets $P$G); Wine's console passes the marks on in place, Windows' moves them
# ahead of the text written with them.
WINE = _win32.wine_version() is not None


def test_cmd_prompt_has_the_marks_around_its_own():
    with Terminal("cmd.exe", env={"PROMPT": None}) as t:
        r = t.run("echo %PROMPT%", timeout=30)
        assert (r.output, r.exit_code) == ("$E]133;D$E\\$E]133;A$E\\$P$G$E]133;B$E\\\n", 0)
        t.run("set PROMPT=cw$G", timeout=30)  # the user's own prompt, set as they would
        t.wait_for(r"(?m)^cw>$", timeout=30)
    own = "$E]133;A$E\\$P$G$E]133;B$E\\"  # marks of the user's own are kept as they are
    with Terminal("cmd.exe", env={"prompt": own}) as t:
        assert t.run("echo %PROMPT%", timeout=30).output == ("$P$G\n" if WINE else own + "\n")
    with Terminal(["cmd.exe", "/k", "echo started"], env={"PROMPT": None}) as t:  # arguments: started as it is
        t.expect("started", timeout=30)
        assert t.run("echo %PROMPT%", timeout=30).output == "$P$G\n"


def test_cmd_marks_reach_the_kernel_around_the_prompt():
    with Terminal("cmd.exe") as t:
        t.expect(r"\x1b\]133;B(?:\x1b\\|\x07)", timeout=30)  # cmd writes ST; a console may pass BEL on
        t.run("echo one", timeout=30)
        model = t._session.screen_model()
        assert model.last_mark() == "B"
        # The screen shows the prompt and nothing of the marks.
        assert [line for line in t.screen_lines() if line][-1].endswith(">")
        # Wine's console keeps the marks in place: B where input starts. (Windows' ConPTY moves
        # them ahead of the prompt's text, so there their place is not checked.)
        assert model.at_prompt() if WINE else model.at_prompt() is not None


def test_powershell_is_started_with_its_script_after_the_profiles():
    import base64

    from conpty_widget.shell_integration import inject, integration

    argv, env = inject([r"C:\Program Files\PowerShell\7\pwsh.exe", "-NoLogo"], {"A": "1"})
    assert argv[:4] == [r"C:\Program Files\PowerShell\7\pwsh.exe", "-NoLogo", "-NoExit", "-EncodedCommand"]
    script = base64.b64decode(argv[4]).decode("utf-16-le")
    assert "function global:prompt" in script and "PSConsoleHostReadLine" in script and env == {"A": "1"}
    assert "-NoProfile" not in argv  # the user's profiles still run, before the script
    assert integration(["powershell", "-NoProfile"]) is None and integration(["powershell.exe"]) == "powershell"


@pytest.mark.skipif(
    _win32.wine_version() is not None or not (shutil.which("pwsh") or shutil.which("powershell")),
    reason="needs a real PowerShell (Wine's powershell.exe is a stub)",
)
def test_powershell_marks_prompts_and_statuses():
    with Terminal(shutil.which("pwsh") or "powershell") as t:
        t.expect(r"\x1b\]133;B\x07", timeout=60)
        r = t.run("Write-Output hello; cmd /c exit 4", timeout=60)
        assert (r.output.strip().splitlines()[-1], r.exit_code) == ("hello", 4)
        t.write("cmd /c exit 5\r")
        t.expect(r"\x1b\]133;D;5\x07", timeout=30)  # the prompt's own status mark
        t.expect(r"\x1b\]133;B\x07", timeout=30)
        assert "PS " in t.screen_text()  # the user's (here: the default) prompt is kept
        t.write("Start-Sleep 5\r")
        t.expect(r"\x1b\]133;C\x07", timeout=30)
        with pytest.raises(RuntimeError, match="at its prompt"):
            t.run("Write-Output no", timeout=30)
        t.expect(r"\x1b\]133;B\x07", timeout=30)
        assert t.run("Write-Output yes", timeout=60).output.strip().splitlines()[-1] == "yes"
