"""A throwaway Jupyter server on 127.0.0.1, for the browser tests and the benchmarks.

Isolated: every config, runtime and settings folder in a
temp dir, the news pop-up off, ``--allow-root`` when root, its own process group (ended with its
kernels at the end), ready once ``/api/status`` answers, and a dead server reported as such.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import pathlib
import secrets
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .process import serving

T = TypeVar("T")


@dataclass
class RunningServer:
    url: str
    token: str
    port: int
    root: pathlib.Path
    log: pathlib.Path
    proc: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(
    base: pathlib.Path,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    disabled_extensions: Sequence[str] = (),
    settings: Mapping[str, dict] | None = None,
    timeout: float = 60,
    server_path: Callable[[pathlib.Path], str] = str,
) -> Iterator[RunningServer]:
    """Run ``command`` (e.g. ``[python, "-m", "jupyter", "lab", ...]``) with its state in ``base``;
    ``settings``: JupyterLab settings by plugin file, e.g. ``{"@jupyterlab/apputils-extension/kernels": {...}}``;
    ``server_path``: a path as the server names it (a Windows server under Wine: ``Z:\\...``)."""
    root = base / "root"
    dirs = {name: base / name for name in ("config", "runtime", "settings", "workspaces", "ipython")}
    for d in (root, *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    # The "Jupyter news" pop-up would cover outputs.
    news = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text('{"fetchNews": "false"}')
    for plugin, values in (settings or {}).items():
        path = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    if disabled_extensions:
        (dirs["config"] / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {name: False for name in disabled_extensions}}})
        )
    full_env = {
        **os.environ,
        **(env or {}),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        *command, "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={server_path(root)}",
    ]  # fmt: skip
    if getattr(os, "geteuid", lambda: 1)() == 0:
        argv.append("--allow-root")  # else Jupyter refuses to start
    log_path = base / "server.log"
    url = f"http://127.0.0.1:{port}"
    ready = f"{url}/api/status?token={token}"
    with serving(argv, ready, log_path, cwd=root, env=full_env, what="jupyter server", timeout=timeout) as proc:
        yield RunningServer(url, token, port, root, log_path, proc)


def api(server: Any, method: str, path: str, body: dict | None = None, token: bool = True) -> Any:
    """A REST call to ``server`` (anything with ``url`` and ``token``: a Jupyter server, a gateway);
    its JSON answer (None when empty). The one REST helper of the tests and the benchmarks."""
    headers = {"Authorization": f"token {server.token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(f"{server.url}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end in a thread of its own (the caller's thread may have a loop running)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
