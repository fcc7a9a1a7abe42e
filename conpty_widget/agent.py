"""``agent_tools(terminal)``: a terminal as two tools for a language model agent, shaped like
codex's unified exec: ``exec_command`` starts a command and gives control back after a yield
time, ``write_stdin`` types into it (or just polls it) by session id.

The agent works in the terminal the person sees: what it types shows in every view, what the
person types reaches its command, and either may interrupt. One command runs at a time (the
shell runs one in the foreground, see conpty_widget/jobs.py): ``exec_command`` while one runs is
refused with the running session's id, so the agent polls, answers or interrupts it, rather than
typing into it unseen or working in a terminal the person does not watch.

Output budgets are in tokens, as the model counts them, approximated as 4 characters each (as
codex approximates 4 bytes); what is longer keeps its head and its tail with a marker.
Bad input (an unknown tool or argument, a wrong type, a negative yield time, an unknown or ended
session id, a budget smaller than the marker) raises ``ValueError`` or ``TypeError`` before
anything is typed; a refused command raises ``RuntimeError``. An agent loop gives ``str(error)``
back to the model as the tool's output.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .budget import MIN_LIMIT, truncate
from .jobs import Job

if TYPE_CHECKING:
    from .widget import Terminal

CHARS_PER_TOKEN = 4
DEFAULT_MAX_OUTPUT_TOKENS = 10_000
MIN_OUTPUT_TOKENS = math.ceil(MIN_LIMIT / CHARS_PER_TOKEN)
#: Yield times in ms, as codex's: exec_command, write_stdin with characters, write_stdin polling.
EXEC_YIELD, WRITE_YIELD, POLL_YIELD = 10_000, 250, 5_000
#: The range yield times are brought into (a long wait is a poll loop; a short one a busy loop).
EXEC_RANGE, WRITE_RANGE, POLL_RANGE = (250, 30_000), (250, 30_000), (5_000, 300_000)

_BUDGET = {
    "type": "number",
    "description": f"Output token budget (about {CHARS_PER_TOKEN} characters a token); longer output keeps its "
    f"head and tail. Defaults to {DEFAULT_MAX_OUTPUT_TOKENS}, at least {MIN_OUTPUT_TOKENS}.",
}
_REPLY = {
    "type": "object",
    "properties": {
        "output": {"type": "string", "description": "Output since the last call, possibly cut in the middle."},
        "exit_code": {"type": "number", "description": "The command's exit code, once it ended."},
        "session_id": {"type": "number", "description": "While the command runs: the id to give write_stdin."},
        "wall_time_seconds": {"type": "number", "description": "Seconds the call took."},
        "original_token_count": {"type": "number", "description": "Approximate tokens of the output before it was cut."},
    },
    "required": ["output", "wall_time_seconds", "original_token_count"],
    "additionalProperties": False,
}
DEFINITIONS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "exec_command",
        "description": "Runs a command in the shell of a terminal a person is watching, returning its output, and "
        "its exit code if it ended, or a session ID for ongoing interaction. One command at a time; the shell "
        "keeps its state (directory, variables) from one command to the next.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "cmd": {"type": "string", "description": "Shell command to execute."},
                "yield_time_ms": {
                    "type": "number",
                    "description": f"Wait before yielding output. Defaults to {EXEC_YIELD} ms; effective range is "
                    f"{EXEC_RANGE[0]}-{EXEC_RANGE[1]} ms.",
                },
                "max_output_tokens": _BUDGET,
            },
            "required": ["cmd"],
            "additionalProperties": False,
        },
        "output_schema": _REPLY,
    },
    {
        "type": "function",
        "name": "write_stdin",
        "description": "Writes characters to an existing exec_command session and returns recent output.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "session_id": {"type": "number", "description": "Identifier of the running exec_command session."},
                "chars": {
                    "type": "string",
                    "description": "Characters to type (a newline is Enter, \\u0003 is Ctrl-C). Defaults to empty, "
                    "which polls without writing.",
                },
                "yield_time_ms": {
                    "type": "number",
                    "description": f"Wait before yielding output. Writes default to {WRITE_YIELD} ms and cap at "
                    f"{WRITE_RANGE[1]} ms; empty polls wait {POLL_RANGE[0]}-{POLL_RANGE[1]} ms, {POLL_YIELD} by default.",
                },
                "max_output_tokens": _BUDGET,
            },
            "required": ["session_id"],
            "additionalProperties": False,
        },
        "output_schema": _REPLY,
    },
]


class AgentTools:
    """``exec_command`` and ``write_stdin`` over one terminal (``agent_tools(terminal)``)."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        #: JSON-schema tool definitions (the Responses API's function tools; for Chat Completions
        #: put each under ``{"type": "function", "function": ...}``).
        self.definitions = json.loads(json.dumps(DEFINITIONS))  # the caller's own copy
        self._sessions: dict[int, Job] = {}  # running, by session id
        self._ended: dict[int, int] = {}  # session id -> exit code, reported
        self._next_id = 1

    def call(self, name: str, arguments: Mapping[str, Any] | str) -> dict[str, Any]:
        """Run tool ``name`` with ``arguments`` (a mapping, or its JSON text as a model writes
        it); return the reply: ``output``, ``wall_time_seconds``, ``original_token_count``, and
        ``exit_code`` once the command ended or ``session_id`` while it runs."""
        args = _arguments(arguments)
        started = time.monotonic()
        if name == "exec_command":
            _only(args, name, {"cmd", "yield_time_ms", "max_output_tokens"})
            cmd = args.get("cmd")
            if not isinstance(cmd, str) or not cmd.strip():
                raise ValueError(f"exec_command needs 'cmd', a non-empty string, not {cmd!r}")
            wait = _yield(args, EXEC_YIELD, EXEC_RANGE)
            budget = _budget(args)
            self._refuse_if_busy()
            job = Job(self.terminal._script, cmd)  # Terminal.start() without its first wait:
            output = job.poll(wait)  # all the output so far comes here
            session_id = self._next_id
            self._next_id += 1
            self._sessions[session_id] = job
        elif name == "write_stdin":
            _only(args, name, {"session_id", "chars", "yield_time_ms", "max_output_tokens"})
            session_id, job = self._session(args.get("session_id"))
            chars = args.get("chars", "")
            if not isinstance(chars, str):
                raise TypeError(f"write_stdin's 'chars' must be a string, not {type(chars).__name__}")
            budget = _budget(args)
            if chars:
                wait = _yield(args, WRITE_YIELD, WRITE_RANGE)
                if not job.running:
                    raise RuntimeError(
                        f"session {session_id} has ended (exit code {job.exit_code}): {chars!r} was not typed; "
                        "write_stdin with no chars gives its last output"
                    )
                output = job.send(chars, wait)
            else:
                output = job.poll(_yield(args, POLL_YIELD, POLL_RANGE))
        else:
            raise ValueError(f"unknown tool {name!r}: the tools are exec_command and write_stdin")
        return self._reply(session_id, job, output, budget, time.monotonic() - started)

    def _reply(self, session_id: int, job: Job, output: str, budget: int, took: float) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "output": truncate(output, budget),
            "wall_time_seconds": round(took, 3),
            "original_token_count": math.ceil(len(output) / CHARS_PER_TOKEN),
        }
        code = job.exit_code
        if code is None:
            reply["session_id"] = session_id
        else:
            reply["exit_code"] = code
            del self._sessions[session_id]
            self._ended[session_id] = code
        return reply

    def _session(self, value: Any) -> tuple[int, Job]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise TypeError(f"write_stdin's 'session_id' must be a whole number, not {value!r}")
        session_id = int(value)
        if session_id in self._sessions:
            return session_id, self._sessions[session_id]
        if session_id in self._ended:
            raise ValueError(
                f"session {session_id} has ended (exit code {self._ended[session_id]}, reported then): "
                "start a new command with exec_command"
            )
        running = sorted(self._sessions) or "none"
        raise ValueError(f"unknown session_id {session_id}; running sessions: {running}")

    def _refuse_if_busy(self) -> None:
        for session_id, job in self._sessions.items():
            if job.running:
                raise RuntimeError(
                    f"the terminal is busy with session {session_id} ({job.command!r}), which still runs: poll it "
                    'or answer it with write_stdin, or interrupt it with chars "\\u0003" (Ctrl-C), before the '
                    "next command"
                )

    def __repr__(self) -> str:
        return f"AgentTools({self.terminal!r}, running sessions: {sorted(self._sessions)})"


def agent_tools(terminal: Terminal) -> AgentTools:
    """The tools ``exec_command`` and ``write_stdin`` over ``terminal``, for an agent: its
    ``.definitions`` to give the model, its ``.call(name, arguments)`` to run what the model asks."""
    return AgentTools(terminal)


def _arguments(arguments: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"the arguments are not JSON: {exc}") from None
    if not isinstance(arguments, Mapping):
        raise TypeError(f"the arguments must be an object, not {type(arguments).__name__}")
    return arguments


def _only(args: Mapping[str, Any], tool: str, known: set[str]) -> None:
    unknown = set(args) - known
    if unknown:
        raise ValueError(f"{tool} takes no {sorted(unknown)}; its arguments are {sorted(known)}")


def _number(args: Mapping[str, Any], key: str, default: float) -> float:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{key!r} must be a number, not {value!r}")
    return value


def _yield(args: Mapping[str, Any], default: int, bounds: tuple[int, int]) -> float:
    """The yield time in seconds; ``ValueError`` when negative, else brought into ``bounds``."""
    ms = _number(args, "yield_time_ms", default)
    if ms < 0:
        raise ValueError(f"yield_time_ms must be 0 or more, not {ms}")
    return min(max(ms, bounds[0]), bounds[1]) / 1000


def _budget(args: Mapping[str, Any]) -> int:
    """The output budget in characters."""
    tokens = _number(args, "max_output_tokens", DEFAULT_MAX_OUTPUT_TOKENS)
    if tokens < MIN_OUTPUT_TOKENS:
        raise ValueError(
            f"max_output_tokens={tokens} is smaller than the marker that replaces what is cut: give at least {MIN_OUTPUT_TOKENS}"
        )
    return int(tokens * CHARS_PER_TOKEN)
