"""A Terminal inside a real kernel (jupyter_client), driven by a protocol-level front end; the
scenarios that also run in a Windows kernel are harness/kernel_scenarios.py's."""

import sys
import time

import psutil
import pytest

from harness import kernel_scenarios as scenarios
from harness.kernel_scenarios import BASH
from harness.process import children_named, running
from harness.protocol_client import Page
from harness.wait import poll

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kernel tests run on POSIX")


def open_terminal(kc, argv: str) -> tuple[Page, str]:
    page = Page(kc)
    page.execute(f"from conpty_widget import Terminal\nt = Terminal({argv}, env={{'PS1': '$ '}})")
    return page, page.terminal_comm()


def test_keys_backspace_and_exit(kernel):
    scenarios.keys_backspace_and_exit(kernel, BASH)


def test_flood_arrives_complete_in_order(kernel):
    scenarios.flood_arrives_complete_in_order(kernel, BASH, lines=2_000_000, per_write=10_000)


def test_a_view_that_never_acknowledges_gets_at_most_the_window(kernel):
    scenarios.a_view_that_never_acknowledges_gets_at_most_the_window(kernel, BASH)


def test_input_reaches_a_program(kernel):
    scenarios.input_reaches_a_program(kernel, BASH)


def test_run_in_the_kernel(kernel):
    scenarios.run_in_the_kernel(kernel, BASH)


def test_interrupting_a_busy_cell_keeps_the_terminal(kernel):
    scenarios.interrupting_a_busy_cell_keeps_the_terminal(kernel, BASH)


def test_a_second_view_gets_the_current_screen(kernel):
    _, kc = kernel
    page, comm, first = scenarios.open_terminal(kc, BASH)
    first.send({"type": "input", "data": "echo marker-$((2*21))\r"})
    page.read_until(first, b"marker-42\r\n")
    second = page.attach(comm)
    assert b"marker-42" in page.read_until(second, b"marker-42")
    # Both follow the live stream.
    first.send({"type": "input", "data": "echo both-$((1+1))\r"})
    page.read_until(second, b"both-2\r\n")
    page.read_until(first, b"both-2\r\n")
    page.execute("t.close()")


def test_malformed_messages_are_ignored(kernel):
    _, kc = kernel
    page, comm, view = scenarios.open_terminal(kc, BASH)
    bad = [
        None, 42, "text", [], {}, {"type": "input"}, {"type": "input", "view": view.view},
        {"type": "input", "view": view.view, "data": 5}, {"type": "resize", "view": view.view, "rows": 0, "cols": 80},
        {"type": "resize", "view": view.view, "rows": 10**9, "cols": 80},
        {"type": "resize", "view": view.view, "rows": "24", "cols": 80},
        {"type": "ack", "view": view.view, "offset": -1}, {"type": "ack", "view": view.view, "offset": "x"},
        {"type": "nope", "view": view.view}, {"type": "hello", "view": "../../etc"}, {"type": "input", "view": "x" * 1000},
    ]
    for content in bad:
        view.send_raw(content)
    view.send_raw({"type": "input", "view": view.view}, buffers=[b"\xff\xfe invalid utf-8 \xc3"])
    view.send({"type": "input", "data": "\udcff lone surrogate\r"})
    view.send({"type": "input", "data": "echo still-$((3*3))\r"})
    page.read_until(view, b"still-9\r\n")
    assert page.evaluate("t.exit_code") == "None"
    assert page.evaluate("(t.rows, t.cols)") == "(24, 80)"
    page.execute("t.close()")


def test_close_ends_processes_and_comm(kernel):
    _, kc = kernel
    page, comm = open_terminal(kc, "['bash', '--norc', '--noprofile', '-i']")
    view = page.attach(comm)
    page.read_until(view, b"$ ")
    view.send({"type": "input", "data": "(trap '' HUP; exec sleep 1000) &\r"})
    shell = int(page.evaluate("t.pid"))
    sleeper = poll("the background sleep", lambda: children_named(shell, "sleep"))
    page.execute("t.close()")
    assert not [pid for pid in [shell, *sleeper] if running(pid)]


def test_kernel_shutdown_ends_the_terminal():
    from harness.protocol_client import start_kernel

    km, kc = start_kernel()
    page = Page(kc)
    try:
        page.execute("from conpty_widget import Terminal\nt = Terminal(['sh', '-c', 'sleep 1000 & sleep 1001'])")
        pid = int(page.evaluate("t.pid"))
        tree = [pid] + [p.pid for p in psutil.Process(pid).children(recursive=True)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    poll("the terminal's processes gone", lambda: not [p for p in tree if running(p)])


def test_a_page_inventing_view_ids_gets_a_bounded_number_of_screens(kernel):
    from conpty_widget.session import MAX_VIEWS

    _, kc = kernel
    page, comm, view = scenarios.open_terminal(kc, BASH)
    for i in range(MAX_VIEWS + 20):
        view.send_raw({"type": "hello", "version": 1, "view": f"invented{i}"})
    for i in range(20):  # not attached by a message other than hello
        view.send_raw({"type": "ack", "view": f"made-up{i}", "offset": 0})
    assert page.evaluate("len(t.transports)") == str(MAX_VIEWS)
    view.send({"type": "input", "data": "echo still-$((2+3))\r"})
    page.read_until(view, b"still-5\r\n")
    page.execute("t.close()")


def test_the_pty_takes_the_smallest_size_any_view_asked_for(kernel):
    _, kc = kernel
    page, comm, wide = scenarios.open_terminal(kc, BASH)
    narrow = page.attach(comm)
    page.read_until(narrow, b"$ ")
    wide.send({"type": "resize", "rows": 40, "cols": 120})
    narrow.send({"type": "resize", "rows": 30, "cols": 90})
    wide.send({"type": "input", "data": "stty size\r"})
    page.read_until(wide, b"30 90\r\n")
    # The narrow view goes away: the wide one gets its whole box.
    narrow.send({"type": "bye"})
    wide.send({"type": "input", "data": "stty size\r"})
    page.read_until(wide, b"40 120\r\n")
    assert (page.states[comm]["rows"], page.states[comm]["cols"]) == (40, 120)
    page.execute("t.close()")


def test_a_view_gone_without_bye_stops_holding_the_size_after_a_roll_call(kernel):
    _, kc = kernel
    page, comm, crashed = scenarios.open_terminal(kc, BASH)
    page.execute("import conpty_widget.views as v; v.ROLL_CALL_TIMEOUT = 1.0")
    crashed.send({"type": "resize", "rows": 10, "cols": 40})
    alive = page.attach(comm)  # hello: every view is asked for its size again
    page.read_until(alive, b"$ ")
    alive.send({"type": "resize", "rows": 30, "cols": 100})
    alive.send({"type": "input", "data": "stty size\r"})
    page.read_until(alive, b"10 40\r\n")  # until the roll call ends, the silent view still counts
    calls = [m for m, _ in list(crashed.inbox.queue) + list(alive.inbox.queue) if m.get("type") == "roll_call"]
    assert calls, "no roll call reached the views"
    # The crashed view never answers; the live one did (its resize): after the timeout, 30 x 100.
    deadline = time.monotonic() + 10
    while (page.states[comm]["rows"], page.states[comm]["cols"]) != (30, 100):
        assert time.monotonic() < deadline, page.states[comm]
        page.pump()
    alive.send({"type": "input", "data": "stty size\r"})
    page.read_until(alive, b"30 100\r\n")
    # A view that answers keeps counting: a third view's hello, the live one answers, size stays.
    third = page.attach(comm)
    page.read_until(third, b"$ ")
    alive.send({"type": "resize", "rows": 30, "cols": 100})
    third.send({"type": "resize", "rows": 35, "cols": 110})
    time.sleep(1.5)
    alive.send({"type": "input", "data": "stty size\r"})
    page.read_until(alive, b"30 100\r\n")
    page.execute("t.close()")


def test_on_posix_views_are_not_told_of_conpty(kernel):
    _, kc = kernel
    page, _ = open_terminal(kc, "['sh']")
    assert page.evaluate("t._conpty_build") == "0"
    page.execute("t.close()")


def test_input_delivered_out_of_order_is_typed_in_order(kernel):
    """A host that reorders messages (two handler threads, one HTTP request each) garbles nothing."""
    _, kc = kernel
    page, comm, view = scenarios.open_terminal(kc, BASH)
    keys = list("echo in-order-$((6*7))\r")
    numbered = list(enumerate(keys, start=1))
    for i in range(0, len(numbered) - 1, 2):  # every pair swapped
        numbered[i], numbered[i + 1] = numbered[i + 1], numbered[i]
    for n, key in numbered:
        view.send({"type": "input", "n": n, "data": key})
    assert b"in-order-42\r\n" in page.read_until(view, b"in-order-42\r\n")
    page.execute("t.close()")
