"""The traits of the view's features (title, zoom, clipboard, images, renderer) in a real kernel:
set from Python, from a page's state update, and the ``title`` message; bad values leave the old."""

import sys
import time

import pytest

from harness.protocol_client import Page, View

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kernel tests run on POSIX")


def open_cat(kc) -> tuple[Page, View]:
    page = Page(kc)
    page.execute("from conpty_widget import Terminal\nimport traitlets\nt = Terminal(['cat'])")
    view = page.attach(page.terminal_comm())
    page.read_until(view, b"")  # our reset
    return page, view


def send_state(view: View, state: dict) -> None:
    """What a page's ``model.save_changes()`` sends."""
    content = {"comm_id": view.comm_id, "data": {"method": "update", "state": state, "buffer_paths": []}}
    view.kc.session.send(view.kc.shell_channel.socket, "comm_msg", content)


def settled(page: Page, expr: str, want: str, timeout: float = 10) -> str:
    """``expr`` in the kernel once it reads ``want`` (messages from a view arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while (got := page.evaluate(expr)) != want and time.monotonic() < deadline:
        page.pump()
    return got


def test_the_title_comes_from_the_view_and_is_cleaned(kernel):
    _, kc = kernel
    page, view = open_cat(kc)
    assert page.evaluate("t.title") == "''"
    view.send({"type": "title", "title": "vim \x07~/notes\x9b"})
    assert settled(page, "t.title", "'vim ~/notes'") == "'vim ~/notes'"
    assert page.states[view.comm_id]["title"] == "vim ~/notes", "synced to the views"
    for bad in (None, 42, ["x"], {"t": "x"}):
        view.send({"type": "title", "title": bad})
    view.send({"type": "title", "title": "x" * 5000})
    assert settled(page, "len(t.title)", "1024") == "1024", "long titles are cut, bad ones ignored"
    view.send({"type": "title", "title": ""})
    assert settled(page, "t.title", "''") == "''"
    with pytest.raises(RuntimeError, match="TraitError"):
        page.execute("t.title = 'set from Python'")
    page.execute("t.close()")


def test_font_size_from_python_and_from_a_view_within_bounds(kernel):
    _, kc = kernel
    page, view = open_cat(kc)
    assert page.evaluate("t.font_size") == "13"
    page.execute("t.font_size = 16")
    for bad in ("5", "73", "'big'", "None"):
        with pytest.raises(RuntimeError, match="TraitError"):
            page.execute(f"t.font_size = {bad}")
    assert page.evaluate("t.font_size") == "16"
    send_state(view, {"font_size": 20})  # a view's zoom keys
    assert settled(page, "t.font_size", "20") == "20"
    send_state(view, {"font_size": 500})
    send_state(view, {"font_size": "20px"})
    page.execute("")  # both handled by now (the shell channel is ordered)
    assert page.evaluate("t.font_size") == "20", "a rejected value leaves the old one"
    page.execute("t.close()")


def test_clipboard_image_and_renderer_options_validate(kernel):
    _, kc = kernel
    page, _ = open_cat(kc)
    defaults = "(t.copy_on_select, t.right_click_paste, t.images, t.image_memory, t.renderer)"
    assert page.evaluate(defaults) == "(False, False, True, 32, 'auto')"
    page.execute("t.copy_on_select = t.right_click_paste = True; t.images = False; t.image_memory = 8; t.renderer = 'webgl'")
    for bad in ("t.copy_on_select = 'yes'", "t.right_click_paste = None", "t.images = 'no'",
                "t.image_memory = 0", "t.image_memory = 2048", "t.renderer = 'vulkan'"):  # fmt: skip
        with pytest.raises(RuntimeError, match="TraitError"):
            page.execute(bad)
    assert page.evaluate(defaults) == "(True, True, False, 8, 'webgl')"
    page.execute("t.close()")


def test_view_options_are_constructor_arguments_too():
    from conpty_widget import Terminal

    t = Terminal(["cat"], font_size=16, renderer="dom", copy_on_select=True)
    try:
        assert (t.font_size, t.renderer, t.copy_on_select) == (16, "dom", True)
    finally:
        t.close()
    with pytest.raises(TypeError, match="fontsize"):
        Terminal(["cat"], fontsize=16)
