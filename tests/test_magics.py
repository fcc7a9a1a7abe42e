"""%terminal and %%terminal in a real kernel, seen by a protocol-level page."""

import sys

import pytest

from harness.protocol_client import Page

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kernel tests run on POSIX")


class DisplayPage(Page):
    """A page that also keeps the kernel's display_data outputs."""

    def __init__(self, kc) -> None:
        super().__init__(kc)
        self.displayed: list[dict] = []
        self.printed = ""

    def _handle(self, msg: dict) -> None:
        if msg["header"]["msg_type"] == "display_data":
            self.displayed.append(msg["content"]["data"])
        elif msg["header"]["msg_type"] == "stream":
            self.printed += msg["content"]["text"]
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


def test_options_before_the_command(kernel, tmp_path):
    _, kc = kernel
    page = DisplayPage(kc)
    page.execute(f"%load_ext conpty_widget\n%terminal --rows 10 --cols=50 --cwd '{tmp_path}' bash --norc --noprofile")
    comm = page.terminal_comm()
    (data,) = page.displayed
    assert data["text/plain"] == "Terminal(command='bash --norc --noprofile', rows=10, cols=50, running)"
    view = page.attach(comm)
    view.send({"type": "input", "data": "echo $PWD:$(tput lines)x$(tput cols)\r"})
    page.read_until(view, f"{tmp_path}:10x50\r\n".encode())
    view.send({"type": "input", "data": "exit\r"})
    page.read_until(view, b"[process exited with code 0]")
    # What follows the command's first word is the command's own, options or not (here bash's
    # positional parameters: -s reads commands from the terminal).
    page.execute("%%terminal --rows 12 bash --norc --noprofile -s -- --rows 5\necho params:$1$2\nexit 0")
    comm = page.terminal_comm()
    shown = "Terminal(command='bash --norc --noprofile -s -- --rows 5', rows=12, cols=80, running)"
    assert page.displayed[-1]["text/plain"] == shown
    view = page.attach(comm)
    out = page.read_until(view, b"[process exited with code 0]")
    assert b"params:--rows5\r\n" in out


def test_help_and_bad_options_start_nothing(kernel):
    _, kc = kernel
    page = DisplayPage(kc)
    page.execute("%load_ext conpty_widget")
    page.printed = ""  # (it says it was loaded already)
    page.execute("%terminal --help")
    assert page.printed.startswith("usage: %terminal [-h] [--rows N] [--cols N] [--cwd DIR] [COMMAND ...]\n")
    assert "--cwd DIR" in page.printed and page.displayed == []
    for line, error in [
        ("--rows x", "argument --rows: needs a whole number, not 'x'"),
        ("--cols 0 bash", "argument --cols: must be 1 or more, not 0"),
        ("--bogus", "unrecognized arguments: --bogus"),
        ("--cwd /nonexistent/dir bash", "--cwd '/nonexistent/dir' is not a directory"),
    ]:
        with pytest.raises(RuntimeError, match="UsageError") as info:
            page.execute(f"%terminal {line}")
        assert error in str(info.value)
    assert page.displayed == []
