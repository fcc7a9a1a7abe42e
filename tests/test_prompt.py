"""Terminal(prompt=...): a plain prompt after the user's startup files, in real bash, zsh and sh,
so that the same commands give the same screen whatever the user's files, HOME and folder."""

import re
import shutil
import sys

import pytest

from conpty_widget import Terminal
from conpty_widget.shell_integration import PROMPT_VAR, inject, with_prompt

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")

SHELLS = ["bash", "zsh", "sh", "dash"]
# Startup files that print, and set a prompt of user, host and folder (a right one in zsh).
STARTUP = {
    ".bashrc": "echo welcome from bashrc\nPS1='\\u@\\h:\\w\\$ '\n",
    ".zshrc": "echo welcome from zshrc\nPS1='%n@%m:%~%# '\nRPROMPT='%D{%T}'\n",
    ".shrc": "PS1=\"$USER@$(hostname):\\$PWD\\$ \"\n",  # (sh is not cleared: see prompt.sh)
}


def home(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    for file, text in STARTUP.items():
        (folder / file).write_text(text)
    return folder


def screen(shell, home, cwd, prompt="$ "):
    """The screen after two commands, in ``shell`` with ``home`` and ``cwd``."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    env = {"HOME": str(home), "ENV": str(home / ".shrc"), "HISTFILE": str(home / "history"), "ZDOTDIR": None}
    with Terminal(shell, env=env, cwd=cwd, prompt=prompt, rows=8, cols=50) as t:
        assert t.run("echo $((6 * 7))").output == "42\n"
        assert t.run("cd / && echo done").output == "done\n"
        t.wait_for(re.escape(prompt) + "$")  # the prompt, back
        return t.screen_text().rstrip("\n")  # without the blank rows below


@pytest.mark.parametrize("shell", SHELLS)
def test_the_same_commands_give_the_same_screen_in_another_home_and_folder(shell, tmp_path):
    first = screen(shell, home(tmp_path, "teacher"), tmp_path / "teacher")
    second = screen(shell, home(tmp_path, "student"), tmp_path)
    assert first == second
    assert "welcome" not in first and "@" not in first  # the startup files' output is cleared
    assert first.splitlines()[0].startswith("$ ") and first.splitlines()[-1] == "$"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_prompt_is_shown_as_written(shell, tmp_path):
    """No escape of the shell's prompt language means anything in it (bash's \\u, $, `;
    zsh's %n); the prompt keeps shell integration's marks (run() types the command alone)."""
    text = "\\u %n $HOME `id` >"
    shown = screen(shell, home(tmp_path, "h"), tmp_path, prompt=text)
    assert shown.splitlines()[0] == text + "echo $((6 * 7))"
    assert shown.splitlines()[-1] == text


def test_sh_reads_the_users_env_file_first(tmp_path):
    if shutil.which("dash") is None:
        pytest.skip("dash is not installed")
    folder = home(tmp_path, "h")
    (folder / ".shrc").write_text("FROM_ENV=yes\nPS1='user> '\n")
    with Terminal("dash", env={"HOME": str(folder), "ENV": str(folder / ".shrc")}, prompt="$ ") as t:
        assert t.run("echo $FROM_ENV; echo ${CONPTY_WIDGET_PROMPT-unset}").output == "yes\nunset\n"
        # The user's ENV is given back: a shell started inside reads it, not ours.
        assert t.run("echo $ENV").output == f"{folder / '.shrc'}\n"
    with Terminal("dash", env={"HOME": str(folder), "ENV": None}, prompt="$ ") as t:
        assert t.run("echo ${ENV-unset}").output == "unset\n"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_variable_does_not_reach_the_shells_programs(shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    with Terminal(shell, env={"HOME": str(tmp_path), "ZDOTDIR": None}, prompt="$ ") as t:
        assert t.run(f"echo ${{{PROMPT_VAR}-unset}}").output == "unset\n"


def test_no_prompt_keeps_the_users(tmp_path):
    folder = home(tmp_path, "h")
    with Terminal("bash", env={"HOME": str(folder)}, rows=8, cols=50) as t:
        t.run("true")
        text = t.screen_text()
    assert "welcome from bashrc" in text and "@" in text


@pytest.mark.parametrize(
    "command, prompt, error",
    [
        (["bash", "--norc"], "$ ", ValueError),  # its startup is not ours to follow
        (["sh", "-c", "true"], "$ ", ValueError),
        ("python3", "$ ", ValueError),
        ("bash", "", ValueError),
        ("bash", "two\nlines", ValueError),
        ("bash", "\x1b[31m$ ", ValueError),
        ("bash", b"$ ", TypeError),
    ],
)
def test_what_cannot_take_a_plain_prompt_is_a_clear_error(command, prompt, error):
    with pytest.raises(error, match="prompt"):
        Terminal(command, prompt=prompt)


def test_cmd_gets_the_prompt_in_its_own_codes(monkeypatch):
    """cmd.exe (Windows only; the command line is checked here, cmd itself in tests/windows)."""
    monkeypatch.setattr("conpty_widget.shell_integration.os.name", "nt")
    argv, env = inject(["cmd.exe"], with_prompt({"PROMPT": "$P$G"}, "(a) $ & | < > = b"))
    assert argv[:3] == ["cmd.exe", "/k", "prompt"] and argv[-1] == "cls" and PROMPT_VAR not in env
    assert "$Ca$F$S$$$S$A$S$B$S$L$S$G$S$Q$Sb$E]133;B" in argv[3]
    with pytest.raises(ValueError, match="cmd.exe cannot show"):
        inject(["cmd.exe"], with_prompt({}, "100%"))
