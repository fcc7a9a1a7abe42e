"""A class's setup: JupyterHub from PyPI (configurable-http-proxy from npm, the dummy authenticator,
the simple local spawner) serving JupyterLab. A student logs in, a terminal takes the direct path
through the hub's proxy, takes typing and a flood, and stopping the student's server from the hub
leaves no process behind.

``./dev test`` installs JupyterHub (pip) and the proxy (``npm ci`` in tests/hub).
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.jupyter_server import free_port
from harness.process import running, serving
from harness.wait import poll

from .conftest import CHROMIUM, watched_page
from .jupyter_page import Notebook, Server, TermView, start

PROXY = pathlib.Path(__file__).resolve().parents[1] / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(not PROXY.exists(), reason="needs `npm ci` in tests/hub (./dev test runs it)"),
]
jupyterhub = pytest.importorskip("jupyterhub", reason="needs jupyterhub (./dev test installs it)")

SCOPES = ["admin:users", "admin:servers", "admin:server_state", "tokens"]
USER, PASSWORD = "student", "any"  # the dummy authenticator takes any password


@dataclass
class Hub:
    url: str
    token: str  # a service's token, with the rights of an admin over users and servers
    homes: pathlib.Path

    def api(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/hub/api{path}", data=data, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def server_pid(self, user: str) -> int | None:
        """The pid of the user's single-user server (the spawner's state), None when stopped."""
        model = self.api("GET", f"/users/{user}")
        server = model["servers"].get("")  # type: ignore[index]
        return server["state"].get("pid") if server and server.get("ready") else None


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    base = tmp_path_factory.mktemp("hub")
    homes, settings = base / "home", base / "settings"
    homes.mkdir()
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # the "Jupyter news" pop-up would cover outputs
    port, token = free_port(), secrets.token_hex(16)
    singleuser = [sys.executable, "-m", "jupyterhub.singleuser", "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        singleuser.append("--allow-root")
    config = {
        "JupyterHub": {
            "bind_url": f"http://127.0.0.1:{port}",
            "hub_port": free_port(),
            "authenticator_class": "dummy",
            "spawner_class": "simple",
            "db_url": f"sqlite:///{base / 'hub.sqlite'}",
            "cookie_secret_file": str(base / "cookie_secret"),
            "services": [{"name": "ci", "api_token": token}],
            "load_roles": [{"name": "ci-admin", "services": ["ci"], "scopes": SCOPES}],
        },
        "ConfigurableHTTPProxy": {"command": [str(PROXY)], "api_url": f"http://127.0.0.1:{free_port()}"},
        "Authenticator": {"allow_all": True},
        "SimpleLocalProcessSpawner": {"home_dir_template": str(homes / "{username}")},
        "Spawner": {
            "cmd": singleuser,
            "default_url": "/lab",
            "http_timeout": 120,
            "environment": {
                "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
                "IPYTHONDIR": str(base / "ipython"),
            },
        },
    }
    (base / "jupyterhub_config.json").write_text(json.dumps(config))
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(base / "jupyterhub_config.json")]
    with serving(argv, f"http://127.0.0.1:{port}/hub/health", base / "hub.log", cwd=base, env=os.environ, what="jupyterhub"):
        yield Hub(f"http://127.0.0.1:{port}", token, homes)


@pytest.fixture
def hub_page(request: pytest.FixtureRequest, browser, hub: Hub) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=hub.url)
    with watched_page(request, context) as page:
        yield page


def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo.extend(children.get(p, []))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended)."""
    return {pid for pid in pids if running(pid)}


def test_a_class_on_jupyterhub(hub: Hub, hub_page) -> None:
    page = hub_page
    # The student logs in (the dummy authenticator); the hub spawns JupyterLab.
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    poll("the student's server", lambda: hub.server_pid(USER), timeout=120)
    page.wait_for_url(f"**/user/{USER}/lab**", timeout=120_000)
    token = hub.api("POST", f"/users/{USER}/tokens", {"note": "ci", "expires_in": 3600})["token"]  # type: ignore[index]
    server = Server(f"{hub.url}/user/{USER}", token, hub.homes / USER)
    notebook = Notebook(page, server, "lab")

    term = start(notebook, "hub", "print(t.pid, __import__('os').getpid(), sorted(set(t.transports.values())))")
    # The direct path, through the hub's proxy (a websocket under /user/<name>/).
    poll("the direct path", lambda: path_of(term) == "direct")
    term.run("echo hub-$((6*7))")
    term.wait_for(r"(?m)^hub-42$")
    term.run("seq 1 200000")  # a flood
    term.wait_for(r"(?m)^200000\n\$", timeout=120)
    term.run("sleep 1000 &")  # a job of the terminal's, which the hub's stop must not leave behind
    term.run("echo typed-$((7*8))")
    term.wait_for(r"(?m)^typed-56$")
    notebook.run_cell(1)
    printed = poll("the pids", lambda: output_of_cell(notebook, 1).strip())
    shell, kernel, paths = printed.split(" ", 2)
    assert paths == "['direct']"
    single = hub.server_pid(USER)
    assert single is not None
    before = descendants(single)
    assert {int(shell), int(kernel)} <= before and len(before) >= 4  # server, kernel, bash, sleep

    hub.api("DELETE", f"/users/{USER}/server")  # stopped from the hub
    poll("the student's server to stop", lambda: hub.server_pid(USER) is None, timeout=60)
    try:
        poll("every process of the server to end", lambda: not alive(before), timeout=30)
    except AssertionError:
        left = {pid: pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in alive(before)}
        pytest.fail(f"left behind by the hub's stop: {left}")


def path_of(term: TermView) -> str:
    return term.page.evaluate("(k) => document.querySelectorAll('.conpty-widget')[k].dataset.path", term.k)


def output_of_cell(notebook: Notebook, index: int) -> str:
    return notebook.page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()
