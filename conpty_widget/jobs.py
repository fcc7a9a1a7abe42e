"""``Terminal.start()``: a command typed into the terminal's shell that gives control back
while it runs, a ``Job`` to poll it, type into it, interrupt it and wait for it.

The command is typed as ``run()`` types it (conpty_widget/scripting.py): alone at the prompt
of a bash or zsh with shell integration, which marks its output with OSC 133 ``C`` and
``D;STATUS``; between markers of a token of its own elsewhere (POSIX shells, cmd.exe,
PowerShell). A job watches the terminal's stream from the moment it types (``Session.observe``,
on the session's reader thread), so that it sees every byte whoever else reads the terminal:
its output is the text between the markers, escapes removed, as ``run()`` gives it, kept
within an output budget (conpty_widget/budget.py: the head and the tail, with a marker of
what was cut), for the whole command and for what came since the last call.

One job at a time per shell: a shell runs one command in the foreground, and the person
watching it sees the one terminal. ``start()`` refuses while a job runs (or, in a shell with
integration, while anything runs or is typed), as ``run()`` does, rather than opening a
terminal of its own: what an agent changes (the directory, the environment, a virtualenv)
stays where the person looks and types, and where the next command runs.

A job ends with its end marker: ``exit_code`` is the command's status. Interrupted (Ctrl-C
from ``interrupt()``, ``send()`` or a person's view), a shell without integration may abort the
line that would print the end marker: then the job ends when the prompt is back on the screen,
with the status a shell reports for Ctrl-C (130 on POSIX, STATUS_CONTROL_C_EXIT on Windows).
If the shell itself ends first (the command was ``exit``, the terminal was closed), the job
ends with the shell's exit code and ``wait()`` raises ``EOFError``; its output is kept.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import threading
import weakref
from typing import TYPE_CHECKING

from .budget import Budget, check_limit
from .scripting import (
    _ESCAPES,
    COMMAND_END,
    COMMAND_START,
    PROMPT_END,
    PROMPT_WAIT,
    RunResult,
    Wrapped,
    shell_flavour,
    typed,
    wrap,
)

if TYPE_CHECKING:
    from .scripting import Scripter
    from .session import Session

#: Characters of output a job keeps (head and tail) when ``max_output`` is None.
OUTPUT_MAX = 1024 * 1024
#: Seconds ``start()`` waits for a shell that just started to mark its first prompt (as ``run()``).
START_TIMEOUT = 30.0
#: The status of a command interrupted before it could print its end marker.
INTERRUPTED = -1073741510 if os.name == "nt" else 130  # STATUS_CONTROL_C_EXIT as %errorlevel%; 128 + SIGINT
_STEP = 0.25  # seconds between looks at a job's state that can change without output
_HOLD_MAX = 4096  # characters of an escape sequence held back until its end comes
_BEFORE_KEEP = 256  # characters kept while looking for the begin marker (one may be split)

#: A job's stages: typed (before its begin marker), output, ended (its status known; the prompt
#: may still be coming), done (the stream no longer concerns it).
TYPED, OUTPUT, ENDED, DONE = range(4)


class Markers:
    """Where a job's output begins and ends in the stream, and what follows its end."""

    def __init__(
        self, begin: re.Pattern[str], end: re.Pattern[str], prompt: re.Pattern[str] | None = None, text_end: str | None = None
    ) -> None:
        self.begin, self.end, self.prompt = begin, end, prompt
        #: Text markers (cmd.exe, PowerShell): the end marker's literal start, held back while
        #: the stream ends with part of it; the output's first line end is the marker's own.
        self.text_end = text_end

    @classmethod
    def marked(cls) -> Markers:
        """A shell with integration: its own C, D;STATUS and B (input starts) marks."""
        return cls(COMMAND_START, COMMAND_END, PROMPT_END)

    @classmethod
    def wrapped(cls, wrapped: Wrapped) -> Markers:
        """The markers typed around a command (``scripting.wrap``)."""
        begin = re.compile(re.escape(wrapped.begin))
        if wrapped.begin.startswith("\x1b"):
            return cls(begin, wrapped.end)
        # "CWE7:1" may be "CWE7:10" once the rest comes: the status ends where a non-digit follows.
        literal = wrapped.end.pattern.split("(", 1)[0]  # "CWE7:", before the status's group
        return cls(begin, re.compile(wrapped.end.pattern + r"(?=\D)"), text_end=literal)


class Scanner:
    """Finds a job's output in the stream: text in as it is decoded, the output out as it came
    (escapes kept), from the begin marker to the end marker, whose status it keeps. Holds back
    what may be part of a marker or of an escape sequence until the rest comes."""

    def __init__(self, markers: Markers, prompt: str = "") -> None:
        self.markers = markers
        self.prompt = prompt  # the shell's prompt, when the end may be the prompt coming back
        self.stage = TYPED
        self.status: int | None = None
        #: Ctrl-C was typed: the last line is held back, as it may be the prompt (``at_prompt()``).
        self.interrupted = False
        self._pending = ""

    def feed(self, text: str) -> str:
        """The output in ``text`` (and in what was held back before it)."""
        self._pending += text
        markers, taken = self.markers, ""
        if self.stage == TYPED:
            begin = markers.begin.search(self._pending)
            if begin is None:
                self._pending = self._pending[-_BEFORE_KEEP:]
                return ""
            self._pending, self.stage = self._pending[begin.end() :], OUTPUT
        if self.stage == OUTPUT:
            end = markers.end.search(self._pending)
            if end is None:
                cut = self._hold(self._pending)
                taken, self._pending = self._pending[:cut], self._pending[cut:]
                return taken
            taken, self._pending = self._pending[: end.start()], self._pending[end.end() :]
            self.status, self.stage = int(end.group(1)), ENDED
        if self.stage == ENDED:
            if markers.prompt is None or markers.prompt.search(self._pending):
                self.stage, self._pending = DONE, ""
            else:
                self._pending = self._pending[-_BEFORE_KEEP:]
        return taken

    def close(self, status: int) -> str:
        """The stream has ended (the shell exited): the output held back; ``status`` is the job's."""
        taken = self._pending if self.stage == OUTPUT else ""
        self._pending, self.status, self.stage = "", status, DONE
        return taken

    def at_prompt(self, status: int) -> str:
        """Interrupted, the shell shows its prompt again without the end marker: the output
        held back but the prompt's line; ``status`` is the job's."""
        line = _ESCAPES.sub("", self._pending).rstrip()  # the screen's rows have no trailing blanks
        taken = self.close(status)
        return "" if line.endswith(self.prompt.rstrip()) else taken

    def _hold(self, text: str) -> int:
        """Where to stop taking ``text`` as output: before an escape sequence not yet complete,
        a possible start of the text end marker, a last ``\\r`` (its ``\\n`` may follow), or
        (interrupted) the last line."""
        cut = len(text)
        escape = text.rfind("\x1b", max(0, cut - _HOLD_MAX))
        if escape >= 0:
            match = _ESCAPES.match(text, escape)
            if match is None or match.end() == cut:
                cut = escape
        prefix = self.markers.text_end
        if prefix:
            for start in range(max(0, cut - len(prefix) - 12), cut):
                rest = text[start:cut]
                if prefix.startswith(rest) or (rest.startswith(prefix) and re.fullmatch(r"-?\d*", rest[len(prefix) :])):
                    cut = start
                    break
        if self.interrupted and self.prompt:
            cut = text.rfind("\n", 0, cut) + 1
        elif text[:cut].endswith("\r"):
            cut -= 1
        return cut


class Job:
    """A command running in a terminal's shell (``Terminal.start()``); see the module's docstring."""

    def __init__(self, script: Scripter, command: str, max_output: int | None = None) -> None:
        if not isinstance(command, str) or not command.strip():
            raise ValueError("start() needs a command")
        self.command = command
        self.max_output = OUTPUT_MAX if max_output is None else check_limit(max_output)
        session = script.session
        flavour = shell_flavour(session.argv)
        _refuse_if_busy(script)
        self._script, self._session = script, session
        self._lock = threading.Lock()  # what follows; taken inside the session's lock, never around it
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._output, self._raw, self._new = Budget(self.max_output), Budget(self.max_output), Budget(self.max_output)
        self._first_line = True  # text markers: the output starts after the marker's own line end
        self._shell_ended = False
        self._settled = False  # the prompt is back after the end (or was waited for long enough)

        script._runs += 1
        if script._ready(command, START_TIMEOUT, "start()"):
            self._scanner, line = Scanner(Markers.marked()), typed(command)
        else:
            wrapped = wrap(command, flavour, str(script._runs))
            self._scanner, line = Scanner(Markers.wrapped(wrapped), script._prompt()), wrapped.line
        _, self._stop_watching = session.observe(self._watch)  # from before the first byte typed
        try:
            session.write(line)
        except BaseException:
            self._stop_watching()
            raise
        _current[session] = weakref.ref(self)

    # -- public API -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the command still runs."""
        return self.exit_code is None

    @property
    def exit_code(self) -> int | None:
        """The command's exit status once it ended (None while it runs); the shell's exit code
        if the shell ended first (see ``wait()``)."""
        self._ended()
        return self._scanner.status

    @property
    def output(self) -> str:
        """The command's output so far as plain text (as ``run()`` gives it); beyond
        ``max_output`` characters its head and its tail, with a marker of what was cut."""
        with self._lock:
            return self._output.text()

    def poll(self, yield_time: float = 0.0) -> str:
        """Wait up to ``yield_time`` seconds, or until the command ends; return the output that
        arrived since the last call (``start()``, ``poll()``, ``send()``), within ``max_output``.
        A job that has ended returns what was left, then ``""``."""
        return self._read(yield_time)

    def send(self, text: str, yield_time: float = 0.25) -> str:
        """Type ``text`` into the command once it has begun (a newline is the Enter key,
        ``"\\r"``; ``"\\x03"`` is Ctrl-C), then ``poll(yield_time)``. ``RuntimeError`` once the
        command has ended: the text would go to the shell instead (nothing is typed)."""
        if not isinstance(text, str):
            raise TypeError(f"send() takes str, not {type(text).__name__}")
        return self._read(yield_time, text.replace("\r\n", "\r").replace("\n", "\r"))

    def interrupt(self) -> None:
        """Type Ctrl-C into the command (on Windows too: ConPTY turns it into a CTRL_C_EVENT);
        ``poll()`` or ``wait()`` then see it end. ``RuntimeError`` once it has ended."""
        self._type("\x03")

    def wait(self, timeout: float | None = None) -> RunResult:
        """Wait for the command to end; return its ``RunResult`` (``complete`` is False when its
        output was cut). ``TimeoutError`` if it still runs after ``timeout`` seconds (it keeps
        running); ``EOFError`` if the shell ended before the command (``output`` keeps what came)."""
        if timeout is not None:
            _check_time(timeout, "timeout")
        self._wait(timeout)
        with self._lock:
            status, output, raw, cut = self._scanner.status, self._output.text(), self._raw.text(), self._output.cut
        if status is None:
            raise TimeoutError(f"{self!r} still runs after {timeout}s; the end of its output so far:\n{output[-300:]}")
        if self._shell_ended:
            raise EOFError(
                f"the terminal's shell ended (exit code {status}) before {self.command!r} did; "
                f"its output is in Job.output. Its end:\n{output[-300:]}"
            )
        return RunResult(self.command, output, status, raw, not cut)

    def __repr__(self) -> str:
        code = self.exit_code
        return f"Job(command={self.command!r}, {'running' if code is None else f'exited {code}'})"

    # -- the caller's side ----------------------------------------------------------------------

    def _read(self, yield_time: float, text: str = "") -> str:
        """Type ``text``, wait up to ``yield_time`` or the end; take the output since the last call."""
        _check_time(yield_time, "yield_time")
        if text:
            self._type(text)
        self._wait(yield_time)
        with self._lock:
            new, self._new = self._new, Budget(self.max_output)
        return new.text()

    def _type(self, text: str) -> None:
        self._wait_begun(text)
        if not self.running:
            raise RuntimeError(f"{self!r} has ended: {text!r} was not typed (it would go to the shell)")
        self._session.write(text)

    def _wait_begun(self, text: str) -> None:
        """Wait (up to START_TIMEOUT) for the command's begin marker: keys typed before it go to
        the shell's line editor, which may keep them from the command (bash's readline leaves the
        terminal raw until it hands the line over: an Enter typed then stays "\r", and ``read``
        never sees the line end). ``TimeoutError`` if it never begins (nothing typed)."""
        if not self._session.wait_until(lambda: self._scanner.stage != TYPED or self._ended(), START_TIMEOUT, _STEP):
            raise TimeoutError(f"{self!r} has not begun after {START_TIMEOUT:.0f}s: {text!r} was not typed")

    def _wait(self, seconds: float | None) -> None:
        """Wait up to ``seconds`` (None: no limit) for the end; once ended, for the prompt."""
        if self._session.wait_until(self._ended, seconds, _STEP):
            self._settle()

    def _ended(self) -> bool:
        """Whether the command has ended: its end marker, the shell's end, or (interrupted) its
        prompt back on the screen."""
        self._check_shell()
        scanner = self._scanner
        with self._lock:
            if scanner.stage >= ENDED:
                return True
            back = scanner.interrupted and bool(scanner.prompt)
        if back and self._script._prompt().endswith(scanner.prompt):
            with self._lock:
                if scanner.stage < ENDED:
                    self._emit(scanner.at_prompt(INTERRUPTED))
            self._stop_watching()
        return scanner.status is not None

    def _settle(self) -> None:
        """Once ended, wait (up to PROMPT_WAIT) for the prompt, as ``run()`` does: what is typed
        next is then echoed after it, and the saved screen does not depend on timing."""
        if self._settled:
            return
        self._session.wait_until(lambda: self._prompt_back() or not self._session.running, PROMPT_WAIT, 0.1)
        self._settled = True
        self._stop_watching()
        self._script._looked()

    def _prompt_back(self) -> bool:
        scanner = self._scanner
        with self._lock:
            if scanner.stage == DONE:
                return True
            if scanner.markers.prompt is not None:
                return False  # its mark is still to come
        return self._script._prompt().endswith(scanner.prompt)

    def _check_shell(self) -> None:
        """The shell has exited (all its output read): a job still running ends with it."""
        code = self._session.exit_code
        if code is None:
            return
        with self._lock:
            if self._scanner.stage >= ENDED:
                return
            self._scanner.feed(self._decoder.decode(b"", final=True))
            self._emit(self._scanner.close(code))
            self._shell_ended = self._settled = True
        self._stop_watching()

    # -- the stream's side (the session's reader thread, its lock held) ------------------------

    def _watch(self, kind: str, data: bytes, _t: float) -> None:
        if kind == "i" and b"\x03" in data:
            self._scanner.interrupted = True
        if kind != "o" or self._session.exit_code is not None:  # the exit banner is not output
            return
        with self._lock:
            self._emit(self._scanner.feed(self._decoder.decode(data)))
            done = self._scanner.stage == DONE
        if done:
            self._stop_watching()  # the session's lock is re-entrant

    def _emit(self, raw: str) -> None:
        """``raw`` is output: kept as it came, and as plain text (lock held)."""
        if not raw:
            return
        raw = COMMAND_START.sub("", raw)  # bash marks each command of a pasted line
        self._raw.add(raw)
        text = _ESCAPES.sub("", raw).replace("\r\n", "\n")
        if self._first_line and text and self._scanner.markers.text_end is not None:
            text = text[1:] if text.startswith("\n") else text
        self._first_line = self._first_line and not text
        self._output.add(text)
        self._new.add(text)


#: The job each session's shell runs (at most one); weak: a job is kept alive by its watching.
_current: weakref.WeakKeyDictionary[Session, weakref.ref[Job]] = weakref.WeakKeyDictionary()


def _refuse_if_busy(script: Scripter) -> None:
    """``RuntimeError`` when the shell has ended, or runs a job (``check_idle``)."""
    session = script.session
    if not session.running:
        raise RuntimeError(f"the terminal has ended (exit code {session.exit_code}): there is no shell to start a command in")
    check_idle(script, "start()")


def check_idle(script: Scripter, caller: str) -> None:
    """``RuntimeError`` while a job runs in this shell: ``caller`` would type into it. The last
    job, ended, first sees its prompt back."""
    ref = _current.get(script.session)
    job = ref() if ref is not None else None
    if job is None:
        return
    if job.running:
        raise RuntimeError(
            f"{caller} cannot type a command: the shell is busy with {job!r}; poll() it, send() it input, "
            "interrupt() it or wait() for it first (one command at a time: the shell runs one in the foreground)"
        )
    job._settle()


def _check_time(seconds: float, name: str) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if not seconds >= 0 or math.isinf(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, 0 or more, not {seconds}")


def start(script: Scripter, command: str, yield_time: float = 10.0, max_output: int | None = None) -> Job:
    """Type ``command`` into the shell as ``run()`` does (refused while the shell is not at its
    prompt, or runs another job); wait up to ``yield_time`` seconds, or until it ends; return
    its ``Job``. Its ``output`` keeps at most ``max_output`` characters (default ``OUTPUT_MAX``):
    beyond that, the head and the tail with a marker of what was cut; ``poll()`` and ``send()``
    each return the output that came since the last call. See ``conpty_widget.jobs``."""
    _check_time(yield_time, "yield_time")
    job = Job(script, command, max_output)
    job._read(yield_time)
    return job
