// The xterm.js view of a conpty_widget Terminal (an anywidget).
// The message protocol is documented once, in conpty_widget/widget.py.
import type { RenderProps } from "@anywidget/types";
import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SerializeAddon } from "@xterm/addon-serialize";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";

interface Model {
  command: string;
  rows: number;
  cols: number;
  exit_code: number | null;
  save_screen: boolean;
  _snapshot: string;
}

const PROTOCOL_VERSION = 1;
/** The saved screen (widget state) follows the view this long after output stops... */
const SNAPSHOT_DELAY_MS = 1000;
/** ...with at most this many lines of scrollback (as the kernel's, conpty_widget/screen.py). */
const SNAPSHOT_SCROLLBACK = 200;
/** Acknowledge parsed output at least every this many bytes... */
const ACK_BYTES = 512 * 1024;
/** ...or this long after the last parse, whichever comes first. */
const ACK_DELAY_MS = 10;
/** Largest piece of input per message, in UTF-16 code units. */
const INPUT_PIECE = 256 * 1024;
/** Height of one row in px at the default font, for the initial size of the view. */
const ROW_PX = 17;

/** A terminal the tests (and curious users) can reach from the page. */
export interface TerminalElement extends HTMLElement {
  conptyTerminal?: Terminal;
}

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

function luminance(color: string): number {
  const probe = document.createElement("canvas").getContext("2d");
  if (!probe) return 0;
  probe.fillStyle = color;
  const hex = probe.fillStyle; // normalised to #rrggbb
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Colours from JupyterLab's theme variables; ANSI colours legible on light or dark. */
function theme(el: Element): ITheme {
  const background = cssVar(el, "--jp-layout-color0", "#ffffff");
  const foreground = cssVar(el, "--jp-ui-font-color0", "#1e1e1e");
  const light = luminance(background) > 0.5;
  const ansi: ITheme = light
    ? {
        black: "#000000", red: "#b3261e", green: "#1a7f37", yellow: "#7a5c00",
        blue: "#0550ae", magenta: "#8250df", cyan: "#0b7285", white: "#6e7781",
        brightBlack: "#57606a", brightRed: "#cf222e", brightGreen: "#116329", brightYellow: "#8a6d00",
        brightBlue: "#0969da", brightMagenta: "#a475f9", brightCyan: "#1b7c83", brightWhite: "#8c959f",
      }
    : {
        // xterm's default (Tango) blue and magenta fall under 3:1 contrast on JupyterLab's dark grey.
        black: "#000000", red: "#cd3131", green: "#0dbc79", yellow: "#e5e510",
        blue: "#2472c8", magenta: "#bc3fbc", cyan: "#11a8cd", white: "#e5e5e5",
        brightBlack: "#666666", brightRed: "#f14c4c", brightGreen: "#23d18b", brightYellow: "#f5f543",
        brightBlue: "#3b8eea", brightMagenta: "#d670d6", brightCyan: "#29b8db", brightWhite: "#ffffff",
      };
  return {
    ...ansi,
    background,
    foreground,
    cursor: cssVar(el, "--jp-ui-font-color0", foreground),
    cursorAccent: background,
    selectionBackground: light ? "rgba(9, 105, 218, 0.25)" : "rgba(255, 255, 255, 0.3)",
  };
}

function render({ model, el }: RenderProps<Model>): () => void {
  const view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const container = document.createElement("div") as TerminalElement;
  container.className = "conpty-widget";
  // Keys typed here belong to the terminal, not to JupyterLab's shortcuts (Lumino stops
  // looking for a shortcut at this attribute).
  container.setAttribute("data-lm-suppress-shortcuts", "true");
  container.style.height = `${model.get("rows") * ROW_PX}px`;
  el.appendChild(container);

  const term = new Terminal({
    rows: model.get("rows"),
    cols: model.get("cols"),
    allowProposedApi: true,
    fontFamily: cssVar(el, "--jp-code-font-family", "monospace"),
    fontSize: 13,
    scrollback: 5000,
    theme: theme(el),
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.loadAddon(new WebLinksAddon());
  term.loadAddon(new Unicode11Addon());
  const serializer = new SerializeAddon();
  term.loadAddon(serializer);
  term.unicode.activeVersion = "11";
  term.open(container);
  // xterm has measured its font now: make the box exactly `rows` rows high, so that the first
  // fit keeps the size the kernel asked for (the fit addon reads this same private field).
  const cellHeight = (term as any)._core?._renderService?.dimensions?.css?.cell?.height;
  if (cellHeight > 0) container.style.height = `${Math.ceil(model.get("rows") * cellHeight)}px`;
  container.conptyTerminal = term;
  // The last screen saved with the notebook: shown until the kernel's reset (if any) repaints.
  const saved = model.get("_snapshot");
  if (saved) term.write(saved);

  const send = (msg: Record<string, unknown>, buffers?: ArrayBuffer[]) =>
    model.send({ ...msg, view }, undefined, buffers);

  // -- output, in sequence, acknowledged once parsed --------------------------------------
  let syncing = true; // until our reset arrives, chunks are stale
  let nextSeq = 0;
  let parsed = 0; // stream offset xterm has parsed
  let acked = 0;
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  const ack = () => {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    if (parsed > acked) {
      acked = parsed;
      send({ type: "ack", offset: parsed });
    }
  };
  // Keep the saved screen in this page's model current (set, never sent to the kernel): it is
  // what the notebook stores as widget state, to show when no kernel runs.
  let snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  const saveScreen = () => {
    snapshotTimer = undefined;
    if (model.get("save_screen")) model.set("_snapshot", serializer.serialize({ scrollback: SNAPSHOT_SCROLLBACK }));
  };
  const onParsed = (offset: number) => {
    clearTimeout(snapshotTimer);
    snapshotTimer = setTimeout(saveScreen, SNAPSHOT_DELAY_MS);
    parsed = Math.max(parsed, offset);
    if (parsed - acked >= ACK_BYTES) ack();
    else if (ackTimer === undefined) ackTimer = setTimeout(ack, ACK_DELAY_MS);
  };
  const onMessage = (msg: any, buffers: DataView[]) => {
    const data = buffers[0] ? new Uint8Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].byteLength) : new Uint8Array();
    if (msg?.type === "reset" && msg.view === view) {
      term.reset();
      syncing = false;
      nextSeq = msg.seq + 1;
      parsed = acked = msg.offset;
      term.write(data);
    } else if (msg?.type === "roll_call") {
      // A view appeared: say what fits this one now (even in a background tab, where no
      // animation frame comes), or stop counting until the box can be measured again.
      askSize(true);
    } else if (msg?.type === "output" && !syncing) {
      if (msg.seq !== nextSeq) {
        // A chunk was lost or repeated: ask for the screen again rather than show garbage.
        syncing = true;
        send({ type: "sync" });
        return;
      }
      nextSeq += 1;
      const end = msg.offset + data.byteLength;
      term.write(data, () => onParsed(end));
    }
  };
  model.on("msg:custom", onMessage);

  // -- input --------------------------------------------------------------------------------
  const running = () => model.get("exit_code") === null;
  term.onData((data) => {
    if (!running()) return;
    // A big paste goes in pieces: a websocket message over 10 MiB would end the connection.
    for (let i = 0; i < data.length; i += INPUT_PIECE) {
      let end = Math.min(i + INPUT_PIECE, data.length);
      if (end < data.length && /[\ud800-\udbff]/.test(data[end - 1])) end -= 1; // keep surrogate pairs whole
      send({ type: "input", data: data.slice(i, end) });
      i = end - INPUT_PIECE;
    }
  });
  term.onBinary((data) => {
    if (!running()) return;
    const bytes = Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff);
    send({ type: "input" }, [bytes.buffer]);
  });
  const copyThroughTextarea = (text: string) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.cssText = "position: fixed; top: 0; opacity: 0;";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    term.focus();
  };
  // The async Clipboard API is missing on plain http (not localhost), and may be refused.
  const copy = (text: string) => {
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => copyThroughTextarea(text));
    else copyThroughTextarea(text);
  };
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== "keydown") return true;
    const key = e.key.toLowerCase();
    // Ctrl+C copies when text is selected (and interrupts otherwise); Ctrl+Shift+C copies.
    if ((e.ctrlKey || e.metaKey) && key === "c" && (e.shiftKey || term.hasSelection())) {
      if (term.hasSelection()) {
        copy(term.getSelection());
        // As in Windows Terminal: the next Ctrl+C interrupts again.
        if (!e.shiftKey) term.clearSelection();
      }
      e.preventDefault();
      return false;
    }
    // Ctrl+V, Ctrl+Shift+V, Shift+Insert: let the browser's paste event reach xterm's
    // textarea, so the text goes through xterm's paste (bracketed paste kept).
    if (((e.ctrlKey || e.metaKey) && key === "v") || (e.shiftKey && e.key === "Insert")) return false;
    return true;
  });
  // Keys stop here: the notebook's own handlers (Esc, Shift+Enter, A/B/DD...) never see them.
  const stopKeys = (e: KeyboardEvent) => e.stopPropagation();
  container.addEventListener("keydown", stopKeys);
  container.addEventListener("keypress", stopKeys);

  // -- size ---------------------------------------------------------------------------------
  // Each view asks for the size that fits its box; the kernel gives the pty the smallest any
  // view asked for, and every view follows the kernel's rows and cols.
  const followModel = () => {
    const rows = model.get("rows");
    const cols = model.get("cols");
    if (rows !== term.rows || cols !== term.cols) term.resize(cols, rows);
  };
  model.on("change:rows", followModel);
  model.on("change:cols", followModel);
  let fitFrame = 0;
  let asked = "";
  /** Ask for the size that fits the box if it changed (``always``: in any case). */
  const askSize = (always: boolean) => {
    const measurable = container.isConnected && container.clientWidth > 0 && running();
    const fits = measurable ? fit.proposeDimensions() : undefined;
    if (!fits || !(fits.rows > 0 && fits.cols > 0)) {
      if (always) asked = ""; // not counted now: the next fit asks even at the same size
      return;
    }
    const size = `${fits.rows}x${fits.cols}`;
    if (always || size !== asked) {
      asked = size;
      send({ type: "resize", rows: fits.rows, cols: fits.cols });
    }
  };
  const refit = () => {
    cancelAnimationFrame(fitFrame);
    fitFrame = requestAnimationFrame(() => askSize(false));
  };
  const observer = new ResizeObserver(refit);
  observer.observe(container);

  // -- exit and theme -----------------------------------------------------------------------
  const onExit = () => {
    term.options.disableStdin = !running();
    term.options.cursorBlink = false;
  };
  model.on("change:exit_code", onExit);
  onExit();
  const themeObserver = new MutationObserver(() => {
    term.options.theme = theme(el);
  });
  themeObserver.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });

  const bye = () => send({ type: "bye" });
  window.addEventListener("pagehide", bye);
  send({ type: "hello", version: PROTOCOL_VERSION });

  return () => {
    bye();
    window.removeEventListener("pagehide", bye);
    model.off("msg:custom", onMessage);
    model.off("change:rows", followModel);
    model.off("change:cols", followModel);
    model.off("change:exit_code", onExit);
    observer.disconnect();
    themeObserver.disconnect();
    clearTimeout(ackTimer);
    clearTimeout(snapshotTimer);
    cancelAnimationFrame(fitFrame);
    term.dispose();
    container.remove();
  };
}

export default { render };
