"""Shell integration (OSC 133 marks) in real bash and zsh, run() on it, and wait_for()."""

import shutil
import sys

import pytest

from conpty_widget import Terminal
from conpty_widget.shell_integration import inject, integrates
from harness.process import children_named
from harness.wait import poll

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")


@pytest.fixture(params=["bash", "zsh"])
def term(request, tmp_path):
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    home = tmp_path / "home"
    home.mkdir()
    # The user's own startup file still runs: it sets the prompt and a variable.
    rc = ".bashrc" if request.param == "bash" else ".zshrc"
    # A PROMPT_COMMAND ending in ";", as pyenv-virtualenv's init leaves it (zsh ignores it).
    (home / rc).write_text("PS1='user> '\nPROMPT='user> '\nFROM_RC=yes\nPROMPT_COMMAND='FROM_PC=yes;'\n")
    t = Terminal([request.param], env={"HOME": str(home), "HISTFILE": str(home / "history"), "ZDOTDIR": None})
    yield t
    t.close()


def test_run_types_the_command_alone(term):
    r = term.run("ls /nonexistent")
    assert r.exit_code == 2 and "nonexistent" in r.output and "ls " not in r.output
    r = term.run("echo $FROM_RC; printf 'a\\033[1mb\\033[0m'")
    assert (r.output, r.raw, r.exit_code) == ("yes\nab", "yes\r\na\x1b[1mb\x1b[0m", 0)
    # On the screen: the user's prompt and the command as typed, nothing else.
    lines = term.screen_lines()
    assert lines[:2] == ["user> ls /nonexistent", "ls: cannot access '/nonexistent': No such file or directory"]
    assert lines[2] == "user> echo $FROM_RC; printf 'a\\033[1mb\\033[0m'"
    # Nothing extra in the history: the commands as typed, one entry each (bash numbers them).
    history = "history" if term.command == "bash" else "fc -ln 1"
    entries = [line.split(None, 1)[1] if term.command == "bash" else line for line in term.run(history).output.splitlines()]
    assert entries[:2] == ["ls /nonexistent", "echo $FROM_RC; printf 'a\\033[1mb\\033[0m'"]


def test_run_refuses_when_the_shell_is_not_at_its_prompt(term):
    term.write("read line\r")
    with pytest.raises(RuntimeError, match="at its prompt"):
        term.run("echo no")
    term.write("some input\r")
    assert term.run("echo $line").output == "some input\n"
    term.write("typed")
    with pytest.raises(RuntimeError, match="at its prompt"):
        term.run("echo no")
    term.write("\x15")  # Ctrl-U: the line is empty again
    assert term.run("echo yes").output == "yes\n"


def test_a_timed_out_run_then_the_next(term):
    with pytest.raises(TimeoutError):
        term.run("sleep 30; echo late", timeout=0.3)
    with pytest.raises(RuntimeError):  # sleep still runs
        term.run("echo no")
    poll("sleep to run", lambda: children_named(term.pid, "sleep"))  # a Ctrl-C while bash starts it is lost
    term.write("\x03")
    r = term.run("echo next")
    assert (r.output, r.exit_code) == ("next\n", 0)


def test_several_lines_are_typed_as_the_command(term):
    command = "for i in 1 2\ndo echo n$i\ndone\necho $((6*7)) | tr 4 x\n(exit 3)"
    r = term.run(command)
    assert (r.output, r.raw, r.exit_code) == ("n1\nn2\nx2\n", "n1\r\nn2\r\nx2\r\n", 3)
    # The screen shows the lines as typed after the user's prompt, then the output: no wrapper.
    lines = term.screen_lines()
    assert lines[:8] == ["user> for i in 1 2", "do echo n$i", "done", "echo $((6*7)) | tr 4 x", "(exit 3)", "n1", "n2", "x2"]
    assert term.run("echo $?").output == "3\n"
    # The history holds what a paste of these lines leaves: bash one entry per command, zsh one in all.
    if term.command == "bash":
        entries = [line.split(None, 1)[1] for line in term.run("history").output.splitlines()]
        assert entries[:3] == ["for i in 1 2; do echo n$i; done", "echo $((6*7)) | tr 4 x", "(exit 3)"]
    else:
        assert term.run("fc -ln 1 1").output == "for i in 1 2\\ndo echo n$i\\ndone\\necho $((6*7)) | tr 4 x\\n(exit 3)\n"
    # A here-document, a tab (pasted: no completion) and a newline inside quotes.
    r = term.run("cat <<EOF\nhello\tworld\nEOF\necho 'a\nb'")
    assert (r.output, r.exit_code) == ("hello\tworld\na\nb\n", 0)


def test_wait_for_matches_the_screen_not_the_stream(term):
    term.run("true")
    # A bracketed paste: the echo on the stream is wrapped in escapes, the screen shows the text.
    term.write("\x1b[200~echo pasted\x1b[201~")
    m = term.wait_for(r"user> (echo pasted)$", timeout=10)
    assert m.group(1) == "echo pasted"
    term.write("\x15")
    # A row that wrapped is joined to the next: the regex matches across the wrap.
    term.run("printf '%070d-wrapped-across\\n' 0")
    term.wait_for(r"0{60}-wrapped-across", timeout=10)
    with pytest.raises(TimeoutError, match="not on the screen") as info:
        term.wait_for(r"never shown", timeout=0.2)
    assert "wrapped-across" in str(info.value)
    with pytest.raises(TypeError):
        term.wait_for(42)


def test_only_plain_interactive_bash_and_zsh_are_integrated():
    assert integrates(["bash"]) and integrates(["/bin/zsh", "-l"])
    assert not integrates(["bash", "--norc"]) and not integrates(["zsh", "-f"]) and not integrates(["bash", "-c", "x"])
    argv, env = inject(["zsh"], {"ZDOTDIR": "/u"})
    assert argv == ["zsh"] and env["CONPTY_WIDGET_ZDOTDIR"] == "/u" and env["ZDOTDIR"] != "/u"
    argv, env = inject(["bash", "-l"], {})
    assert argv[1] == "--init-file" and env["CONPTY_WIDGET_LOGIN"] == "1"
    assert inject(["sh"], {"A": "1"}) == (["sh"], {"A": "1"})


@pytest.mark.parametrize(
    "options",
    [
        "PROMPT_EOL_MARK='%F{red}<%~>%f'",
        "PROMPT_EOL_MARK=''",
        "PROMPT_EOL_MARK=$'\\u23ce'",
        "unsetopt prompt_sp",
        "unsetopt prompt_cr",
        "unsetopt prompt_sp prompt_cr",
    ],
)
def test_zsh_end_of_line_mark_is_not_output(tmp_path, options):
    """zsh marks output left without a newline (PROMPT_SP, PROMPT_CR): whatever mark it prints,
    and whether it prints one, the output is the command's and the prompt is found."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    (tmp_path / ".zshrc").write_text(f"PROMPT='user> '\n{options}\n")
    with Terminal(["zsh"], env={"HOME": str(tmp_path), "HISTFILE": str(tmp_path / "history"), "ZDOTDIR": None}) as t:
        for _ in range(2):  # the second time, the mark is the one the hooks set again
            r = t.run("printf 'no newline'; false")
            assert (r.output, r.raw, r.exit_code) == ("no newline", "no newline", 1)
            r = t.run("printf 'a line\\n'")
            assert (r.output, r.raw, r.exit_code) == ("a line\n", "a line\r\n", 0)
        # The user may set the mark again at the prompt: the next one is still not output.
        t.run("PROMPT_EOL_MARK='[end]'")
        assert t.run("printf 'again'").output == "again"
        assert t.run("printf 'and again'").output == "and again"
        lines = [line for line in t.screen_lines() if line]
        assert lines[-1].endswith("user>")  # without PROMPT_CR after the output, without PROMPT_SP over it
        if "unsetopt" not in options:
            assert lines[-3:] == ["user> printf 'and again'", "and again[end]", "user>"]


def test_several_lines_where_the_line_editor_takes_no_paste(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    (tmp_path / ".bashrc").write_text("PS1='user> '\nbind 'set enable-bracketed-paste off'\n")
    with Terminal(["bash"], env={"HOME": str(tmp_path), "HISTFILE": str(tmp_path / "history")}) as t:
        r = t.run("for i in 1 2; do echo n$i; done\nfalse")  # typed between markers, as without integration
        assert (r.output, r.exit_code) == ("n1\nn2\n", 1)
        assert t.run("echo one line").output == "one line\n"
