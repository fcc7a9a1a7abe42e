"""``Terminal.run()``: run one command in the terminal's shell and collect its output and exit code.

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

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

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


def shell_name(argv: Sequence[str]) -> str:
    """The name of the terminal's program, lower case, without folder or ``.exe``."""
    name = os.path.basename(argv[0]).lower() if argv else ""
    # ntpath.basename also splits on "/", posixpath not on "\\": handle Windows paths anywhere.
    name = name.rsplit("\\", 1)[-1]
    return name[:-4] if name.endswith(".exe") else name


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
        # A group on its own lines, so that a trailing comment, "&" or several lines still work;
        # the leading space keeps it out of the history where HISTCONTROL ignores spaces.
        line = (
            f" printf '\\033]133;C;cw={token}\\007'; {{ {command}\n}}; "
            f"printf '\\033]133;D;%d;cw={token}\\007' $?\r"
        )
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
