"""Terminal("cmd.exe") in a Windows ipykernel under Wine, driven by a Linux jupyter_client and a
protocol-level page (harness/protocol_client.py, as in tests/test_kernel.py): the scenarios both
kernels share (harness/kernel_scenarios.py) with cmd.exe, and what only Windows has.
"""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from harness import kernel_scenarios as scenarios
from harness.kernel_scenarios import CMD
from harness.protocol_client import Page

from .conftest import kernel_unix_pid, names, session_processes, wait_gone

#: A program that says it is up, then waits.
SLEEPER = """-c "import time; print('u' + 'p-ok'); time.sleep(300)\""""


def test_the_kernel_is_windows_and_its_environment_is_clean(kernel):
    _, kc = kernel
    page = Page(kc)
    assert page.evaluate("__import__('sys').platform") == "'win32'"
    assert page.evaluate("__import__('conpty_widget.backends', fromlist=['backend']).backend().__name__") == "'ConPtyProcess'"
    # The launcher removes the Linux pid a Windows ipykernel would take for a handle to wait on.
    assert page.evaluate("__import__('os').environ.get('JPY_PARENT_PID')") == "None"


def test_keys_backspace_and_exit(kernel):
    scenarios.keys_backspace_and_exit(kernel, CMD)


def test_flood_arrives_complete_in_order(kernel):
    # under Wine, a console program prints a few hundred lines a second here
    scenarios.flood_arrives_complete_in_order(kernel, CMD, lines=2_000, per_write=1, timeout=180)


def test_a_view_that_never_acknowledges_gets_at_most_the_window(kernel):
    scenarios.a_view_that_never_acknowledges_gets_at_most_the_window(kernel, CMD)


def test_input_reaches_a_program(kernel):
    scenarios.input_reaches_a_program(kernel, CMD)


def test_run_in_the_kernel(kernel):
    scenarios.run_in_the_kernel(kernel, CMD)


def test_interrupting_a_busy_cell_keeps_the_terminal(kernel):
    scenarios.interrupting_a_busy_cell_keeps_the_terminal(kernel, CMD)


def test_close_ends_the_terminals_windows_processes(kernel):
    km, kc = kernel
    tag = secrets.token_hex(4)
    cols = 81 + secrets.randbelow(40)  # conhost.exe shows the size in its command line: it tells ours
    page, comm, view = scenarios.open_terminal(kc, dataclasses.replace(CMD, args=f"['cmd.exe', '/k', 'rem {tag}'], cols={cols}"))
    view.send({"type": "input", "data": f"{scenarios.python(page)} {SLEEPER} {tag}\r"})
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
        page, comm, view = scenarios.open_terminal(kc, CMD)
        view.send({"type": "input", "data": f"{scenarios.python(page)} {SLEEPER}\r"})
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
