"""Terminal("cmd.exe") in a Windows ipykernel under Wine, driven by a Linux jupyter_client and a
protocol-level page (harness/protocol_client.py, as in tests/test_kernel.py).

cmd.exe echoes what is typed: the tests type ``%COMSPEC:~-7%`` (which cmd expands to
``cmd.exe``) so that the echo of a command never matches the output they wait for.
"""

from __future__ import annotations

import queue
import re
import secrets
import time

import pytest

from conpty_widget.session import WINDOW
from harness.protocol_client import Page, View

from .conftest import kernel_unix_pid, names, session_processes, wait_gone

# ConPTY renders runs of spaces as cursor moves and wraps writes in ESC[?25l ... ESC[?25h.
_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def plain(data: bytes) -> bytes:
    return _ESCAPES.sub(b"", re.sub(rb"\x1b\[(\d*)C", lambda m: b" " * int(m.group(1) or 1), data))


def open_cmd(kc, argv: str = "'cmd.exe'", **kw: object) -> tuple[Page, str, View]:
    """A Terminal running ``argv`` in the kernel, and a view that has seen cmd's first prompt."""
    page = Page(kc)
    extra = "".join(f", {k}={v!r}" for k, v in kw.items())
    page.execute(f"from conpty_widget import Terminal\nt = Terminal({argv}{extra})")
    comm = page.terminal_comm()
    view = page.attach(comm)
    page.read_until(view, b">", timeout=60)
    return page, comm, view


def test_the_kernel_is_windows_and_its_environment_is_clean(kernel):
    _, kc = kernel
    page = Page(kc)
    assert page.evaluate("__import__('sys').platform") == "'win32'"
    assert page.evaluate("__import__('conpty_widget.backends', fromlist=['backend']).backend().__name__") == "'ConPtyProcess'"
    # The launcher removes the Linux pid a Windows ipykernel would take for a handle to wait on.
    assert page.evaluate("__import__('os').environ.get('JPY_PARENT_PID')") == "None"


def test_hello_reset_typing_backspace_and_exit(kernel):
    _, kc = kernel
    page, comm, view = open_cmd(kc)
    assert view.expected is not None  # our reset arrived, numbered
    view.send({"type": "input", "data": "echo hi-%COMSPEC:~-7%\r"})
    assert b"hi-cmd.exe" in plain(page.read_until(view, b"hi-cmd.exe"))
    # Backspace is DEL (what xterm.js sends); under Wine, "\x08" would echo as ^H.
    view.send({"type": "input", "data": "echo bx\x7fs-%COMSPEC:~-7%\r"})
    page.read_until(view, b"bs-cmd.exe")
    view.send({"type": "input", "data": "exit 5\r"})
    page.read_until(view, b"[process exited with code 5]")
    deadline = time.monotonic() + 30
    while page.states[comm].get("exit_code") != 5:
        assert time.monotonic() < deadline, page.states[comm]
        page.pump()
    assert page.evaluate("t.exit_code") == "5"
    page.execute("t.close()")


def test_output_arrives_complete_in_order_with_acks(kernel):
    _, kc = kernel
    count = 2_000  # under Wine, a console program prints a few hundred lines a second here
    page, comm, view = open_cmd(kc)
    python = page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\")
    sent_before = int(page.evaluate("t._session._flow.seq"))
    view.send({"type": "input", "data": f'"{python}" -c "for i in range({count}): print(\'L%05d\' % i)" && echo end-%COMSPEC:~-7%\r'})
    out = page.read_until(view, b"end-cmd.exe", timeout=180)  # checks every chunk's number
    numbers = [int(n) for n in re.findall(rb"L(\d{5})", plain(out))]
    assert numbers == list(range(count)), (len(numbers), numbers[:3], numbers[-3:])
    assert int(page.evaluate("t._session._flow.seq")) > sent_before + 1  # it came in several chunks
    page.execute("t.close()")


def test_a_view_that_never_acknowledges_gets_at_most_the_window(kernel):
    _, kc = kernel
    page, comm, view = open_cmd(kc)
    python = page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\")
    view.send({"type": "input", "data": f'"{python}" -c "while True: print(\'y\' * 1000)"\r'})
    received = 0
    offsets = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        page.pump()
        while not view.inbox.empty():
            msg, buffers = view.inbox.get()
            if msg["type"] == "output":
                received += len(buffers[0])
                offsets.append(msg["offset"] + len(buffers[0]))
    assert offsets, "no output at all"
    assert received <= WINDOW, received
    # Acknowledging opens the window again.
    view.send({"type": "ack", "offset": offsets[-1]})
    more = 0
    deadline = time.monotonic() + 30
    while not more:
        assert time.monotonic() < deadline, "no output after the ack"
        msg, buffers = page.next_message(view, 30)
        if msg["type"] == "output":
            more = len(buffers[0])
    page.execute("t.close()")


def test_input_reaches_a_python_child(kernel):
    _, kc = kernel
    page, comm, view = open_cmd(kc)
    python = page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\")
    view.send({"type": "input", "data": f'"{python}" -c "x = input(\'na\' + \'me? \'); print(\'got[\' + x + \']\')"\r'})
    page.read_until(view, b"name?")  # the prompt: the echoed command line has 'na' + 'me? '
    view.send({"type": "input", "data": "w\u00e9ll\r"})
    assert "got[w\u00e9ll]".encode() in plain(page.read_until(view, "got[w\u00e9ll]".encode()))
    page.execute("t.close()")


def test_run_in_the_kernel(kernel):
    _, kc = kernel
    page, comm, view = open_cmd(kc)
    assert page.evaluate("t.run('echo hello world', timeout=60).output") == repr("hello world\n")
    assert page.evaluate("t.run('cmd /c exit 3', timeout=60).exit_code") == "3"
    assert "hello world" in page.evaluate("t.screen_text()")
    page.execute("t.close()")


def test_interrupting_a_busy_cell_keeps_the_terminal(kernel):
    km, kc = kernel
    page, comm, view = open_cmd(kc)
    msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
    deadline = time.monotonic() + 60
    started = False
    while not started:  # the cell runs: now interrupt it (SIGINT to the launcher's process group)
        assert time.monotonic() < deadline, "the cell did not start"
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        started = msg["header"]["msg_type"] == "stream" and "sleeping" in msg["content"]["text"]
        if msg["header"]["msg_type"] == "comm_msg":
            page._handle(msg)
    view.send({"type": "input", "data": "echo typed-while-busy-%COMSPEC:~-7%\r"})
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    # The interrupt reached the kernel only: the shell lives on and has the keys typed meanwhile.
    page.read_until(view, b"typed-while-busy-cmd.exe", timeout=60)
    assert page.evaluate("t.exit_code") == "None"
    assert page.evaluate("t.run('echo still-here', timeout=60).output") == repr("still-here\n")
    page.execute("t.close()")


def test_close_ends_the_terminals_windows_processes(kernel):
    km, kc = kernel
    tag = secrets.token_hex(4)
    cols = 81 + secrets.randbelow(40)  # conhost.exe shows the size in its command line: it tells ours
    page, comm, view = open_cmd(kc, f"['cmd.exe', '/k', 'rem {tag}']", cols=cols)
    python = page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\")
    view.send({"type": "input", "data": f'"{python}" -c "import time; print(\'u\' + \'p-ok\'); time.sleep(300)" {tag}\r'})
    page.read_until(view, b"up-ok")  # the output: the echoed command line has 'u' + 'p-ok'
    sid = kernel_unix_pid(km)

    def ours():
        return [p for p in session_processes(sid) if tag in " ".join(p.cmdline()) or f"--width {cols} " in " ".join(p.cmdline())]

    seen = names(ours())
    assert len(seen) == 3, seen  # cmd.exe, the python.exe it runs, their conhost.exe
    page.execute("t.close()")
    wait_gone(ours, "after t.close()")


@pytest.mark.parametrize("how", ["shutdown", "sigkill-launcher"])
def test_the_kernel_ending_leaves_no_windows_process(how):
    from .conftest import start_wine_kernel

    km, kc = start_wine_kernel()
    try:
        page, comm, view = open_cmd(kc)
        python = page.evaluate("__import__('sys').executable")[1:-1].replace("\\\\", "\\")
        view.send({"type": "input", "data": f'"{python}" -c "import time; print(\'u\' + \'p-ok\'); time.sleep(300)"\r'})
        page.read_until(view, b"up-ok")  # the output: the echoed command line has 'u' + 'p-ok'
        sid = kernel_unix_pid(km)
        seen = names(session_processes(sid))
        assert len(seen) >= 4, seen  # the kernel, cmd.exe, python.exe, conhost.exe
    finally:
        kc.stop_channels()
        if how == "shutdown":
            km.shutdown_kernel(now=False)
    if how == "sigkill-launcher":
        # The launcher killed outright: PR_SET_PDEATHSIG ends the kernel, Wine ends the rest.
        km.provisioner.process.kill()
        km.provisioner.process.wait()
    wait_gone(lambda: session_processes(sid), f"after the kernel's {how}")
    if how == "sigkill-launcher":
        km.cleanup_resources()  # the connection file and ports of the dead kernel
