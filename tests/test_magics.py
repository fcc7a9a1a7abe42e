"""%terminal and %%terminal in a real kernel, seen by a protocol-level page."""

import sys

import pytest

from .protocol_client import Page

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kernel tests run on POSIX")


class DisplayPage(Page):
    """A page that also keeps the kernel's display_data outputs."""

    def __init__(self, kc) -> None:
        super().__init__(kc)
        self.displayed: list[dict] = []

    def _handle(self, msg: dict) -> None:
        if msg["header"]["msg_type"] == "display_data":
            self.displayed.append(msg["content"]["data"])
        super()._handle(msg)


def test_line_magic_opens_and_shows_a_terminal(kernel):
    _, kc = kernel
    page = DisplayPage(kc)
    page.execute("%load_ext conpty_widget\n%terminal bash --norc --noprofile")
    comm = page.terminal_comm()
    (data,) = page.displayed
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == comm
    assert data["text/plain"] == "Terminal(command='bash --norc --noprofile', rows=24, cols=80, running)"
    view = page.attach(comm)
    view.send({"type": "input", "data": "echo typed-$((40+2))\r"})
    page.read_until(view, b"typed-42\r\n")
    view.send({"type": "input", "data": "exit\r"})
    page.read_until(view, b"[process exited with code 0]")


def test_cell_magic_types_the_cell_into_a_new_terminal(kernel):
    _, kc = kernel
    page = DisplayPage(kc)
    page.execute("%load_ext conpty_widget")
    page.execute("%%terminal bash --norc --noprofile\necho one-$((0+1))\necho two-$((1+1))\nexit 5")
    comm = page.terminal_comm()
    assert len(page.displayed) == 1
    view = page.attach(comm)
    out = page.read_until(view, b"[process exited with code 5]")
    assert out.index(b"one-1\r\n") < out.index(b"two-2\r\n")
