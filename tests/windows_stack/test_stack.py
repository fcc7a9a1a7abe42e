"""The Windows lab stack in a real page: a Windows Jupyter server and Windows kernels (under
Wine here, on Windows in the hosted-runner workflow), ``Terminal("cmd.exe")`` in JupyterLab 4 and
Notebook 7, driven by Chromium.

cmd.exe commands print what their echo cannot match: ``echo x-%COMSPEC:~-7%`` shows
``x-%COMSPEC:~-7%`` as typed and ``x-cmd.exe`` as run.
"""

from __future__ import annotations

import re
import urllib.error

import pytest

from harness.jupyter_server import api
from harness.wait import poll
from tests.browser.jupyter_page import Notebook, Server, TermView
from tests.windows.wine_kernel import KERNEL_START

from .conftest import WINE

CELL = "from conpty_widget import Terminal\nt = Terminal('cmd.exe')\nt"
PROMPT = r">$"


def start(notebook: Notebook, name: str, *cells: str) -> TermView:
    """A notebook whose first cell shows ``Terminal("cmd.exe")`` as ``t``, run, its view focused."""
    notebook.idle_timeout = KERNEL_START
    path = notebook.server.notebook(f"{name}-{notebook.app}", CELL, *cells)
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for(PROMPT, timeout=120)
    term.click()
    return term


def cell_output(notebook: Notebook, index: int, pattern: str, timeout: float = 120) -> re.Match[str]:
    """Run cell ``index`` and wait for its output to match ``pattern``."""
    notebook.run_cell(index)
    output = notebook.page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea")
    return poll(f"{pattern!r} in the output of cell {index}", lambda: re.search(pattern, output.inner_text()), timeout)


def test_the_companion_is_loaded_by_the_install_alone(jupyter_server: Server) -> None:
    from importlib.metadata import version

    status = api(jupyter_server, "GET", "/conpty_widget/status")
    assert status["version"] == version("conpty_widget")  # the wheel's, as built from this tree
    with pytest.raises(urllib.error.HTTPError) as refused:
        api(jupyter_server, "GET", "/conpty_widget/status", token=False)
    assert refused.value.code == 403


def path_of(term: TermView) -> str:
    return term.page.evaluate("(k) => document.querySelectorAll('.conpty-widget')[k].dataset.path", term.k)


# The kernel's pipe's DACL as Windows reports it (GetSecurityInfo), and the kernel's user.
DACL = """from conpty_widget import _namedpipe, direct
print(direct.listener().endpoint.dacl())
print(_namedpipe.current_user())"""


def test_cmd_renders_on_the_direct_path_takes_keys_and_exits(notebook: Notebook) -> None:
    """A Windows kernel; the companion (on Windows Python) relays the view to the kernel's named
    pipe, whose DACL grants the kernel's user alone (Wine reports it as set, and does not enforce it)."""
    paths = "import sys\nprint(sys.platform, sorted(set(t.transports.values())), len(t.transports))"
    term = start(notebook, "stack-render", paths, DACL)
    poll("the direct path", lambda: path_of(term) == "direct", timeout=60)
    cell_output(notebook, 1, r"win32 \['direct'\] 1")
    # protected (nothing inherited), one entry: full access for the kernel's user
    dacl = cell_output(notebook, 2, r"D:P\w*\(A;;(GA|FA);;;(S-[\d-]+)\)\n(S-[\d-]+)")
    assert dacl[2] == dacl[3], dacl[0]
    term.click()
    term.run("echo hi-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^hi-cmd\.exe$")
    term.type("echo bx")
    notebook.page.keyboard.press("Backspace")  # xterm.js sends DEL
    term.run("s-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^bs-cmd\.exe$")
    term.run("exit 3")
    assert "[process exited with code 3]" in notebook.last_screen()


def kernel_says(notebook: Notebook, index: int, pattern: str, timeout: float = 60) -> re.Match[str]:
    """Run cell ``index`` again until its output matches ``pattern`` (a state the kernel reaches)."""
    output = notebook.page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea")

    def probe() -> re.Match[str] | None:
        if notebook.kernel() == "connected idle":
            if found := re.search(pattern, output.inner_text()):
                return found
            notebook.run_cell(index)
        return None

    return poll(f"{pattern!r} in the output of cell {index}", probe, timeout, interval=0.5)


def test_the_size_follows_the_window(page, jupyter_server: Server) -> None:
    notebook = Notebook(page, jupyter_server, "lab")
    term = start(notebook, "stack-resize", "print(f'size={t.rows}x{t.cols}')")
    wide = term.js("return term.cols")
    notebook.page.set_viewport_size({"width": 720, "height": 900})
    narrow = poll("the view to get narrower", lambda: (c := term.js("return term.cols")) < wide and c)
    rows = term.js("return term.rows")
    kernel_says(notebook, 1, rf"size={rows}x{narrow}\b")  # the terminal's size is the view's
    if not WINE:  # Wine's ResizePseudoConsole is E_NOTIMPL: its console keeps the first size
        term.click()
        term.run("mode con")
        term.wait_for(rf"Columns:\s+{narrow}\b")


# In the terminal's own Windows Python: a line, then a minute's sleep, or what Ctrl-C made of it.
SLEEPER = "import time; print('sleep' + 'ing', flush=True); time.sleep(60); print('not interrupted')"


def test_ctrl_c_from_the_page(page, jupyter_server: Server) -> None:
    notebook = Notebook(page, jupyter_server, "lab")
    term = start(notebook, "stack-ctrl-c", "import sys\nprint(sys.executable)")
    python = cell_output(notebook, 1, r"\S+python\.exe")[0]
    term.click()
    term.run(f'"{python}" -c "{SLEEPER}"')
    term.wait_for(r"(?m)^sleeping$", timeout=60)
    notebook.page.keyboard.press("Control+C")
    if WINE:
        # Wine's console ends the whole session on Ctrl-C instead of raising it in the child
        # (tests/windows: runs on real Windows): that it ended says ^C reached the console.
        assert "[process exited" in notebook.last_screen()
        return
    term.wait_for(r"KeyboardInterrupt[\s\S]*>$", timeout=20)  # not after 60 s
    term.run("echo after-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^after-cmd\.exe$")


# The terminal's output as the kernel read it from the pseudoconsole (the session's observer).
OBSERVE = """import hashlib, sys, time
seen = bytearray()
_, stop_observing = t._session.observe(lambda kind, data, now: seen.extend(data) if kind == 'o' else None)
print(sys.executable)"""
LINES = 5000
# A line a write: Wine's console loses the end of one big write (seen: 11 KB of 21 KB arrived).
FLOOD = (
    "print('FLOOD-' + 'BEGIN'); [print(f'{i:06d} h\\u00e9llo \\u2500 ' + 'x' * 60) for i in range("
    f"{LINES})]; print('FLOOD-' + 'END')"
)
DIGEST = """deadline = time.monotonic() + 300
while b'FLOOD-END' not in seen and time.monotonic() < deadline:
    time.sleep(0.1)
stop_observing()
data = bytes(seen)
begin = data.index(b'FLOOD-BEGIN')
flood = data[begin:data.index(b'FLOOD-END', begin)]
print('kernel', hashlib.sha256(flood).hexdigest(), len(flood))"""
# In the page: every byte the view hands to xterm.js, then the same slice's digest.
PAGE_COLLECT = """(k) => {
  const term = document.querySelectorAll('.conpty-widget')[k].conptyTerminal;
  const chunks = [];
  const write = term.write;
  window.flood = { chunks, done: false };
  term.write = function (data, cb) {
    chunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data));
    return write.call(term, data, cb);
  };
}"""
PAGE_DIGEST = """async () => {
  const size = window.flood.chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of window.flood.chunks) { all.set(c, at); at += c.length; }
  const text = new TextDecoder('latin1').decode(all);  // a byte a character: indexes are byte offsets
  const begin = text.indexOf('FLOOD-BEGIN'), end = text.indexOf('FLOOD-END', begin);
  if (begin < 0 || end < 0) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all.subarray(begin, end)));
  return `page ${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')} ${end - begin}`;
}"""


@pytest.mark.timeout(600)
def test_a_flood_arrives_byte_exact(page, jupyter_server: Server) -> None:
    """Every byte the kernel read from the pseudoconsole reaches xterm.js, in order (JupyterLab)."""
    notebook = Notebook(page, jupyter_server, "lab")
    term = start(notebook, "stack-flood", OBSERVE, DIGEST)
    python = cell_output(notebook, 1, r"\S+python\.exe")[0]
    page.evaluate(PAGE_COLLECT, term.k)
    term.click()
    term.run(f'"{python}" -c "{FLOOD}"')
    term.wait_for(r"(?m)^FLOOD-END$", timeout=300)
    kernel = cell_output(notebook, 2, r"kernel (\w+) (\d+)", timeout=300)
    shown = poll("the page's digest", lambda: page.evaluate(PAGE_DIGEST), timeout=60)
    assert shown == f"page {kernel[1]} {kernel[2]}", (shown, kernel[0])
    assert int(kernel[2]) > 24 * 80 * 10  # many screenfuls (ConPTY may skip lines a frame scrolls past)
    assert f"{LINES - 1:06d} h\u00e9llo \u2500 " in term.text()


# The kernel's log of refused direct connections, kept for the test to read.
CATCH_REFUSALS = """import logging
refused = []
catcher = logging.Handler(logging.WARNING)
catcher.emit = lambda record: refused.append(record.getMessage())
logging.getLogger('conpty_widget.direct').addHandler(catcher)
print(t._direct['name'], t._direct['terminal'])"""
# In the page: a direct connection to the kernel's endpoint through the companion, whose hello
# carries a wrong token; resolves with the close code once the server ends it.
WRONG_TOKEN = """([name, terminal, token]) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/conpty_widget/direct/${name}?token=${token}`);
  ws.binaryType = 'arraybuffer';
  let frames = 0;
  ws.onopen = () => {
    const hello = {type: 'hello', version: 1, view: 'intruder', terminal, token: 'wrong'};
    const head = new TextEncoder().encode(JSON.stringify(hello));
    const msg = new Uint8Array(4 + head.length);
    new DataView(msg.buffer).setUint32(0, head.length);
    msg.set(head, 4);
    ws.send(msg);
  };
  ws.onmessage = () => { frames += 1; };
  ws.onclose = (e) => resolve({code: e.code, frames});
  setTimeout(() => resolve({code: 'still open', frames}), 30000);
})"""


def test_a_wrong_token_is_refused_and_logged(page, jupyter_server: Server) -> None:
    notebook = Notebook(page, jupyter_server, "lab")
    term = start(notebook, "stack-token", CATCH_REFUSALS, "print(refused)")
    poll("the direct path", lambda: path_of(term) == "direct", timeout=60)
    name, terminal = cell_output(notebook, 1, r"(\S+) (\S+)").groups()
    closed = page.evaluate(WRONG_TOKEN, [name, terminal, jupyter_server.token])
    assert closed["frames"] == 0 and closed["code"] != "still open", closed
    cell_output(notebook, 2, r"refused a direct connection: unknown terminal or wrong token")
    term.click()  # the view itself goes on, on its path
    term.run("echo still-%COMSPEC:~-7%")
    term.wait_for(r"(?m)^still-cmd\.exe$")
    assert path_of(term) == "direct"
