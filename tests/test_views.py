"""The views (conpty_widget/views.py): the table, the roll call, the input order; and a session dropping and
re-attaching a silent view."""

from __future__ import annotations

import queue
import time

import pytest

from conpty_widget import session as session_module
from conpty_widget import views as views_module
from conpty_widget.session import Session
from conpty_widget.views import MAX_VIEWS, InputOrder, ViewTable
from harness.wait import poll


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, name: str = "comm") -> None:
        self.name, self.sent = name, []

    def send(self, msg: dict, payload: bytes) -> None:
        self.sent.append((msg, payload))


def test_sizes_the_smallest_of_all_views_and_the_roll_call() -> None:
    clock, comm = Clock(), Recorder()
    table = ViewTable(lambda data: None, clock)
    assert table.fitting_size() is None
    assert table.add("a", comm) and table.add("b", comm)
    assert not table.set_size("stranger", 1, 1)
    table.set_size("a", 30, 100)
    table.set_size("b", 40, 80)
    assert table.fitting_size() == (30, 80)
    assert table.start_roll_call()
    clock.now += 1
    assert table.heard("b")
    assert table.end_roll_call() == ["a"]  # silent: its size stops counting
    assert table.fitting_size() == (40, 80)
    table.set_size("a", 20, 120)  # it speaks again
    assert table.fitting_size() == (20, 80)


def test_bye_is_for_good_a_dropped_view_may_come_back_and_the_table_is_bounded() -> None:
    comm, direct = Recorder(), Recorder("direct")
    table = ViewTable(lambda data: None, Clock())
    table.add("a", comm)
    table.add("b", direct)
    table.add("c", direct)
    assert [t.name for t in table.transports()] == ["comm", "direct"]
    assert table.paths() == {"a": "comm", "b": "direct", "c": "direct"}
    assert sorted(table.remove_transport(direct)) == ["b", "c"]
    assert table.dropped("b") and not table.heard("b")
    table.remove("a")
    assert not table.dropped("a")
    assert table.drop_all() == []
    for i in range(MAX_VIEWS):
        assert table.add(f"v{i}", comm)
    assert not table.add("one-too-many", comm)
    assert table.add("v0", direct), "a view already attached may change its transport"


def test_a_roll_call_asks_every_transport_once_and_views_that_stay_silent_stop_counting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(views_module, "ROLL_CALL_TIMEOUT", 0.2)
    comm, direct = Recorder(), Recorder("direct")
    table = ViewTable(lambda data: None)
    table.add("a", comm)
    table.add("b", comm)
    table.add("c", direct)
    silent: queue.Queue = queue.Queue()
    table.roll_call.call(on_silent=lambda: silent.put(table.fitting_size()))
    assert comm.sent == direct.sent == []  # no view has a size yet: nothing to ask
    table.set_size("a", 30, 100)
    table.set_size("b", 40, 80)
    table.set_size("c", 20, 60)
    table.roll_call.call(on_silent=lambda: silent.put("the older roll call"))
    table.roll_call.call(on_silent=lambda: silent.put(table.fitting_size()))  # a newer one replaces it
    assert comm.sent == direct.sent == [({"type": "roll_call"}, b"")] * 2
    table.heard("a")  # a and b answer (a resize, an ack); c, a crashed page, does not
    table.heard("b")
    assert silent.get(timeout=10) == (30, 80)
    time.sleep(0.5)  # (the replaced roll call's timer would have fired by now)
    assert silent.empty()
    table.roll_call.call(on_silent=lambda: silent.put("cancelled"))
    table.roll_call.cancel()  # the session closed
    time.sleep(0.5)
    assert silent.empty()


def test_a_view_dropped_for_silence_gets_a_fresh_screen_when_it_speaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long busy cell holds a view's acks back: dropped after VIEW_TIMEOUT, then back when they come."""
    monkeypatch.setattr(session_module, "VIEW_TIMEOUT", 3.0)
    out: queue.Queue = queue.Queue()
    s = Session(["sh", "-c", "while :; do echo flood-line; done"], comm=lambda msg, payload: out.put((msg, payload)))
    try:
        s.attach("v")  # never acknowledges: the window fills, the reader waits, then drops it
        poll("the silent view dropped", lambda: len(s.views) == 0)
        assert s.views.dropped("v")
        while not out.empty():
            out.get()
        s.ack("v", 0)  # the cell ended: its messages arrive
        assert s.views.paths() == {"v": "comm"}
        msg, payload = out.get(timeout=10)
        assert msg["type"] == "reset" and msg["view"] == "v" and b"flood-line" in payload
        s.detach("v")
        s.ack("v", 0)  # after bye: nothing is attached
        assert len(s.views) == 0
    finally:
        s.close()


def test_input_is_written_in_the_order_the_view_numbered_it() -> None:
    written: list[bytes] = []
    order = InputOrder(written.append)
    order.put("v", 2, b"b")
    order.put("v", 3, b"c")
    order.put("w", 1, b"other view")  # each view has its own numbers
    order.put("v", None, b"unnumbered")
    assert written == [b"other view", b"unnumbered"]
    order.put("v", 1, b"a")
    assert written[2:] == [b"a", b"b", b"c"]


def test_input_after_a_lost_message_waits_only_so_long() -> None:
    written: list[bytes] = []
    order = InputOrder(written.append)
    order.put("v", 1, b"a")
    order.put("v", 3, b"c")  # 2 was lost by the host
    order.put("v", 4, b"d")
    assert written == [b"a"]
    deadline = time.monotonic() + 5
    while len(written) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written == [b"a", b"c", b"d"]
    order.put("v", 2, b"late")  # never lost either
    order.put("v", 5, b"e")
    assert written[3:] == [b"late", b"e"]
