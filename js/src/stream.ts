// The output stream of one view: chunks in sequence, resets, and acknowledgements. No DOM.
import type { Disposable, KernelMessage, ViewMessage } from "./protocol";

/** Acknowledge at once when this much output is parsed and not yet acknowledged... */
export const ACK_BYTES = 256 * 1024;
/** ...soon when at least this much is (the window must reopen for a steady stream)... */
export const ACK_SOON_BYTES = 4 * 1024;
export const ACK_SOON_MS = 10;
/** ...and a little echo only with the next keys, or after this long: typing then costs one
 * message per key each way, not two (each message through the kernel also costs a busy/idle pair). */
export const ACK_LAZY_MS = 1000;

export interface StreamSink {
  /** Write bytes to the terminal; call ``parsed`` once it has parsed them. */
  write(data: Uint8Array, parsed: () => void): void;
  /** Clear the screen before a reset's bytes. */
  clear(): void;
  send(msg: ViewMessage): void;
  /** Output up to a new offset was parsed (e.g. to refresh the saved screen). */
  onParsed?(): void;
}

export class OutputStream implements Disposable {
  private syncing = true; // until our reset arrives, chunks are stale
  private nextSeq = 0;
  private parsed = 0; // stream offset the terminal has parsed
  private acked = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = Infinity;

  constructor(
    private readonly view: string,
    private readonly sink: StreamSink,
  ) {}

  /** A kernel message on the current transport (roll calls are not the stream's). */
  handle(msg: KernelMessage, data: Uint8Array): void {
    if (msg.type === "reset") {
      if (msg.view !== this.view) return;
      this.sink.clear();
      this.syncing = false;
      this.nextSeq = msg.seq + 1;
      this.parsed = this.acked = msg.offset;
      this.sink.write(data, () => this.sink.onParsed?.());
    } else if (msg.type === "output" && !this.syncing) {
      if (msg.seq !== this.nextSeq) {
        // A chunk was lost or repeated: ask for the screen again rather than show garbage.
        this.resync();
        return;
      }
      this.nextSeq += 1;
      const end = msg.offset + data.byteLength;
      this.sink.write(data, () => this.onParsed(end));
    }
  }

  /** Ask for a fresh screen; chunks are ignored until it comes. */
  resync(): void {
    this.syncing = true;
    this.sink.send({ type: "sync" });
  }

  /** Forget the stream (a new transport): chunks are stale until the next reset. */
  restart(): void {
    this.syncing = true;
    this.cancel();
  }

  /** The offset to acknowledge with the next input message, if any; counts as sent. */
  takeAck(): number | undefined {
    if (this.syncing || this.parsed <= this.acked) return undefined;
    this.cancel();
    this.acked = this.parsed;
    return this.acked;
  }

  dispose(): void {
    this.cancel();
  }

  private onParsed(offset: number): void {
    this.parsed = Math.max(this.parsed, offset);
    this.sink.onParsed?.();
    const behind = this.parsed - this.acked;
    if (behind >= ACK_BYTES) this.ack();
    else this.schedule(behind >= ACK_SOON_BYTES ? ACK_SOON_MS : ACK_LAZY_MS);
  }

  private schedule(ms: number): void {
    const due = Date.now() + ms;
    if (this.timer !== undefined && this.timerDue <= due) return;
    this.cancel();
    this.timerDue = due;
    this.timer = setTimeout(() => this.ack(), ms);
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private ack(): void {
    const offset = this.takeAck();
    if (offset !== undefined) this.sink.send({ type: "ack", offset });
  }
}
