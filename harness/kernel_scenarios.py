"""Scenarios of a Terminal in a real kernel, written once for every platform they apply to: a
protocol-level page (``harness.protocol_client``) drives a Terminal running ``shell`` in the kernel
of ``kernel`` (a ``(manager, client)`` pair). tests/test_kernel.py runs them with bash in a Linux
ipykernel, tests/windows_kernel/test_wine_kernel.py with cmd.exe in a Windows ipykernel under Wine.

The commands typed carry an expression the shell expands (``Shell.expand``), so that the echo of a
command line never matches the output waited for.
"""

from __future__ import annotations

import queue
import re
import time
from dataclasses import dataclass
from typing import Any

import psutil

from conpty_widget.session import PACER, WINDOW

from .protocol_client import Page, View

# ConPTY renders runs of spaces as cursor moves and wraps writes in ESC[?25l ... ESC[?25h.
_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def plain(data: bytes) -> bytes:
    """``data`` without escape sequences, a cursor move forward read as spaces."""
    return _ESCAPES.sub(b"", re.sub(rb"\x1b\[(\d*)C", lambda m: b" " * int(m.group(1) or 1), data))


@dataclass(frozen=True)
class Shell:
    """A shell the scenarios run in, and how to speak to it."""

    args: str  #: the Terminal's arguments, as Python source
    prompt: bytes  #: what its prompt ends with
    expand: str  #: an expression the shell expands...
    expanded: str  #: ...to this
    fail: str  #: a command that exits with status 3
    posix: bool  #: its processes are the kernel machine's own (psutil sees them)

    def echo(self, word: str) -> tuple[str, bytes]:
        """The line that prints ``word`` and what its output shows (never its echo)."""
        return f"echo {word}-{self.expand}\r", f"{word}-{self.expanded}".encode()


BASH = Shell("['bash', '--norc', '--noprofile'], env={'PS1': '$ '}", b"$ ", "$((6*7))", "42", "bash -c 'exit 3'", posix=True)
CMD = Shell("'cmd.exe'", b">", "%COMSPEC:~-7%", "cmd.exe", "cmd /c exit 3", posix=False)


def open_terminal(kc: Any, shell: Shell) -> tuple[Page, str, View]:
    """A Terminal running ``shell`` in the kernel, and a view that has seen its first prompt."""
    page = Page(kc)
    page.execute(f"from conpty_widget import Terminal\nt = Terminal({shell.args})")
    comm = page.terminal_comm()
    view = page.attach(comm)
    page.read_until(view, shell.prompt, timeout=60)
    return page, comm, view


def python(page: Page) -> str:
    """The kernel's Python, as the shell runs it."""
    return '"' + page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\") + '"'


def keys_backspace_and_exit(kernel: tuple[Any, Any], shell: Shell) -> None:
    """hello -> a numbered reset; typed keys (Backspace as xterm.js sends it: DEL) reach the shell;
    its exit shows the banner and sets ``exit_code``."""
    _, kc = kernel
    page, comm, view = open_terminal(kc, shell)
    assert view.expected is not None  # our reset arrived, numbered
    line, shown = shell.echo("hi")
    view.send({"type": "input", "data": line})
    assert shown in plain(page.read_until(view, shown))
    line, shown = shell.echo("bx\x7fs")
    view.send({"type": "input", "data": line})
    page.read_until(view, shown.replace(b"x\x7f", b""))
    view.send({"type": "input", "data": "exit 5\r"})
    page.read_until(view, b"[process exited with code 5]")
    deadline = time.monotonic() + 30
    while page.states[comm].get("exit_code") != 5:
        assert time.monotonic() < deadline, page.states[comm]
        page.pump()
    assert page.evaluate("t.exit_code") == "5"
    assert page.evaluate("repr(t).endswith('exited 5)')") == "True"
    page.execute("t.close()")


def flood_arrives_complete_in_order(
    kernel: tuple[Any, Any], shell: Shell, lines: int, per_write: int, timeout: float = 120
) -> None:
    """``lines`` numbered lines, written ``per_write`` at a time, arrive each once, in order, in
    numbered chunks (acknowledged as xterm.js does), batched and paced under the server's message
    rate. (ConPTY renders its screen: lines a single write scrolls past between two frames are
    not sent, as in any Windows console; a line a write keeps them all.)"""
    _, kc = kernel
    page, _, view = open_terminal(kc, shell)
    program = (
        f"import sys; [sys.stdout.write(''.join('L%07d\\n' % i for i in range(j, min(j + {per_write}, {lines}))))"
        f" or sys.stdout.flush() for j in range(0, {lines}, {per_write})]"
    )
    end_line, end = shell.echo("end")
    sent_before = int(page.evaluate("t._session._flow.seq"))
    start = time.monotonic()
    view.send({"type": "input", "data": f'{python(page)} -c "{program}" && {end_line}'})
    out = page.read_until(view, end, timeout=timeout)  # checks every chunk's number
    elapsed = time.monotonic() - start
    numbers = [int(n) for n in re.findall(rb"L(\d{7})", plain(out))]
    assert numbers == list(range(lines)), (len(numbers), numbers[:3], numbers[-3:])
    chunks = int(page.evaluate("t._session._flow.seq")) - sent_before
    assert chunks > 1  # it came in several chunks...
    assert chunks <= PACER.rate * elapsed + PACER.burst, (chunks, elapsed)  # ...far under 1000 messages/s
    page.execute("t.close()")


def a_view_that_never_acknowledges_gets_at_most_the_window(kernel: tuple[Any, Any], shell: Shell) -> None:
    """A view that never acknowledges gets at most ``WINDOW`` bytes: the output stops (the child
    blocks writing, the kernel's memory stays bounded) until an acknowledgement opens the window."""
    km, kc = kernel
    page, _, view = open_terminal(kc, shell)
    kernel_process = psutil.Process(km.provisioner.process.pid) if shell.posix else None
    rss_before = kernel_process.memory_info().rss if kernel_process else 0
    view.send({"type": "input", "data": f"""{python(page)} -c "while True: print('y' * 1000)"\r"""})
    received, offsets = 0, []

    def collect(seconds: float) -> None:
        nonlocal received
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            page.pump()
            while not view.inbox.empty():
                msg, buffers = view.inbox.get()
                if msg["type"] == "output":
                    received += len(buffers[0])
                    offsets.append(msg["offset"] + len(buffers[0]))

    # The program prints for ever: the window fills, then the read-ahead, and the session stops
    # reading (the child blocks). Then nothing more is sent.
    deadline = time.monotonic() + 180  # a hang guard: a console under Wine prints slowly
    while page.evaluate("t._session._flow.full(True)") != "True":
        assert time.monotonic() < deadline, f"the read-ahead never filled ({received} bytes received)"
        collect(0.2)
    sent = int(page.evaluate("t._session._flow.offset"))
    collect(1.0)
    assert int(page.evaluate("t._session._flow.offset")) == sent
    assert offsets, "no output at all"
    assert received <= WINDOW, received
    if kernel_process is not None:
        child = psutil.Process(int(page.evaluate("t.pid"))).children()[0]
        assert child.status() in (psutil.STATUS_SLEEPING, psutil.STATUS_DISK_SLEEP)
        assert kernel_process.memory_info().rss - rss_before < 50 * 2**20
    # Acknowledging opens the window again.
    view.send({"type": "ack", "offset": offsets[-1]})
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "no output after the ack"
        msg, _ = page.next_message(view, 30)
        if msg["type"] == "output":
            break
    page.execute("t.close()")


def input_reaches_a_program(kernel: tuple[Any, Any], shell: Shell) -> None:
    """Keys typed in a view (non-ASCII included) reach a program reading its input."""
    _, kc = kernel
    page, _, view = open_terminal(kc, shell)
    program = "x = input('na' + 'me? '); print('got[' + x + ']')"
    view.send({"type": "input", "data": f'{python(page)} -c "{program}"\r'})
    page.read_until(view, b"name?")  # the prompt: the echoed command line has 'na' + 'me? '
    view.send({"type": "input", "data": "w\u00e9ll\r"})
    assert "got[w\u00e9ll]".encode() in plain(page.read_until(view, "got[w\u00e9ll]".encode()))
    page.execute("t.close()")


def run_in_the_kernel(kernel: tuple[Any, Any], shell: Shell) -> None:
    """``Terminal.run()`` in the kernel: a command's output and its exit status."""
    _, kc = kernel
    page, _, _ = open_terminal(kc, shell)
    assert page.evaluate("t.run('echo hello world', timeout=60).output") == repr("hello world\n")
    assert page.evaluate(f"t.run({shell.fail!r}, timeout=60).exit_code") == "3"
    assert "hello world" in page.evaluate("t.screen_text()")
    page.execute("t.close()")


def interrupting_a_busy_cell_keeps_the_terminal(kernel: tuple[Any, Any], shell: Shell) -> None:
    """Keys typed while a cell runs reach the shell; interrupting the cell interrupts the kernel
    only: the shell lives on, with those keys."""
    km, kc = kernel
    page, _, view = open_terminal(kc, shell)
    # Short sleeps in a loop, not one long one: CPython runs a signal's handler between bytecodes,
    # and a SIGINT that lands after the last check but before sleep's system call begins is seen
    # only when that call returns (measured with a bare ipykernel: one interrupt in about 300
    # sent as the cell starts waited out a sleep(600); none in 600 with the loop).
    msg_id = kc.execute("import time\nprint('sleeping', flush=True)\nwhile True:\n    time.sleep(0.1)")
    deadline = time.monotonic() + 60
    started = False
    while not started:  # the cell runs: now interrupt it
        assert time.monotonic() < deadline, "the cell did not start"
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        started = msg["header"]["msg_type"] == "stream" and "sleeping" in msg["content"]["text"]
        if msg["header"]["msg_type"] == "comm_msg":
            page._handle(msg)
    line, shown = shell.echo("typed-while-busy")
    view.send({"type": "input", "data": line})
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    page.read_until(view, shown, timeout=60)
    assert page.evaluate("t.exit_code") == "None"
    assert page.evaluate("t.run('echo still-here', timeout=60).output") == repr("still-here\n")
    page.execute("t.close()")
