// The message protocol between the kernel and its views, documented once in conpty_widget/widget.py.

export const PROTOCOL_VERSION = 1;

/** Kernel -> view. */
export type KernelMessage =
  | { type: "output"; seq: number; offset: number }
  | { type: "reset"; view: string; seq: number; offset: number }
  | { type: "roll_call" };

/** View -> kernel, without the view id that every message carries. */
export type ViewMessage =
  | { type: "hello"; version: number; terminal?: string; token?: string }
  | { type: "direct" }
  | { type: "ack"; offset: number }
  | { type: "sync" }
  | { type: "input"; n?: number; data?: string; ack?: number }
  | { type: "resize"; rows: number; cols: number }
  | { type: "title"; title: string }
  | { type: "bye" };

/** How a view reaches its terminal without the comm (the ``_direct`` trait). Its token is not
 * in it (a notebook saves the widget state): a view asks the kernel for it on the comm. */
export interface DirectInfo {
  name: string;
  terminal: string;
}

/** The kernel's answer on the comm to a view's ``direct`` request: the direct path's token. */
export function directToken(msg: unknown, view: string): string | undefined {
  if (typeof msg !== "object" || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  return m.type === "direct" && m.view === view && typeof m.token === "string" ? m.token : undefined;
}

/** The traits a view reads. */
export interface Model {
  command: string;
  rows: number;
  cols: number;
  /** Sizes set from Python: the pty keeps them and the view's box follows them. */
  _pinned: { rows: boolean; cols: boolean };
  exit_code: number | null;
  save_screen: boolean;
  _snapshot: string;
  _direct: DirectInfo | Record<string, never>;
  _conpty_build: number;
  _answerer: string;
  title: string;
  font_size: number;
  copy_on_select: boolean;
  right_click_paste: boolean;
  images: boolean;
  image_memory: number;
  renderer: string;
}

export function isKernelMessage(msg: unknown): msg is KernelMessage {
  if (typeof msg !== "object" || msg === null) return false;
  const m = msg as Record<string, unknown>;
  if (m.type === "roll_call") return true;
  const numbers = typeof m.seq === "number" && typeof m.offset === "number";
  return (m.type === "output" && numbers) || (m.type === "reset" && numbers && typeof m.view === "string");
}

/** Something that can be disposed; every unit of the view returns one. */
export interface Disposable {
  dispose(): void;
}
