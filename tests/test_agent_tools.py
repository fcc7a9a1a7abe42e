"""agent_tools(terminal): exec_command and write_stdin, as an agent calls them, in a real shell."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import threading

import pytest

from conpty_widget import Terminal, agent_tools
from conpty_widget.agent import MIN_OUTPUT_TOKENS
from conpty_widget.budget import MARKER

pytestmark = pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="a POSIX bash")


@pytest.fixture
def term(tmp_path):
    t = Terminal(["bash"], cwd=tmp_path, env={"HOME": str(tmp_path), "PS1": "$ ", "HISTFILE": os.devnull})
    yield t
    t.close()


@pytest.fixture
def tools(term):
    return agent_tools(term)


def test_definitions_are_unified_exec_shaped_json_schema(tools):
    by_name = {tool["name"]: tool for tool in tools.definitions}
    assert sorted(by_name) == ["exec_command", "write_stdin"]
    exec_params, write_params = by_name["exec_command"]["parameters"], by_name["write_stdin"]["parameters"]
    assert sorted(exec_params["properties"]) == ["cmd", "max_output_tokens", "yield_time_ms"]
    assert exec_params["required"] == ["cmd"] and exec_params["additionalProperties"] is False
    assert sorted(write_params["properties"]) == ["chars", "max_output_tokens", "session_id", "yield_time_ms"]
    assert write_params["required"] == ["session_id"]
    for tool in tools.definitions:
        assert tool["type"] == "function" and tool["description"] and tool["parameters"]["type"] == "object"
        assert json.loads(json.dumps(tool)) == tool  # plain JSON, as sent to a model
    tools.definitions.clear()  # each AgentTools has its own copy
    assert len(agent_tools(tools.terminal).definitions) == 2


def test_a_command_that_ends_within_its_yield_time(tools):
    reply = tools.call("exec_command", {"cmd": "echo hello; (exit 2)"})
    assert set(reply) == {"output", "exit_code", "wall_time_seconds", "original_token_count"}
    assert (reply["output"], reply["exit_code"]) == ("hello\n", 2)
    assert reply["original_token_count"] == 2 and 0 <= reply["wall_time_seconds"] < 10  # not the 10 s yield time


def test_a_long_command_gets_a_session_to_poll_and_answer(tools, term):
    reply = tools.call("exec_command", '{"cmd": "echo asking; read -p \\"name? \\" n; echo hi $n", "yield_time_ms": 250}')
    assert set(reply) == {"output", "session_id", "wall_time_seconds", "original_token_count"}
    session = reply["session_id"]
    seen = reply["output"]
    while "name? " not in seen:  # the prompt of read comes when it comes
        seen += tools.call("write_stdin", {"session_id": session, "yield_time_ms": 0})["output"]
    assert seen == "asking\nname? "
    reply = tools.call("write_stdin", {"session_id": session, "chars": "Ada\n", "yield_time_ms": 30_000})
    assert (reply["output"], reply["exit_code"]) == ("Ada\nhi Ada\n", 0) and "session_id" not in reply
    with pytest.raises(ValueError, match=f"session {session} has ended \\(exit code 0, reported then\\)"):
        tools.call("write_stdin", {"session_id": session, "chars": "more\n"})
    assert "more" not in term.screen_text()


def test_one_command_at_a_time_and_ctrl_c_through_write_stdin(tools, term):
    reply = tools.call("exec_command", {"cmd": "echo started; sleep 30", "yield_time_ms": 250})
    session, seen = reply["session_id"], reply["output"]
    while "started" not in seen:  # a Ctrl-C before the shell read the line would flush it
        seen += tools.call("write_stdin", {"session_id": session})["output"]
    with pytest.raises(RuntimeError, match=f"busy with session {session} \\('echo started; sleep 30'\\).*\\\\u0003"):
        tools.call("exec_command", {"cmd": "echo no"})
    reply = tools.call("write_stdin", {"session_id": session, "chars": "\u0003", "yield_time_ms": 30_000})
    assert reply["exit_code"] == 130
    assert tools.call("exec_command", {"cmd": "echo next"})["output"] == "next\n"
    assert "echo no" not in term.screen_text()


def test_the_output_budget_keeps_head_and_tail(tools):
    reply = tools.call("exec_command", {"cmd": "seq 1 3000", "max_output_tokens": 25})
    whole = "".join(f"{i}\n" for i in range(1, 3001))
    output = reply["output"]
    assert len(output) <= 100 and output.startswith("1\n2\n") and output.endswith("2999\n3000\n")
    assert re.search(re.escape(MARKER).replace(r"\{\}", r"\d+"), output)
    assert reply["original_token_count"] == math.ceil(len(whole) / 4) and reply["exit_code"] == 0


@pytest.mark.parametrize(
    "name,arguments,error,message",
    [
        ("shell", {"cmd": "ls"}, ValueError, "unknown tool 'shell'"),
        ("exec_command", {}, ValueError, "needs 'cmd'"),
        ("exec_command", {"cmd": "ls", "workdir": "/"}, ValueError, "takes no \\['workdir'\\]"),
        ("exec_command", {"cmd": "ls", "yield_time_ms": -1}, ValueError, "yield_time_ms must be 0 or more"),
        ("exec_command", {"cmd": "ls", "yield_time_ms": "5"}, TypeError, "'yield_time_ms' must be a number"),
        ("exec_command", {"cmd": "ls", "max_output_tokens": 3}, ValueError, f"at least {MIN_OUTPUT_TOKENS}"),
        ("exec_command", "{not json", ValueError, "the arguments are not JSON"),
        ("exec_command", "[1]", TypeError, "must be an object"),
        ("write_stdin", {"session_id": 99}, ValueError, "unknown session_id 99; running sessions: none"),
        ("write_stdin", {"session_id": True}, TypeError, "must be a whole number"),
        ("write_stdin", {"session_id": 1.5}, TypeError, "must be a whole number"),
    ],
)
def test_bad_calls_are_clear_errors_and_type_nothing(tools, term, name, arguments, error, message):
    before = term.run("echo ready").output
    with pytest.raises(error, match=message):
        tools.call(name, arguments)
    assert before == "ready\n" and term.run("echo still").output == "still\n"
    assert "ls" not in term.screen_text()


def test_a_bad_call_to_a_running_session_leaves_it_running(tools):
    session = tools.call("exec_command", {"cmd": "read x; echo got $x", "yield_time_ms": 250})["session_id"]
    with pytest.raises(ValueError, match="yield_time_ms must be 0 or more"):
        tools.call("write_stdin", {"session_id": session, "chars": "lost\n", "yield_time_ms": -5})
    with pytest.raises(TypeError, match="'chars' must be a string"):
        tools.call("write_stdin", {"session_id": session, "chars": 5})
    reply = tools.call("write_stdin", {"session_id": session, "chars": "kept\n", "yield_time_ms": 30_000})
    assert (reply["output"], reply["exit_code"]) == ("kept\ngot kept\n", 0)


def test_a_session_that_ended_unseen_types_nothing_and_gives_its_last_output(tools, term):
    session = tools.call("exec_command", {"cmd": "read x; echo got $x", "yield_time_ms": 250})["session_id"]
    term.write("by hand\r")  # the person answered; the agent has not looked since
    term.wait_for(r"got by hand\n[^\n]*[$#] ?$")  # the prompt is back: the command's end was read
    with pytest.raises(RuntimeError, match=f"session {session} has ended \\(exit code 0\\): 'late\\\\n' was not typed"):
        tools.call("write_stdin", {"session_id": session, "chars": "late\n"})
    reply = tools.call("write_stdin", {"session_id": session})
    assert (reply["output"], reply["exit_code"]) == ("by hand\ngot by hand\n", 0)
    assert "late" not in term.screen_text()


def test_the_terminal_closed_under_a_session(tools, term):
    # exec: no shell is left to print the end marker (a hung-up sleep's 129 could come first).
    session = tools.call("exec_command", {"cmd": "echo kept; exec sleep 30", "yield_time_ms": 250})["session_id"]
    term.close()
    reply = tools.call("write_stdin", {"session_id": session})
    assert reply["exit_code"] == term.exit_code and "session_id" not in reply
    with pytest.raises(ValueError, match=f"session {session} has ended"):
        tools.call("write_stdin", {"session_id": session})
    with pytest.raises(RuntimeError, match="the terminal has ended"):
        tools.call("exec_command", {"cmd": "echo more"})


class _View:
    """A view on a transport of its own: what the kernel sends it."""

    def __init__(self, term: Terminal, name: str) -> None:
        self.name, self.received, self._lock = name, b"", threading.Lock()
        term.receive({"type": "hello", "view": name, "version": 1}, [], self)

    def send(self, msg: dict, payload: bytes) -> None:
        with self._lock:
            self.received += payload


def test_the_agent_and_the_person_share_the_terminal(tools, term):
    person, other = _View(term, "person"), _View(term, "other")
    session = tools.call("exec_command", {"cmd": "read -p 'ok? ' answer; echo answer=$answer", "yield_time_ms": 250})
    # The person answers in their view, as if typed.
    term.receive({"type": "input", "view": "person", "data": "typed-by-person\r"}, [], person)
    reply = tools.call("write_stdin", {"session_id": session["session_id"], "yield_time_ms": 30_000})
    assert reply["exit_code"] == 0 and reply["output"].endswith("answer=typed-by-person\n")
    term.run("true")  # and the views were sent all of it
    for view in (person, other):
        assert b"read -p 'ok? ' answer" in view.received and b"answer=typed-by-person" in view.received
