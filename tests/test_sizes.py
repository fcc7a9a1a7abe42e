"""One rule for the terminal's size: a size set from Python (the constructor, ``resize()``, the
traits) is kept and the views' boxes follow it; without one, the pty fits the views' boxes.
Views are spoken for through the widget's own entry point (``receive``), as the comm does."""

import sys

import pytest

from conpty_widget import Terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell")

SH = ["sh"]


def view_asks(t: Terminal, view: str, rows: int, cols: int) -> None:
    transport = t._session.comm
    t.receive({"type": "hello", "view": view, "version": 1}, [], transport)
    t.receive({"type": "resize", "view": view, "rows": rows, "cols": cols}, [], transport)


def stty_size(t: Terminal) -> tuple[int, int]:
    t.write("stty size\n")
    m = t.expect(r"(\d+) (\d+)\r\n", timeout=10)  # typed ahead: it may follow a prompt
    return int(m[1]), int(m[2])


@pytest.fixture
def close_after():
    made: list[Terminal] = []
    yield made.append
    for t in made:
        t.close()


def test_without_a_size_the_pty_fits_the_views(close_after):
    t = Terminal(SH)
    close_after(t)
    assert t._pinned == {"rows": False, "cols": False}
    view_asks(t, "v1", 30, 100)
    assert (t.rows, t.cols) == (30, 100) == stty_size(t)


def test_an_explicit_size_is_kept_and_the_box_follows(close_after):
    t = Terminal(SH, cols=40)
    close_after(t)
    assert t._pinned == {"rows": False, "cols": True}
    view_asks(t, "v1", 30, 100)
    assert (t.rows, t.cols) == (30, 40) == stty_size(t)  # rows fit the box, cols are kept
    t.resize(40, 80)
    assert t._pinned == {"rows": True, "cols": True}
    view_asks(t, "v2", 20, 120)
    assert (t.rows, t.cols) == (40, 80) == stty_size(t)
    t.fit()  # the views size it again: the smallest of the two boxes
    assert (t.rows, t.cols) == (20, 100) == stty_size(t)


def test_setting_a_trait_pins_that_dimension(close_after):
    t = Terminal(SH)
    close_after(t)
    t.rows = 12
    assert t._pinned == {"rows": True, "cols": False}
    view_asks(t, "v1", 30, 90)
    assert (t.rows, t.cols) == (12, 90) == stty_size(t)


@pytest.mark.parametrize("bad", [0, -1, 10**6])
def test_a_rejected_size_leaves_the_old_one(close_after, bad):
    t = Terminal(SH, rows=10, cols=50)
    close_after(t)
    with pytest.raises(ValueError, match="rows must be an integer from 1 to 1000"):
        t.rows = bad
    with pytest.raises(ValueError, match="cols must be an integer from 1 to 2000"):
        t.resize(10, bad)
    assert (t.rows, t.cols) == (10, 50) == stty_size(t)
    t.resize(11, 51)  # later resizes still work
    assert stty_size(t) == (11, 51)


def test_a_resize_changes_the_pty_once(close_after):
    t = Terminal(SH, rows=10, cols=50)
    close_after(t)
    t.record()
    t.resize(20, 70)
    t.resize(20, 70)
    view_asks(t, "v1", 30, 100)  # pinned: nothing changes
    t.fit()
    rec = t.stop_recording()
    assert [text for _, kind, text in rec.events if kind == "r"] == ["70x20", "100x30"]
