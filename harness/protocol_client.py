"""A front end at the protocol level: a real kernel (jupyter_client) and a fake page.

Used by the kernel tests and by bench/. It speaks the protocol documented in
conpty_widget/widget.py exactly as js/src/widget.ts does, minus xterm.js.
"""

from __future__ import annotations

import os
import queue
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from jupyter_client.manager import KernelManager

from conpty_widget.session import CHUNK_MAX

# The ipc kernels' sockets: a short private folder (a socket's path has at most 107 bytes),
# removed when the process exits.
_IPC_FOLDER = tempfile.TemporaryDirectory(prefix="cw-kernels-")


def start_kernel(
    kernel_name: str = "python3", startup_timeout: float = 60, transport: str = "tcp", cwd: str | None = None
) -> tuple[KernelManager, object]:
    """A real ipykernel (by default this interpreter's), and a blocking client for it.

    Over ``"tcp"``, as from a Jupyter server, jupyter_client picks free ports and closes them for
    the kernel to bind: a kernel started meanwhile (its client's connections take ports of the
    same range) can take one, and the new kernel dies at start ("Address already in use").
    Kernels started in parallel use ``"ipc"`` (Unix sockets in a private folder) instead:
    race-free, though with less buffering than TCP between a busy kernel and a slow reader.
    """
    ip = os.path.join(_IPC_FOLDER.name, uuid.uuid4().hex[:8]) if transport == "ipc" else "127.0.0.1"
    km = KernelManager(kernel_name=kernel_name, transport=transport, ip=ip)
    km.start_kernel(extra_arguments=[], **({"cwd": cwd} if cwd else {}))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=startup_timeout)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


@dataclass
class View:
    """One fake view of a Terminal living in the kernel behind ``kc``."""

    kc: object
    comm_id: str
    view: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    expected: int | None = None  # next chunk seq, once our reset arrived
    inbox: "queue.Queue[tuple[dict, list[bytes]]]" = field(default_factory=queue.Queue)

    def send(self, msg: dict, buffers: list[bytes] | None = None, **extra) -> None:
        content = {"comm_id": self.comm_id, "data": {"method": "custom", "content": {"view": self.view, **msg, **extra}}}
        self.kc.session.send(self.kc.shell_channel.socket, "comm_msg", content, buffers=buffers or [])

    def send_raw(self, custom_content, buffers: list[bytes] | None = None) -> None:
        """Send any content, well-formed or not."""
        content = {"comm_id": self.comm_id, "data": {"method": "custom", "content": custom_content}}
        self.kc.session.send(self.kc.shell_channel.socket, "comm_msg", content, buffers=buffers or [])


class Page:
    """Reads the kernel's iopub stream and dispatches comm messages to views by comm id."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.comm_opens: dict[str, dict] = {}
        self.views: list[View] = []
        self.states: dict[str, dict] = {}
        self.stderr: list[str] = []
        self._awaiting: str | None = None  # the execute request in flight
        self._idle = False  # its idle status has arrived

    def execute(self, code: str, timeout: float = 60, user_expressions: dict | None = None) -> dict:
        """Run ``code`` in the kernel, dispatching all iopub traffic meanwhile; raise if it fails."""
        msg_id = self.kc.execute(code, user_expressions=user_expressions or {})
        deadline = time.monotonic() + timeout
        reply = None
        self._awaiting, self._idle = msg_id, False
        # Done once both the reply (shell) and the request's idle status (iopub, its last
        # message there) have arrived: the two channels are not ordered with each other.
        while reply is None or not self._idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel did not finish {code!r}")
            try:
                msg = self.kc.get_shell_msg(timeout=0)
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply = msg
            except queue.Empty:
                self.pump()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel error: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        return reply

    def evaluate(self, expr: str, timeout: float = 60) -> str:
        """The repr of ``expr`` evaluated in the kernel."""
        value = self.execute("", timeout, user_expressions={"v": expr})["content"]["user_expressions"]["v"]
        if value["status"] != "ok":
            raise RuntimeError(f"{expr}: {value.get('ename')}: {value.get('evalue')}")
        return value["data"]["text/plain"]

    def pump(self, timeout: float = 0.05) -> bool:
        """Handle one iopub message if any arrives within ``timeout``."""
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        self._handle(msg)
        return True

    def _handle(self, msg: dict) -> None:
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "status" and content.get("execution_state") == "idle":
            self._idle = self._idle or msg["parent_header"].get("msg_id") == self._awaiting
        elif kind == "comm_open":
            self.comm_opens[content["comm_id"]] = content
            self.states[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg":
            data = content["data"]
            if data.get("method") == "update":
                self.states.setdefault(content["comm_id"], {}).update(data.get("state", {}))
            elif data.get("method") == "custom":
                buffers = [bytes(b) for b in msg.get("buffers", [])]
                for v in self.views:
                    if v.comm_id == content["comm_id"]:
                        v.inbox.put((data["content"], buffers))
        elif kind == "stream" and content.get("name") == "stderr":
            self.stderr.append(content["text"])

    def terminal_comm(self, timeout: float = 30) -> str:
        """The comm id of the newest Terminal widget the kernel opened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for comm_id, content in reversed(list(self.comm_opens.items())):
                if content["data"].get("state", {}).get("_anywidget_id", "").endswith("Terminal"):
                    return comm_id
            self.pump()
        raise TimeoutError("no Terminal comm opened")

    def attach(self, comm_id: str) -> View:
        view = View(self.kc, comm_id)
        self.views.append(view)
        view.send({"type": "hello", "version": 1})
        return view

    def next_message(self, view: View, timeout: float = 10) -> tuple[dict, list[bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return view.inbox.get_nowait()
            except queue.Empty:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no message for the view")
            self.pump()

    def read_until(self, view: View, needle: bytes, timeout: float = 20, ack: bool = True) -> bytes:
        """Collect the view's output (checking sequence numbers) until ``needle`` shows."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while view.expected is None or needle not in out[-(CHUNK_MAX + len(needle)) :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{needle!r} not seen; tail: {bytes(out[-300:])!r}")
            msg, buffers = self.next_message(view, remaining)
            if msg.get("type") == "reset" and msg.get("view") == view.view:
                view.expected = msg["seq"] + 1
                out += buffers[0]
            elif msg.get("type") == "output":
                if view.expected is None:
                    continue  # before our reset: stale
                assert msg["seq"] == view.expected, f"gap: got chunk {msg['seq']}, expected {view.expected}"
                view.expected += 1
                out += buffers[0]
                if ack:
                    view.send({"type": "ack", "offset": msg["offset"] + len(buffers[0])})
        return bytes(out)

