"""Terminal.start(), Job and agent_tools in cmd.exe through a real pseudoconsole (Windows, or Wine)."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from conpty_widget import Terminal, agent_tools
from conpty_widget.backends import _win32

WINE = _win32.wine_version() is not None
#: A Python child, quoted for cmd.exe: ``f'{PY} -c "..."'``.
PY = f'"{sys.executable}"'


def _poll_until(job, text: str, seconds: float = 60) -> None:
    """Poll ``job`` until ``text`` is in its output (a Python starting under Wine takes its time)."""
    deadline = time.monotonic() + seconds
    while text not in job.output and time.monotonic() < deadline:
        job.poll(0.5)
    assert text in job.output, job.output


def test_start_gives_control_back_and_poll_takes_the_rest(cmd):
    job = cmd.start(f"{PY} -c \"import sys; print('first', flush=True); sys.stdin.readline(); print('second')\"", 1)
    _poll_until(job, "first")
    assert job.running and job.output == "first\n"
    rest = job.send("go\n", yield_time=60)  # Enter is "\r" in a console; send() makes it so
    assert rest.endswith("second\n") and job.exit_code == 0
    result = job.wait()
    assert (result.output.splitlines()[0], result.output.splitlines()[-1], result.exit_code) == ("first", "second", 0)


def test_a_status_of_several_digits_and_output_as_run_gives_it(cmd):
    job = cmd.start("echo hello& cmd /c exit 10", yield_time=60)
    assert (job.output, job.exit_code) == ("hello\n", 10)
    assert cmd.run("echo hello& cmd /c exit 10", timeout=60).output == job.output


def test_one_job_at_a_time_and_bad_input(cmd):
    job = cmd.start(f'{PY} -c "import sys; sys.stdin.readline()"', yield_time=0.2)
    with pytest.raises(RuntimeError, match="the shell is busy with Job"):
        cmd.start("echo no")
    with pytest.raises(ValueError, match="yield_time"):
        job.poll(-1)
    job.send("\n", yield_time=60)
    assert job.exit_code == 0
    with pytest.raises(RuntimeError, match="has ended"):
        job.send("echo late\n")
    with pytest.raises(ValueError, match="smaller than the marker"):
        cmd.start("echo hi", max_output=10)
    assert cmd.run("echo clean", timeout=60).output == "clean\n"


def test_max_output_keeps_the_head_and_the_tail(cmd):
    job = cmd.start(f'{PY} -c "print(*range(1, 5001), sep=chr(10))"', yield_time=60, max_output=200)
    result = job.wait(60)
    assert result.exit_code == 0 and not result.complete
    assert len(result.output) <= 200 and result.output.startswith("1\n2\n") and result.output.endswith("4999\n5000\n")


def test_agent_tools_in_cmd(cmd):
    tools = agent_tools(cmd)
    reply = tools.call("exec_command", {"cmd": f"{PY} -c \"print('hi ' + input('name? '))\"", "yield_time_ms": 250})
    session, seen = reply["session_id"], reply["output"]
    for _ in range(12):  # ConPTY draws the prompt's trailing space as a cursor move: "name?"
        if "name?" in seen:
            break
        seen += tools.call("write_stdin", {"session_id": session})["output"]
    assert "name?" in seen
    reply = tools.call("write_stdin", {"session_id": session, "chars": "Ada\n", "yield_time_ms": 30_000})
    assert reply["exit_code"] == 0 and reply["output"].endswith("hi Ada\n")
    with pytest.raises(ValueError, match="has ended"):
        tools.call("write_stdin", {"session_id": session, "chars": "x"})


def test_the_terminal_closed_under_a_job_loses_nothing(cmd):
    job = cmd.start(f"{PY} -c \"import time; print('kept', flush=True); time.sleep(60)\"", yield_time=0.2)
    _poll_until(job, "kept")
    cmd.close()
    job.poll(30)
    assert not job.running and job.output.startswith("kept\n")
    with pytest.raises(EOFError, match="the terminal's shell ended"):
        job.wait()
    with pytest.raises(RuntimeError, match="the terminal has ended"):
        cmd.start("echo more")


@pytest.mark.skipif(WINE, reason="Wine's console ends the whole session on \\x03 instead of raising Ctrl-C in the child")
def test_interrupt_ends_the_command(cmd):
    job = cmd.start(f"{PY} -c \"import time; print('started', flush=True); time.sleep(60)\"", yield_time=0.2)
    _poll_until(job, "started")
    job.interrupt()
    job.wait(60)
    assert job.exit_code != 0
    assert cmd.run("echo after", timeout=60).output == "after\n"


@pytest.mark.skipif(
    WINE or not (shutil.which("pwsh") or shutil.which("powershell")),
    reason="needs a real PowerShell (Wine's powershell.exe is a stub)",
)
def test_start_in_powershell():
    with Terminal(shutil.which("pwsh") or "powershell") as t:
        t.wait_for(r"(?m)>$", timeout=60)
        job = t.start("Write-Output hello; cmd /c exit 4", yield_time=60)
        assert (job.output.strip().splitlines()[-1], job.exit_code) == ("hello", 4)
