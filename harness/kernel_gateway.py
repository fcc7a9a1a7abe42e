"""A throwaway Kernel Gateway (``jupyter kernelgateway``) on 127.0.0.1, for the gateway tests and benchmarks.

Its kernels run with a runtime directory of their own, as on another machine: a Jupyter server
in front of it (``--gateway-url``) cannot reach their Unix sockets, so views use the comm.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .jupyter_server import free_port
from .process import serving


@dataclass
class RunningGateway:
    url: str
    token: str
    log: pathlib.Path

    def server_options(self) -> list[str]:
        """The options that point a Jupyter server at this gateway."""
        return [f"--gateway-url={self.url}", f"--GatewayClient.auth_token={self.token}"]


@contextlib.contextmanager
def running_gateway(base: pathlib.Path, options: Sequence[str] = ()) -> Iterator[RunningGateway]:
    """Run a Kernel Gateway (with command-line ``options``) with its state in ``base``, in its own
    process group (ended with its kernels)."""
    dirs = {name: base / name for name in ("config", "runtime", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1", f"--KernelGatewayApp.port={port}",
        "--KernelGatewayApp.port_retries=0", f"--KernelGatewayApp.auth_token={token}",
        "--JupyterWebsocketPersonality.list_kernels=True",  # the server lists the gateway's kernels
        *options,
    ]  # fmt: skip
    log_path = base / "gateway.log"
    gateway = RunningGateway(f"http://127.0.0.1:{port}", token, log_path)
    request = urllib.request.Request(f"{gateway.url}/api", headers={"Authorization": f"token {token}"})
    with serving(argv, request, log_path, cwd=base, env=env, what="jupyter kernelgateway"):
        yield gateway
