"""Terminal.start() and Job in real shells; the output budget and the stream scanner as units."""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import time

import pytest

from conpty_widget import Terminal
from conpty_widget.budget import MARKER, MIN_LIMIT, Budget, check_limit, truncate
from conpty_widget.jobs import DONE, OUTPUT, Markers, Scanner
from conpty_widget.scripting import wrap
from harness.process import children_named
from harness.wait import poll

POSIX = sys.platform != "win32"
#: bash and zsh with shell integration (their own marks), and shells given markers.
SHELLS = {
    "bash": ["bash"],
    "zsh": ["zsh"],
    "bash-norc": ["bash", "--norc", "--noprofile"],
    "sh": ["sh"],
    "dash": ["dash"],
}
_CUT = re.compile(re.escape(MARKER).replace(r"\{\}", r"(\d+)"))


# -- the output budget ---------------------------------------------------------------------


def _check_cut(rendered: str, whole: str, limit: int) -> None:
    """``rendered`` is ``whole`` within ``limit``: its head, the marker counting what is left
    out, its tail."""
    assert len(rendered) <= limit
    if len(whole) <= limit:
        assert rendered == whole
        return
    match = _CUT.search(rendered)
    assert match is not None, rendered
    head, tail = rendered[: match.start()], rendered[match.end() :]
    assert whole.startswith(head) and whole.endswith(tail)
    assert len(head) + int(match.group(1)) + len(tail) == len(whole)
    assert abs(len(head) - len(tail)) <= 1 and len(rendered) >= limit - 2  # halves; the room used


def test_budget_keeps_head_and_tail_within_its_limit_however_the_text_comes():
    rng = random.Random(7)
    for limit in (MIN_LIMIT, 50, 97, 1000):
        for size in (0, 1, limit - 1, limit, limit + 1, 2 * limit + 3, 50 * limit):
            whole = "".join(rng.choice("ab\n\u00e9\u4e2d") for _ in range(size))
            budget, at = Budget(limit), 0
            while at < size:  # in pieces of every length, one character to a tenth of it all
                step = rng.randint(1, max(1, size // 10))
                budget.add(whole[at : at + step])
                at += step
            assert budget.size == size and budget.cut == (size > limit)
            _check_cut(budget.text(), whole, limit)
            _check_cut(budget.text(MIN_LIMIT), whole, MIN_LIMIT)  # a smaller budget of the same text
            assert truncate(whole, limit) == budget.text()


def test_budget_memory_is_bounded_by_its_limit():
    budget = Budget(100)
    for _ in range(1000):
        budget.add("x" * 1000)
    budget.add("y" * 10**6)
    assert sum(map(len, budget._head)) + sum(map(len, budget._tail)) <= 3 * 100
    assert budget.text().endswith("y" * 29) and budget.size == 2 * 10**6


def test_budget_smaller_than_its_marker_is_refused():
    with pytest.raises(ValueError, match=f"max_output=10 is smaller than the marker.*at least {MIN_LIMIT}"):
        check_limit(10)
    with pytest.raises(TypeError, match="must be an int"):
        check_limit(100.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check_limit(True)
    assert Budget(100).text(limit=10**9) == ""  # a larger limit is the budget's own


# -- the scanner: markers and escapes split anywhere ---------------------------------------------


def _scan(markers: Markers, stream: str, pieces: int, seed: int) -> tuple[str, int | None, int]:
    """The output a scanner takes from ``stream`` fed in ``pieces`` random pieces."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(stream)), pieces - 1)) if pieces > 1 else []
    scanner, taken = Scanner(markers), ""
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        taken += scanner.feed(stream[a:b])
    return taken, scanner.status, scanner.stage


@pytest.mark.parametrize("flavour", ["posix", "cmd", "powershell"])
def test_scanner_finds_the_output_between_markers_split_anywhere(flavour):
    wrapped = wrap("make", flavour, "12")
    output = "one\r\n\x1b[1mtwo\x1b[0m\r\n\x1b]0;title\x07CWE1:0 CWE12 three\r"
    end = wrapped.end.pattern.replace("(-?\\d+)", "10").replace("(\\d+)", "10").replace("\\", "")
    if flavour == "posix":
        end = "\x1b]133;D;10;cw=12\x07"
    stream = f"$ {wrapped.line}\r\n" + wrapped.begin + output + end + "\r\nC:\\> "
    for pieces in (1, 2, 7, len(stream)):
        for seed in range(20 if 1 < pieces < len(stream) else 1):
            assert _scan(Markers.wrapped(wrapped), stream, pieces, seed) == (output, 10, DONE)


def test_scanner_of_a_shell_with_integration_ends_at_its_prompt_mark():
    stream = "ls\r\n\x1b]133;C\x07a\r\nb\x1b]133;C\x07\r\n\x1b]133;D;2\x07\x1b]133;A\x07$ \x1b]133;B\x07"
    for pieces in (1, 3, len(stream)):
        taken, status, stage = _scan(Markers.marked(), stream, pieces, 1)
        assert (taken, status, stage) == ("a\r\nb\x1b]133;C\x07\r\n", 2, DONE)
    scanner = Scanner(Markers.marked())
    scanner.feed(stream[: stream.index("\x1b]133;A")])
    assert scanner.status == 2 and scanner.stage != DONE  # ended, the prompt still to come


def test_scanner_interrupted_holds_the_last_line_and_drops_the_prompt():
    wrapped = wrap("sleep 9", "posix", "3")
    scanner = Scanner(Markers.wrapped(wrapped), prompt="$")
    assert scanner.feed(wrapped.begin + "a\r\npart") == "a\r\npart"
    scanner.interrupted = True
    assert scanner.feed("ial\r\n^C\r\n$ ") == "ial\r\n^C\r\n"
    assert scanner.at_prompt(130) == "" and (scanner.status, scanner.stage) == (130, DONE)
    scanner = Scanner(Markers.wrapped(wrapped), prompt="$")
    scanner.feed(wrapped.begin)
    scanner.interrupted = True
    assert scanner.feed("no prompt here") == ""
    assert scanner.at_prompt(130) == "no prompt here"  # not the prompt: output, not lost
    assert Scanner(Markers.marked()).stage != OUTPUT


# -- jobs in real shells ---------------------------------------------------------------------


@pytest.fixture(params=sorted(SHELLS))
def term(request, tmp_path):
    argv = SHELLS[request.param]
    if not POSIX or shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    # An empty home: the user's startup files do not run; a plain prompt.
    t = Terminal(argv, cwd=tmp_path, env={"HOME": str(tmp_path), "PS1": "$ ", "PROMPT": "$ ", "HISTFILE": os.devnull})
    yield t
    t.close()


def test_start_gives_control_back_while_the_command_runs(term):
    job = term.start("echo first; read go; echo second; (exit 3)", yield_time=0.3)
    assert job.running and job.exit_code is None  # the yield time passed: it still runs
    while "first" not in job.output:  # output comes when it comes: wait for it, not for a time
        job.poll(0.1)
    assert job.output == "first\n" and job.running
    assert job.poll() == ""  # nothing new since the last call
    assert job.send("now\n", yield_time=30) == "now\nsecond\n"  # the end came before the yield time
    assert (job.running, job.exit_code) == (False, 3)
    result = job.wait()
    assert (result.output, result.exit_code, result.complete) == ("first\nnow\nsecond\n", 3, True)
    # As run() gives it: the same text, escapes removed.
    assert term.run("echo first; echo second; (exit 3)").output == "first\nsecond\n"


def test_a_command_that_ends_within_the_yield_time_returns_at_once(term):
    begun = time.monotonic()
    job = term.start("printf 'a\\033[1mb\\033[0m\\n'; (exit 4)", yield_time=60)
    assert time.monotonic() - begun < 30  # not the 60 s yield time
    assert (job.exit_code, job.output) == (4, "ab\n")
    assert job.wait().raw == "a\x1b[1mb\x1b[0m\r\n"
    assert job.poll() == ""  # all was taken by start()
    assert term.run("echo next").output == "next\n"  # the shell is back at its prompt


def test_poll_returns_what_came_since_the_last_call(term):
    job = term.start("for i in 1 2 3; do echo tick $i; read x; done", yield_time=0.1)
    seen = job.output
    for i in (1, 2, 3):
        if i > 1:
            seen += job.send("\n", yield_time=0.1)
        while f"tick {i}" not in seen:  # output comes when it comes: wait for it, not for a time
            seen += job.poll(0.1)
    assert job.send("\n", yield_time=30) == "\n"
    assert job.exit_code == 0
    assert seen + "\n" == job.output == "tick 1\n\ntick 2\n\ntick 3\n\n"


def _started(job, term) -> None:
    """Wait until ``job`` runs its ``sleep``. A Ctrl-C before the shell read the line would flush
    it; one while bash starts ``sleep`` reaches bash alone, which lets a child that did not die of
    it go on (``sleep`` runs its 30 s). A shell's child takes the terminal before it execs."""
    poll("the job's output", lambda: "started" in job.output)
    poll("sleep to run", lambda: children_named(term.pid, "sleep"))


def test_interrupt_ends_the_command_and_the_shell_goes_on(term):
    job = term.start("echo started; sleep 30", yield_time=0.1)
    _started(job, term)
    job.interrupt()
    job.poll(30)
    assert job.exit_code == 130  # 128 + SIGINT, the shell's own status or the job's
    assert job.output.startswith("started\n") and "$" not in job.output  # not the prompt
    assert term.run("echo after").output == "after\n"


def test_ctrl_c_typed_by_the_person_ends_it_too(term):
    job = term.start("echo started; sleep 30", yield_time=0.1)
    _started(job, term)
    term.write("\x03")  # as a view's key
    job.wait(30)
    assert job.exit_code == 130
    job = term.start("echo started; sleep 30", yield_time=0.1)
    _started(job, term)
    term.write("\x03")
    term.wait_for(r"\^C\n[^\n]*[$#] ?$")  # the prompt is back; nobody polled the job, and yet:
    assert job.exit_code == 130 and term.start("echo next", yield_time=30).output == "next\n"


def test_one_job_at_a_time_and_the_next_after_it(term):
    job = term.start("read line; echo got $line", yield_time=0.1)
    with pytest.raises(RuntimeError, match="the shell is busy with Job\\(command='read line"):
        term.start("echo no")
    with pytest.raises(RuntimeError, match="run\\(\\) cannot type a command: the shell is busy with Job"):
        term.run("echo no")
    assert job.running  # nothing typed into it
    assert job.send("yes\n", yield_time=30) == "yes\ngot yes\n"
    assert term.start("echo again", yield_time=30).output == "again\n"


def test_keys_sent_at_once_after_start_reach_the_command(term):
    """Typed once the command has begun, not into the shell's line editor: bash's readline holds
    the terminal raw until it hands the line over, and an Enter typed then never ends a line."""
    job = term.start("read line; echo got $line", yield_time=0)
    assert job.send("yes\n", yield_time=30) == "yes\ngot yes\n"


def test_max_output_keeps_the_head_and_the_tail(term):
    job = term.start("seq 1 20000", yield_time=60, max_output=200)
    result = job.wait(60)
    assert result.exit_code == 0 and not result.complete
    for text in (job.output, result.output):
        assert len(text) <= 200
        assert text.startswith("1\n2\n3\n") and text.endswith("19999\n20000\n")
        cut = int(_CUT.search(text).group(1))
        assert len(text) - len(MARKER.format(cut)) + cut == len("".join(f"{i}\n" for i in range(1, 20001)))
    assert len(result.raw) <= 200


def test_bad_input_is_refused_before_anything_is_typed(term):
    job = term.start("read x", yield_time=0.1)
    with pytest.raises(ValueError, match="yield_time must be a finite number of seconds, 0 or more, not -1"):
        job.poll(-1)
    with pytest.raises(ValueError, match="yield_time"):
        job.send("x\n", float("nan"))
    with pytest.raises(TypeError, match="send\\(\\) takes str"):
        job.send(b"x\n")  # type: ignore[arg-type]
    assert job.running and job.output == ""
    job.send("\n", 30)
    assert job.exit_code == 0
    with pytest.raises(ValueError, match="smaller than the marker"):
        term.start("echo hi", max_output=MIN_LIMIT - 1)
    with pytest.raises(ValueError, match="yield_time"):
        term.start("echo hi", yield_time=-0.5)
    with pytest.raises(ValueError, match="needs a command"):
        term.start("  ")
    assert term.run("echo clean").output == "clean\n"  # none of it reached the shell


def test_a_job_that_ended_types_nothing_more(term):
    job = term.start("echo done", yield_time=30)
    assert job.exit_code == 0
    with pytest.raises(RuntimeError, match="has ended: 'rm -rf x\\\\r' was not typed"):
        job.send("rm -rf x\n")
    with pytest.raises(RuntimeError, match="has ended"):
        job.interrupt()
    assert job.poll() == "" and job.wait().output == "done\n"
    assert "rm -rf" not in term.screen_text()


def test_the_terminal_closed_under_a_job_loses_nothing(term):
    # exec: no shell is left to print the end marker (a hung-up sleep's 129 could come first).
    job = term.start("echo kept; exec sleep 30", yield_time=0.1)
    while "kept" not in job.output:
        job.poll(0.1)
    term.close()
    rest = job.poll(30)  # what the shell said as it ended (zsh: its jobs were hung up)
    assert job.output == "kept\n" + rest
    assert not job.running and job.exit_code == term.exit_code
    with pytest.raises(EOFError, match="the terminal's shell ended .* before 'echo kept; exec sleep 30' did"):
        job.wait()
    with pytest.raises(RuntimeError, match="has ended"):
        job.send("x")
    with pytest.raises(RuntimeError, match="the terminal has ended"):
        term.start("echo more")


def test_a_command_that_ends_the_shell(term):
    job = term.start("echo bye; exit 5", yield_time=30)
    assert job.exit_code == 5 and job.output.startswith("bye\n")  # bash also says "exit"
    with pytest.raises(EOFError):
        job.wait()


def test_start_refuses_text_typed_at_a_prompt_with_integration(tmp_path):
    with Terminal(["bash"], env={"HOME": str(tmp_path), "PS1": "$ "}) as t:
        t.run("true")
        t.write("half-typed")
        with pytest.raises(RuntimeError, match="needs the shell waiting at its prompt with nothing typed"):
            t.start("echo no")
