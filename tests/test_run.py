"""Terminal.run(), the saved screen (widget state and mimebundle), in real shells."""

import os
import re
import shutil
import sys

import pytest

from conpty_widget import Terminal
from conpty_widget.scripting import shell_flavour, wrap
from harness.process import children_named
from harness.wait import poll

from .conftest import parse

POSIX = sys.platform != "win32"
SHELLS = {
    "bash": ["bash", "--norc", "--noprofile"],
    "zsh": ["zsh", "-f"],
    "sh": ["sh"],
    "dash": ["dash"],
}


@pytest.fixture(params=sorted(SHELLS))
def term(request):
    argv = SHELLS[request.param]
    if not POSIX or shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    t = Terminal(argv, env={"PS1": "$ ", "PROMPT": "$ ", "HISTFILE": os.devnull})
    yield t
    t.close()


def test_output_and_exit_code_without_the_echo(term):
    r = term.run("ls /nonexistent")
    assert r.exit_code == 2
    assert "nonexistent" in r.output and "ls " not in r.output
    # A peer's wait_for("hello") matched the echoed command line: here the echo is never output.
    r = term.run("echo wait_for_me")
    assert (r.output, r.exit_code) == ("wait_for_me\n", 0)
    r = term.run("printf 'a\\033[1mb\\033[0m'; (exit 7)")
    assert (r.output, r.raw, r.exit_code) == ("ab", "a\x1b[1mb\x1b[0m", 7)


def test_comments_several_lines_and_background_jobs(term):
    # Interactive zsh takes "#" literally (no INTERACTIVE_COMMENTS), as it would typed by hand.
    comment = "" if term.command.startswith("zsh") else " # a comment"
    r = term.run(f"for i in 1 2; do echo n$i; done{comment}\nfalse")
    assert (r.output, r.exit_code) == ("n1\nn2\n", 1)
    r = term.run("sleep 0 &")
    assert r.exit_code == 0
    assert term.run("echo still here").output == "still here\n"


def test_a_timed_out_run_does_not_confuse_the_next(term):
    with pytest.raises(TimeoutError):
        term.run("sleep 30; echo late", timeout=0.3)
    poll("sleep to run", lambda: children_named(term.pid, "sleep"))  # a Ctrl-C while bash starts it is lost
    term.write("\x03")
    r = term.run("echo next")
    assert (r.output, r.exit_code) == ("next\n", 0)


def test_run_needs_a_shell_it_knows():
    with Terminal([sys.executable, "-q"]) as t:
        with pytest.raises(ValueError, match="run\\(\\) needs a shell"):
            t.run("print(1)")


@pytest.mark.parametrize(
    "program,flavour",
    [
        ("/bin/bash", "posix"),
        ("zsh", "posix"),
        (r"C:\Windows\System32\cmd.exe", "cmd"),
        ("CMD.EXE", "cmd"),
        (r"C:\Program Files\PowerShell\7\pwsh.exe", "powershell"),
        ("powershell", "powershell"),
    ],
)
def test_every_flavour_types_a_line_whose_echo_cannot_match(program, flavour):
    # The Windows shells themselves run in the Windows suite; what is typed is checked here.
    assert shell_flavour([program]) == flavour
    w = wrap("echo hi", flavour, "3")
    assert w.begin not in w.line
    assert w.end.search(w.line) is None
    assert "echo hi" in w.line and w.line.endswith("\r")


def test_screen_text_and_the_saved_screen(term):
    term.run("printf '\\033[31mred\\033[0m text\\n'")
    # run() returns once the command ended, which may be before the shell drew its next prompt:
    # the screen is read once it is still (the prompt drawn, the cursor after it).
    term.wait_for(r"\$ $")
    lines = term.screen_lines()
    # (sh prints its continuation prompt "> " after the typed-ahead echo, before the output)
    assert any(line.endswith("red text") for line in lines)
    assert term.screen_text() == "\n".join(lines)
    # The widget state carries the screen, for a view opened without a kernel...
    assert parse(term._snapshot.encode()).lines() == lines
    # ...and the output's mimebundle has it as HTML, beside a text/plain that does not vary.
    data, _ = term._repr_mimebundle_()
    assert data["text/plain"] == f"Terminal(command={term.command!r}, rows=24, cols=80, running)"
    assert '<span style="color:#cd0000">red</span> text' in data["text/html"]


def test_the_last_screen_survives_close():
    t = Terminal(SHELLS["bash"], env={"PS1": "$ "})
    t.run("echo the-end")
    t.write("exit 3\r")
    assert t.wait(10) == 3
    t.close()
    data, _ = t._repr_mimebundle_()
    assert data["text/plain"] == "Terminal(command='bash --norc --noprofile', rows=24, cols=80, exited 3)"
    assert "\nthe-end\n" in data["text/html"] and "[process exited with code 3]" in data["text/html"]


def test_save_screen_off():
    with Terminal(SHELLS["bash"], env={"PS1": "$ "}, save_screen=False) as t:
        t.run("echo secret")
        assert "secret" in t.screen_text()
        assert t._snapshot == ""
        data, _ = t._repr_mimebundle_()
        assert "text/html" not in data


def test_close_saves_the_screen_with_the_exit_banner():
    # The banner is read after close() ended the shell: it must be in the saved screen every time.
    # (A shell slow to leave on SIGHUP, on a loaded machine, gets SIGTERM then SIGKILL: the
    # banner then says so.)
    for _ in range(5):
        t = Terminal(SHELLS["bash"], env={"PS1": "$ "})
        t.run("echo closing")
        t.close()
        html = t._repr_mimebundle_()[0]["text/html"]
        assert "\nclosing\n$\n" in html
        assert re.search(r"\[process (hung up \(SIGHUP\)|killed by SIG[A-Z]+)\]\n</pre>", html), html


def test_wait_for_sees_the_cursor_row_up_to_the_cursor(term):
    # A prompt that ends in a space matches "...> $" while the cursor waits after it; trailing
    # blanks of other rows, and the screen_text() a person reads, stay cut.
    term.write("printf 'ask> '; read answer\r")
    term.wait_for(r"ask> $", timeout=10)
    assert not term.screen_text().endswith(" ")
    term.write("yes\r")
    term.wait_for(r"\$ $", timeout=10)
