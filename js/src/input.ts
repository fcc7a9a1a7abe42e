// Keys, paste and the clipboard of one view.
import type { Terminal } from "@xterm/xterm";
import type { Disposable, ViewMessage } from "./protocol";

/** Largest piece of input per message, in UTF-16 code units: a websocket message over 10 MiB ends the connection. */
export const INPUT_PIECE = 256 * 1024;

/** ``data`` cut into pieces of at most ``INPUT_PIECE`` code units, surrogate pairs kept whole. */
export function inputPieces(data: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < data.length; ) {
    let end = Math.min(i + INPUT_PIECE, data.length);
    if (end < data.length && /[\ud800-\udbff]/.test(data[end - 1])) end -= 1;
    pieces.push(data.slice(i, end));
    i = end;
  }
  return pieces;
}

function copyThroughTextarea(term: Terminal, text: string): void {
  const area = document.createElement("textarea");
  area.value = text;
  area.style.cssText = "position: fixed; top: 0; opacity: 0;";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  term.focus();
}

/** The async Clipboard API is missing on plain http (not localhost), and may be refused. */
export function copy(term: Terminal, text: string): void {
  if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => copyThroughTextarea(term, text));
  else copyThroughTextarea(term, text);
}

/** Whether each next ``onData`` comes from the user (keys, paste) or is xterm.js answering a query
 * in the output. xterm's public API does not say; its core service fires ``onUserInput`` just before
 * ``onData`` for user input (xterm.js 5 and 6). Without it every piece of data counts as the user's. */
function userInputProbe(term: Terminal): { wasUser(): boolean } & Disposable {
  const core = (term as any)._core?.coreService;
  if (typeof core?.onUserInput !== "function") return { wasUser: () => true, dispose() {} };
  let user = false;
  const sub = core.onUserInput(() => {
    user = true;
  });
  return {
    wasUser() {
      const was = user;
      user = false;
      return was;
    },
    dispose: () => sub.dispose(),
  };
}

/** Send what is typed or pasted (while ``running()``), with the copy and paste keys of a terminal;
 * xterm's answers to terminal queries only if ``answers()`` (one view answers for all). A key down
 * for which ``chord`` returns true is the view's (find bar, zoom), not the terminal's. */
export function attachInput(
  term: Terminal,
  container: HTMLElement,
  send: (msg: ViewMessage, payload?: Uint8Array) => void,
  running: () => boolean,
  answers: () => boolean,
  chord: (e: KeyboardEvent) => boolean = () => false,
): Disposable {
  const probe = userInputProbe(term);
  const onData = term.onData((data) => {
    if (!probe.wasUser() && !answers()) return;
    if (running()) for (const piece of inputPieces(data)) send({ type: "input", data: piece });
  });
  const onBinary = term.onBinary((data) => {
    if (running()) send({ type: "input" }, Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
  });
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== "keydown") return true;
    if (chord(e)) {
      e.preventDefault();
      return false;
    }
    const key = e.key.toLowerCase();
    // Ctrl+C copies when text is selected (and interrupts otherwise); Ctrl+Shift+C copies.
    if ((e.ctrlKey || e.metaKey) && key === "c" && (e.shiftKey || term.hasSelection())) {
      if (term.hasSelection()) {
        copy(term, term.getSelection());
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
  return {
    dispose() {
      probe.dispose();
      onData.dispose();
      onBinary.dispose();
      container.removeEventListener("keydown", stopKeys);
      container.removeEventListener("keypress", stopKeys);
    },
  };
}
