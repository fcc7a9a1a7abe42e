// The view's link to its terminal: the direct path (a websocket relayed by the server
// companion to the kernel's socket) where it connects, the widget's comm otherwise.
import type { AnyModel } from "@anywidget/types";
import { type DirectInfo, type Disposable, type KernelMessage, type Model, type ViewMessage, PROTOCOL_VERSION, directToken, isKernelMessage } from "./protocol";

/** ``disconnected``: the kernel is gone (restarted, shut down); nothing can be sent any more. */
export type Path = "connecting" | "direct" | "comm" | "disconnected";
/** A direct connection (the token asked, the hello answered) not made by then is given up for the comm. */
const CONNECT_MS = 3000;

export type Receive = (msg: KernelMessage, data: Uint8Array) => void;

/** One message on the direct path: header length (4 bytes, big-endian), JSON header, payload. */
export function encodeMessage(msg: object, payload?: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode(JSON.stringify(msg));
  const out = new Uint8Array(4 + head.length + (payload?.length ?? 0));
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  if (payload) out.set(payload, 4 + head.length);
  return out;
}

export function decodeMessage(buffer: ArrayBuffer): [unknown, Uint8Array] {
  const size = new DataView(buffer).getUint32(0);
  const head = new TextDecoder().decode(new Uint8Array(buffer, 4, size));
  return [JSON.parse(head), new Uint8Array(buffer, 4 + size)];
}

/** The server's websocket for the direct path, from the page's Jupyter config (none: no companion to reach). */
function directUrl(name: string): string | undefined {
  let base: string | undefined;
  let token = "";
  const config = document.getElementById("jupyter-config-data");
  if (config?.textContent) {
    try {
      const data = JSON.parse(config.textContent);
      base = data.baseUrl;
      token = data.token ?? "";
    } catch {
      return undefined;
    }
  } else {
    base = document.body.dataset.baseUrl; // classic Notebook, nbclassic
  }
  if (typeof base !== "string") return undefined;
  const url = new URL(`${base.replace(/\/?$/, "/")}conpty_widget/direct/${encodeURIComponent(name)}`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

export class Link implements Disposable {
  path: Path = "comm";
  private socket: WebSocket | undefined;
  private queue: [ViewMessage, Uint8Array | undefined][] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  /** The direct path's address, while the view waits for its token (the kernel's answer on the comm). */
  private pending: { url: string; terminal: string } | undefined;

  constructor(
    private readonly model: AnyModel<Model>,
    private readonly view: string,
    private readonly receive: Receive,
    /** The path changed; the stream restarts: the next reset is the first valid message. */
    private readonly onPath: (path: Path) => void,
  ) {
    model.on("msg:custom", this.onComm);
  }

  /** Say hello on the direct path if there is one (its token asked on the comm first), else (or
   * when it fails) on the comm. */
  start(): void {
    const direct = this.model.get("_direct") as DirectInfo | Record<string, never>;
    const url = "name" in direct && typeof WebSocket !== "undefined" ? directUrl(direct.name) : undefined;
    if (!url || !("name" in direct)) {
      this.useComm();
      return;
    }
    this.setPath("connecting");
    this.pending = { url, terminal: direct.terminal };
    this.timer = setTimeout(() => this.giveUp(), CONNECT_MS);
    this.sendComm({ type: "direct", view: this.view });
  }

  private connect(url: string, terminal: string, token: string): void {
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      const hello = { type: "hello", version: PROTOCOL_VERSION, terminal, token, view: this.view };
      socket.send(encodeMessage(hello));
    };
    socket.onmessage = (event) => {
      if (this.path === "connecting") {
        clearTimeout(this.timer);
        this.setPath("direct");
        this.flush();
      }
      const [msg, data] = decodeMessage(event.data as ArrayBuffer);
      if (isKernelMessage(msg)) this.receive(msg, data);
    };
    socket.onclose = () => {
      clearTimeout(this.timer);
      if (this.socket === socket && !this.disposed) this.useComm(); // refused, absent, or gone later
    };
  }

  send(msg: ViewMessage, payload?: Uint8Array): void {
    if (this.path === "connecting") this.queue.push([msg, payload]);
    else if (this.path === "direct") this.socket?.send(encodeMessage({ ...msg, view: this.view }, payload));
    else if (this.path === "comm") this.sendComm({ ...msg, view: this.view }, payload);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.model.off("msg:custom", this.onComm);
    this.socket?.close();
  }

  private useComm(): void {
    this.socket = undefined;
    this.setPath("comm");
    this.sendComm({ type: "hello", version: PROTOCOL_VERSION, view: this.view });
    this.flush();
  }

  /** The comm throws once its kernel is gone (JupyterLab: "Cannot send"): then say so, once. */
  private sendComm(msg: object, payload?: Uint8Array): void {
    try {
      this.model.send(msg, undefined, payload ? [payload.slice().buffer] : undefined);
    } catch {
      this.queue = [];
      this.setPath("disconnected");
    }
  }

  private setPath(path: Path): void {
    this.path = path;
    this.onPath(path);
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const [msg, payload] of queued) if (msg.type !== "hello" && this.path !== "disconnected") this.send(msg, payload);
  }

  /** The token did not come, or the connection did not answer, in time: the comm. */
  private giveUp(): void {
    this.pending = undefined;
    if (this.socket) this.socket.close();
    else if (this.path === "connecting" && !this.disposed) this.useComm();
  }

  private readonly onComm = (msg: unknown, buffers: DataView[]) => {
    const token = this.pending && directToken(msg, this.view);
    if (this.pending && token !== undefined) {
      const { url, terminal } = this.pending;
      this.pending = undefined;
      this.connect(url, terminal, token);
      return;
    }
    if (this.path !== "comm" || !isKernelMessage(msg)) return; // a direct view ignores the comm's copies
    const b = buffers[0];
    this.receive(msg, b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array());
  };
}
