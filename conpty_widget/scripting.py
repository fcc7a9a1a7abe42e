"""Scripting a terminal (``Scripter``: ``run()``, ``wait_for()``, ``expect()``), and how ``run()``
runs one command in the terminal's shell and collects its output and exit code.

The command is typed into the shell between two markers that the shell prints, each with a
token unique to the call. The token is a count of the terminal's runs, so that
what a notebook stores does not vary; a late marker of an earlier run that timed out cannot
match a later run's. The echo of the typed line cannot match them: what is typed is the
*command* that prints a marker (an escape written as ``\\033``, or a string split in two), never
the marker itself. POSIX shells print OSC 133 (shell integration) sequences, which terminals do
not display: ``ESC ] 133 ; C ; cw=TOKEN BEL`` before the command, ``ESC ] 133 ; D ; STATUS ;
cw=TOKEN BEL`` after it. cmd.exe and PowerShell print visible text markers instead
(``CWB<token>:`` / ``CWE<token>:<status>``): Windows' ConPTY moves an OSC sequence ahead of the
text written with it, and cmd's prompt cannot show an exit status. They stay so with shell
integration too (conpty_widget/shell_integration.py), where PowerShell's marks only tell run()
that a command still runs.

The shell is recognised by the program's name; run() expects it to be at its prompt.

A bash or zsh started with shell integration (conpty_widget/shell_integration.py) marks its
prompts and commands itself: run() then types the command alone, takes its output between the
shell's own ``C`` and ``D;STATUS`` marks, and refuses to type while the shell is not waiting at
its prompt with nothing typed. A command of several lines is typed as one bracketed paste (as
if pasted, then Enter): the shell's line editor takes it whole, and records it in the history as
it records any paste; a shell whose line editor did not ask for bracketed paste (mode 2004:
bash 5.0 or older by default) gets it between markers.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import shell_integration
from .shell_integration import shell_name

if TYPE_CHECKING:
    from .session import Session

PROMPT_WAIT = 1.0  # seconds run() waits for the shell's prompt
ECHO_WAIT = 0.05  # seconds run() gives keys typed just before it to be echoed

_POSIX_SHELLS = {"sh", "bash", "zsh", "dash", "ash", "ksh", "mksh", "yash", "busybox"}
# Escape sequences, to give .output as plain text: CSI, OSC/DCS-like strings, then the rest.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()*+][0-9A-Za-z]|\x1b[@-Z\\-_=>78]"
)


@dataclass(frozen=True)
class RunResult:
    """What ``Terminal.run()`` returns."""

    command: str
    #: The command's output only (no echo, no prompt), escapes removed, lines ending in ``\n``.
    output: str
    exit_code: int
    #: The output exactly as the terminal received it (escapes kept, ``\r\n`` line ends).
    raw: str
    #: False when the output was longer than the expect buffer keeps and its start is missing.
    complete: bool = True


def shell_flavour(argv: Sequence[str]) -> str:
    """``"posix"``, ``"cmd"`` or ``"powershell"``, from the name of the terminal's program."""
    name = shell_name(argv)
    if name in _POSIX_SHELLS:
        return "posix"
    if name == "cmd":
        return "cmd"
    if name in ("powershell", "pwsh"):
        return "powershell"
    raise ValueError(
        f"run() needs a shell it knows (bash, zsh, sh, dash, ksh, cmd.exe, PowerShell), not {argv[0]!r}; "
        "use write() and expect()"
    )


@dataclass(frozen=True)
class Wrapped:
    """The line to type, the literal text printed before the output, and the end regex."""

    line: str
    begin: str
    end: re.Pattern[str]


def wrap(command: str, flavour: str, token: str) -> Wrapped:
    """Wrap ``command`` between markers for a shell of ``flavour``; ``token`` is new for each call."""
    if not command.strip():
        raise ValueError("run() needs a command")
    if flavour == "posix":
        # One line is eval'd, so that a trailing comment or "&" still works and the echo is one
        # line: in a shell without a line editor, the tty echoes typed lines as the kernel takes
        # them in, and a continuation prompt ("> ") may come before or after the next line's
        # echo. Several lines go as a group on their own lines (each stays under the tty's
        # line limit; their echo may interleave with "> " so). The leading space keeps it out of
        # the history where HISTCONTROL ignores spaces.
        text = command.strip("\n")
        body = f"{{ {text}\n}}" if "\n" in text else f"eval {shlex.quote(text)}"
        line = f" printf '\\033]133;C;cw={token}\\007'; {body}; printf '\\033]133;D;%d;cw={token}\\007' $?\r"
        return Wrapped(line, f"\x1b]133;C;cw={token}\x07", re.compile(rf"\x1b\]133;D;(\d+);cw={token}\x07"))
    if flavour == "cmd":
        # "^" is dropped by cmd, so the echo shows CW^B..., the output CWB...; %^errorlevel% is
        # expanded by `call` only after the command ran.
        line = f"echo CW^B{token}:& {command}& call echo CW^E{token}:%^errorlevel%\r"
        return Wrapped(line, f"CWB{token}:", re.compile(rf"CWE{token}:(-?\d+)"))
    if flavour == "powershell":
        line = (
            f"Write-Host ('CW'+'B{token}:'); {command}; $cw_ok = $?; "
            f"Write-Host ('CW'+'E{token}:' + $(if ($cw_ok) {{ 0 }} elseif ($LASTEXITCODE) {{ $LASTEXITCODE }} else {{ 1 }}))\r"
        )
        return Wrapped(line, f"CWB{token}:", re.compile(rf"CWE{token}:(-?\d+)"))
    raise ValueError(f"unknown shell flavour {flavour!r}")


#: What a shell with integration prints before a command's output, and after it.
COMMAND_START = re.compile(r"\x1b\]133;C\x07")
COMMAND_END = re.compile(r"\x1b\]133;D;(\d+)\x07")
PROMPT_END = re.compile(r"\x1b\]133;B\x07")


def typed(command: str) -> str:
    """What run() types at the prompt of a shell with integration: a line as it is, then Enter;
    several lines as one bracketed paste (for a line editor that asked for it), then Enter."""
    text = command.strip("\n")
    if "\n" not in text:
        return text + "\r"
    if "\x1b[201~" in text:
        raise ValueError("the command contains the end of a bracketed paste (ESC [ 201 ~)")
    return "\x1b[200~" + text.replace("\n", "\r") + "\x1b[201~\r"


def marked_result(command: str, end: re.Match[str]) -> RunResult:
    """The RunResult from the match of ``COMMAND_END`` in the output that followed ``COMMAND_START``
    (bash marks the start of each command of a pasted line: the later marks are not output)."""
    raw = COMMAND_START.sub("", end.string[: end.start()])
    return RunResult(command, _ESCAPES.sub("", raw).replace("\r\n", "\n"), int(end.group(1)), raw)


def result(command: str, wrapped: Wrapped, match: re.Match[str]) -> RunResult:
    """The RunResult from the match of ``wrapped.end`` in the text it was searched in."""
    before = match.string[: match.start()]
    start = before.rfind(wrapped.begin)
    complete = start >= 0
    raw = before[start + len(wrapped.begin) :] if complete else before
    output = _ESCAPES.sub("", raw).replace("\r\n", "\n")
    if complete and not wrapped.begin.startswith("\x1b") and output.startswith("\n"):
        output = output[1:]  # the end of the text marker's own line
    return RunResult(command, output, int(match.group(1)), raw, complete)


class Scripter:
    """Drives a session as a script does: ``run()`` a command at the shell's prompt,
    ``wait_for()`` text on the screen, ``expect()`` text in the output stream.

    ``looked`` is called each time a call has looked at the screen (the widget then refreshes
    its saved screen); ``Terminal``'s methods of the same names are these.
    """

    def __init__(self, session: Session, looked: Callable[[], None] = lambda: None) -> None:
        self.session = session
        self._looked = looked
        self._runs = 0  # run() calls: each one's markers carry its number

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = 30) -> re.Match[str]:
        """Wait for a regex in output not yet consumed; return the match and consume through it.

        Raises ``TimeoutError`` (showing the output's tail) or ``EOFError`` if the child exits first.
        """
        return self.session.expect(pattern, timeout)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float | None = 30) -> re.Match[str]:
        """Wait until ``pattern`` (a regex) matches the screen's text, as a person sees it: no
        escape sequences, a row that wrapped joined to the next, trailing blanks cut except on
        the cursor's row, which keeps them up to the cursor (``r">>> $"`` matches a prompt).

        Returns the ``re.Match``; raises ``TimeoutError`` showing the screen. ``expect()`` is
        the same over the raw output stream.
        """
        if not isinstance(pattern, (str, re.Pattern)):
            raise TypeError(f"wait_for() needs a regex (str or re.Pattern), not {type(pattern).__name__}")
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        session = self.session
        text, match = "", None

        def found() -> bool:
            nonlocal text, match
            text = session.screen_model().text(to_cursor=True)
            match = regex.search(text)
            return match is not None or not session.running

        session.wait_until(found, timeout)
        self._looked()
        if match is None:
            state = "the program exited" if not session.running else f"not within {timeout}s"
            raise TimeoutError(f"{regex.pattern!r} is not on the screen ({state}); the screen:\n{text}")
        return match

    def run(self, command: str, timeout: float | None = 30) -> RunResult:
        """Run ``command`` in the terminal's shell (at its prompt); wait for it to finish.

        Returns a ``RunResult`` with ``.output`` (the command's output only: not the echoed
        command line, not the prompt) and ``.exit_code``. Works in bash, zsh, sh (and other
        POSIX shells), cmd.exe and PowerShell, recognised by the program's name. In bash and
        zsh with shell integration, only the command is typed, and ``RuntimeError`` is raised
        when the shell is not at its prompt (a program runs, a ``read`` waits, text is typed);
        several lines go as one bracketed paste. cmd.exe and PowerShell get the command inside
        text markers (the exit status: ``%errorlevel%``, ``$?``/``$LASTEXITCODE``); PowerShell
        with integration also raises ``RuntimeError`` while its last command still runs, where
        ConPTY passes its marks on (Windows). Raises ``TimeoutError`` (the command keeps
        running) or ``EOFError`` if the shell exits.
        """
        flavour = shell_flavour(self.session.argv)
        if not command.strip():
            raise ValueError("run() needs a command")
        self._runs += 1
        marked = self._ready(command, timeout, "run()")
        try:
            if marked:
                return self._run_marked(command, timeout)
            return self._run_wrapped(command, flavour, timeout)
        finally:
            self._looked()

    def _ready(self, command: str, timeout: float | None, caller: str) -> bool:
        """Wait for the shell's prompt (``RuntimeError`` naming ``caller`` when the shell is not
        waiting there with nothing typed); whether ``command`` is typed alone, for the shell's
        own marks (else between markers). ``Terminal.start()`` types its jobs so too."""
        at_prompt = self._wait_prompt(timeout)
        if at_prompt is None and self._command_runs():
            at_prompt = False
        if at_prompt is False:
            self._looked()
            raise RuntimeError(
                f"{caller} needs the shell waiting at its prompt with nothing typed; now a program is "
                f"running or text is typed. The screen:\n{self.session.screen_model().text()}"
            )
        return bool(at_prompt) and ("\n" not in command.strip("\n") or self.session.screen_model().bracketed_paste())

    def _run_marked(self, command: str, timeout: float | None) -> RunResult:
        """Type ``command`` alone at the prompt of a shell that marks its commands."""
        session = self.session
        session.expect(r"(?s).*", timeout=0)  # older output and marks: not this run's
        session.write(typed(command))
        session.expect(COMMAND_START, timeout)
        end = session.expect(COMMAND_END, timeout)
        session.expect(PROMPT_END, timeout)
        return marked_result(command, end)

    def _run_wrapped(self, command: str, flavour: str, timeout: float | None) -> RunResult:
        """Type ``command`` between markers; return once the shell shows its prompt again."""
        session = self.session
        wrapped = wrap(command, flavour, str(self._runs))
        prompt = self._prompt()
        session.write(wrapped.line)
        match = session.expect(wrapped.end, timeout)
        # Input typed before the prompt is back would be echoed twice (by the tty, then by
        # readline) or before the prompt, depending on timing, and the saved screen would vary.
        # A prompt that changed (it shows the time, or the directory after a cd) costs PROMPT_WAIT.
        session.wait_until(lambda: self._prompt().endswith(prompt), PROMPT_WAIT)
        return result(command, wrapped, match)

    def _wait_prompt(self, timeout: float | None) -> bool | None:
        """Whether the shell waits at its prompt with nothing typed (``ScreenModel.at_prompt``),
        after waiting up to ``timeout`` for its first mark, then up to PROMPT_WAIT for that;
        None for a shell without integration, or one that never marked a prompt (bash < 4.4)."""
        session = self.session
        if not shell_integration.integrates(session.argv):
            if self._runs == 1:  # a shell just started: let it draw its prompt (see _run_wrapped)
                self._first_prompt(timeout)
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = session.wait_output(0)
        while True:
            state = session.screen_model().at_prompt()
            if state is not None and (deadline is None or deadline > time.monotonic() + PROMPT_WAIT):
                deadline = time.monotonic() + PROMPT_WAIT  # the shell speaks: its state soon settles
            left = None if deadline is None else deadline - time.monotonic()
            if state:  # and still so once the echo of keys just typed had time to come back
                if session.wait_output(ECHO_WAIT, beyond=seen) == seen:
                    return state
            elif (left is not None and left <= 0) or not session.running:
                return state
            else:
                session.wait_output(left if left is None else min(left, 0.1), beyond=seen)
            seen = session.wait_output(0)

    def _first_prompt(self, timeout: float | None) -> None:
        """Wait for a shell without integration to draw its first prompt: its first output (up to
        ``timeout``: a loaded machine starts a shell slowly), then text left of the cursor (up
        to PROMPT_WAIT). _run_wrapped waits for that prompt to come back after the command."""
        session = self.session
        session.wait_output(timeout)
        session.wait_until(lambda: bool(self._prompt()) or not session.running, PROMPT_WAIT)

    def _command_runs(self) -> bool:
        """PowerShell with integration: its last mark says a command runs (C, and no prompt since
        then, for PROMPT_WAIT). Where the marks do not reach the kernel (Wine), never."""
        session = self.session
        if shell_integration.integration(session.argv) != "powershell":
            return False
        session.wait_until(lambda: session.screen_model().last_mark() != "C" or not session.running, PROMPT_WAIT)
        return session.screen_model().last_mark() == "C"

    def _prompt(self) -> str:
        """The text left of the cursor on its row: at a shell's prompt, the prompt."""
        model = self.session.screen_model()
        row, col = model.cursor
        return model.lines()[row][:col]
