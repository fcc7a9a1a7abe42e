"""A flood through a real ``jupyter server`` with its default IOPub limits, client on the websocket.

    .venv/bin/python bench/server_limits.py [--mb 50] [--json bench/results.json]

jupyter_server drops iopub messages above 1000/s (averaged over 3 s) and says "IOPub message rate
exceeded" once. This client speaks the kernel websocket protocol (JSON text frames, binary frames
for buffers) as the page does, acknowledges every chunk, checks the chunk numbers and offsets, and
counts the bytes lost. It also reports the peak message rate seen in any 1 s window.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
import struct
import sys
import time
import uuid

from _common import MARK, Reporter, api, flood_cmd, jupyter_server, machine, parser, raw_pty_flood

RATE_MSG = "IOPub message rate exceeded"
UNCOUNTED = ("status", "comm_open", "execute_input")  # not counted by jupyter_server's rate limit


def deserialize(frame: bytes) -> dict:
    """jupyter_server's legacy binary frame: count, offsets, JSON, buffers."""
    n = struct.unpack("!i", frame[:4])[0]
    offsets = list(struct.unpack("!" + "I" * n, frame[4 : 4 * (n + 1)])) + [None]
    parts = [frame[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    msg = json.loads(parts[0])
    msg["buffers"] = parts[1:]
    return msg


class KernelSocket:
    def __init__(self, server: dict) -> None:
        from tornado.websocket import websocket_connect

        self.loop = asyncio.new_event_loop()
        self.kernel_id = api(server, "POST", "/api/kernels", {"name": "python3"})["id"]
        self.session = uuid.uuid4().hex
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{self.kernel_id}/channels?token={server.token}"

        async def connect():
            return await websocket_connect(url, max_message_size=1 << 30)

        self.ws = self.loop.run_until_complete(connect())
        self.stderr: list[str] = []
        self.comm_id: str | None = None
        self.outbox: collections.deque = collections.deque()

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        msg = {"header": {"msg_id": msg_id, "username": "bench", "session": self.session, "msg_type": msg_type,
                          "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
               "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}

        async def write():
            await self.ws.write_message(json.dumps(msg))

        self.loop.run_until_complete(write())
        return msg_id

    def custom(self, content: dict) -> None:
        self.send("comm_msg", {"comm_id": self.comm_id, "data": {"method": "custom", "content": content}})

    def recv(self, timeout: float) -> dict:
        async def read():
            return await asyncio.wait_for(self.ws.read_message(), timeout)

        frame = self.loop.run_until_complete(read())
        if frame is None:
            raise EOFError("kernel websocket closed")
        msg = deserialize(frame) if isinstance(frame, bytes) else json.loads(frame)
        if msg.get("msg_type") == "stream" and msg["content"].get("name") == "stderr":
            self.stderr.append(msg["content"]["text"])
        if msg.get("msg_type") == "comm_open":
            state = msg["content"]["data"].get("state", {})
            if state.get("_anywidget_id", "").endswith("Terminal"):
                self.comm_id = msg["content"]["comm_id"]
        return msg

    def execute(self, code: str, timeout: float = 60) -> None:
        msg_id = self.send("execute_request", {"code": code, "silent": False, "store_history": False,
                                               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg.get("msg_type") == "execute_reply" and msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] != "ok":
                    raise RuntimeError(f"kernel: {msg['content'].get('ename')}: {msg['content'].get('evalue')}")
                return

    def close(self) -> None:
        self.ws.close()
        self.loop.close()


def flood(server: dict, size: int) -> dict:
    ks = KernelSocket(server)
    try:
        ks.execute("from conpty_widget import Terminal\n"
                   "t = Terminal(['bash', '--norc', '--noprofile'], env={'PS1': '$ ', 'HISTFILE': '/dev/null'})")
        deadline = time.monotonic() + 30
        while ks.comm_id is None:  # iopub's comm_open may come after the shell's execute_reply
            if time.monotonic() > deadline:
                raise RuntimeError("no Terminal comm opened")
            ks.recv(30)
        view = uuid.uuid4().hex[:12]
        ks.custom({"type": "hello", "view": view, "version": 1})
        expected_seq = expected_off = None
        lost = gaps = got = 0
        tail = b""
        started = None
        times: collections.deque = collections.deque()
        peak_rate = 0
        deadline = time.monotonic() + 120
        while not (started and MARK in tail):
            if time.monotonic() > deadline:
                raise TimeoutError(f"flood did not end; tail {tail!r}")
            msg = ks.recv(60)
            if msg.get("channel") == "iopub" and msg.get("msg_type") not in UNCOUNTED:
                times.append(time.monotonic())  # counts toward the server's limit
                while times[0] < times[-1] - 1:
                    times.popleft()
                peak_rate = max(peak_rate, len(times))
            if msg.get("msg_type") != "comm_msg" or msg["content"].get("comm_id") != ks.comm_id:
                continue
            data = msg["content"]["data"]
            if data.get("method") != "custom":
                continue
            c, payload = data["content"], msg["buffers"][0] if msg["buffers"] else b""
            if c.get("type") == "reset" and c.get("view") == view:
                expected_seq, expected_off = c["seq"] + 1, c["offset"]
                if started is None:
                    started = time.perf_counter()
                    ks.custom({"type": "input", "view": view, "data": flood_cmd(size) + "\r"})
                continue
            if c.get("type") != "output" or expected_seq is None:
                continue
            if c["seq"] != expected_seq or c["offset"] != expected_off:
                gaps += 1
                lost += c["offset"] - expected_off
            expected_seq, expected_off = c["seq"] + 1, c["offset"] + len(payload)
            got += payload.count(b"a")
            tail = (tail + payload)[-64:]
            ks.custom({"type": "ack", "view": view, "offset": expected_off})
        elapsed = time.perf_counter() - started
        ks.execute("t.close()")
        return {"lost": lost, "gaps": gaps, "got": got, "rate": size / elapsed, "peak_msg_rate": peak_rate,
                "rate_exceeded": sum(RATE_MSG in s for s in ks.stderr)}
    finally:
        api(server, "DELETE", f"/api/kernels/{ks.kernel_id}")
        ks.close()


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--mb", type=float, default=50)
    args = p.parse_args()
    size = int(args.mb * 1e6)
    with jupyter_server() as server:
        res = flood(server, size)
        log = server.log.read_text(errors="replace")
    raw = raw_pty_flood(size)
    r = Reporter("server_limits")
    r.line("server_limits_lost_bytes", res["lost"], "bytes", f"of {size} sent", note=f"{res['gaps']} gaps; goal 0")
    exceeded = res["rate_exceeded"] + log.count(RATE_MSG)
    r.line("server_limits_rate_exceeded", exceeded, "warnings", "goal 0")
    r.line("server_limits_peak_msg_rate", res["peak_msg_rate"], "msg/s", "server limit", 1000.0)
    r.line("server_limits_throughput", res["rate"] / 1e6, "MB/s", "raw pty", raw / 1e6)
    if res["got"] + res["lost"] < size:
        print(f"# only {res['got']} of {size} bytes seen", file=sys.stderr)
        return 1
    r.save(args.json, {**machine(), "mb": args.mb, **res})
    return 0


if __name__ == "__main__":
    sys.exit(main())
