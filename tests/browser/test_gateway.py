"""JupyterLab 4 whose kernels run on a Kernel Gateway (``--gateway-url``): a Terminal renders on
the comm (the kernel's socket is on the gateway's side, so the direct path is refused), types,
takes a flood of a few MB intact, and follows a resize."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import pytest

from harness.jupyter_server import RunningServer, running_server
from harness.kernel_gateway import RunningGateway, running_gateway
from harness.wait import poll

from .conftest import CHROMIUM
from .jupyter_page import Notebook, Server, start

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}")

LINES = 500_000  # seq 1 500000: 3.9 MB through the pty

# Keeps what the view hands to xterm.js from now on (as text: the flood is ASCII) in window.gatewayWrites.
_RECORD = """(k) => {
  const term = document.querySelectorAll('.conpty-widget')[k].conptyTerminal;
  const orig = term.write.bind(term);
  const decoder = new TextDecoder();
  window.gatewayWrites = [];
  term.write = (data, cb) => {
    window.gatewayWrites.push(typeof data === 'string' ? data : decoder.decode(data, { stream: true }));
    return orig(data, cb);
  };
}"""

# What came between the start mark and the end mark, against what `seq` prints through a pty.
_CHECK = """(lines) => {
  const text = window.gatewayWrites.join('');
  const start = text.indexOf('FLOOD-2\\r\\n'), end = text.indexOf('END-42', start);
  if (start < 0 || end < 0) return null;
  const got = text.slice(start + 'FLOOD-2\\r\\n'.length, end);
  let expected = '';
  for (let i = 1; i <= lines; i++) expected += i + '\\r\\n';
  return { intact: got === expected, got: got.length, expected: expected.length };
}"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway")) as g:
        g.warm_up()
        yield g


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, gateway: RunningGateway) -> Iterator[RunningServer]:
    """JupyterLab with ``--gateway-url``."""
    command = [sys.executable, "-m", "jupyter", "lab", "--LabApp.expose_app_in_browser=True", *gateway.server_options()]
    with running_server(tmp_path_factory.mktemp("lab-gateway"), command) as server:
        yield server


@pytest.fixture(scope="module")
def jupyter_server(lab: RunningServer, gateway: RunningGateway) -> Server:
    """The ``page`` fixture's server in this module."""
    return Server(lab.url, lab.token, lab.root, (lab.log, gateway.log))


@pytest.fixture
def notebook(page, jupyter_server: Server) -> Notebook:
    return Notebook(page, jupyter_server, "lab")


def test_a_terminal_types_and_resizes_through_the_gateway(notebook: Notebook, lab: RunningServer) -> None:
    term = start(notebook, "gateway")
    path = notebook.page.evaluate("() => document.querySelector('.conpty-widget').dataset.path")
    assert path == "comm", "the direct path cannot reach a kernel on the gateway's side"
    log = lab.log.read_text()
    assert "binary frames relayed to and from the gateway" in log, "the companion is not loaded"
    assert re.search(r"404 GET /conpty_widget/direct/conpty-", log), "the view left the direct path without a refusal"
    assert lab.token not in log, "the refusal logged the page's token"
    term.run("echo gw-$((6*7))")
    term.wait_for(r"(?m)^gw-42$")
    term.follows_a_narrower_window()


def test_a_flood_arrives_intact_through_the_gateway(notebook: Notebook) -> None:
    term = start(notebook, "gateway-flood")
    notebook.page.evaluate(_RECORD, 0)
    term.run(f"echo FLOOD-$((1+1)); seq 1 {LINES}; echo END-$((40+2))")
    term.wait_for(re.compile(rf"(?m)^{LINES}\nEND-42$"), timeout=60)
    check = poll("the end mark among the writes", lambda: notebook.page.evaluate(_CHECK, LINES))
    assert check["intact"], check
