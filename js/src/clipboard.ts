// The clipboard of one view beyond the copy and paste keys (input.ts): OSC 52 writes from programs
// (tmux, vim, ssh), never reads; and the options copy-on-select and right-click paste.
import { Base64, ClipboardAddon, type ClipboardSelectionType } from "@xterm/addon-clipboard";
import type { Terminal } from "@xterm/xterm";
import { copy } from "./input";
import type { Disposable } from "./protocol";

/** What an OSC 52 sequence (``Pc ; Pd``) asks: to set the clipboard, to read it, or nothing valid. */
export type Osc52 = { kind: "write"; selection: string } | { kind: "read" } | { kind: "invalid" };

/** The OSC 52 policy: a read (``Pd`` is ``?``) is refused whatever it names; a write may name
 * any of xterm's selections (``c``, ``p``, ``q``, ``s``, ``0``-``7``, or none, which means ``s 0``):
 * a browser has one clipboard, and every one of them lands there. */
export function osc52(data: string): Osc52 {
  const semicolon = data.indexOf(";");
  if (semicolon < 0) return { kind: "invalid" };
  const selection = data.slice(0, semicolon);
  if (!/^[cpqs0-7]*$/.test(selection)) return { kind: "invalid" };
  return data.slice(semicolon + 1) === "?" ? { kind: "read" } : { kind: "write", selection };
}

/** The options of the clipboard, as the view's traits say now. */
export interface ClipboardOptions {
  copyOnSelect(): boolean;
  rightClickPaste(): boolean;
}

/** ``refresh()``: the right-click option changed. */
export function attachClipboard(term: Terminal, container: HTMLElement, options: ClipboardOptions): Disposable & { refresh(): void } {
  // Writes go to the page's clipboard; an empty or undecodable one would only wipe it.
  const addon = new ClipboardAddon(new Base64(), {
    readText: () => "",
    // Not through input.ts's fallback: without the Clipboard API it would take the focus.
    writeText: (_selection: ClipboardSelectionType, text: string) => {
      if (text) navigator.clipboard?.writeText(text).catch(() => undefined);
    },
  });
  term.loadAddon(addon);
  // Registered after the addon, so it sees each sequence first: a read request stops here,
  // unanswered (as in xterm with its default disallowedWindowOps); anything else goes on to the addon.
  const guard = term.parser.registerOscHandler(52, (data) => osc52(data).kind !== "write");

  let frame = 0;
  const selection = term.onSelectionChange(() => {
    if (!options.copyOnSelect()) return;
    cancelAnimationFrame(frame); // a drag changes it at every move: copy once per frame
    frame = requestAnimationFrame(() => {
      if (term.hasSelection()) copy(term, term.getSelection());
    });
  });
  const onContextMenu = (e: MouseEvent) => {
    if (!options.rightClickPaste()) return;
    e.preventDefault();
    e.stopPropagation();
    navigator.clipboard
      ?.readText()
      .then((text) => text && term.paste(text))
      .catch(() => undefined); // refused: nothing to paste
  };
  container.addEventListener("contextmenu", onContextMenu);
  const suppressMenu = () => {
    // JupyterLab opens its own context menu unless told not to here.
    if (options.rightClickPaste()) container.setAttribute("data-jp-suppress-context-menu", "");
    else container.removeAttribute("data-jp-suppress-context-menu");
  };
  suppressMenu();
  return {
    refresh: suppressMenu,
    dispose() {
      cancelAnimationFrame(frame);
      selection.dispose();
      guard.dispose();
      addon.dispose();
      container.removeEventListener("contextmenu", onContextMenu);
    },
  };
}
