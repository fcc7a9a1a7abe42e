// Leaving a focused terminal with the keyboard: Shift+Esc gives the focus back to the page around
// the view (in JupyterLab and Notebook 7: the notebook's cell, in command mode). Every other key
// stays the terminal's. Shift+Esc sends the same byte as Esc in a terminal, so no program loses a
// key it could tell apart; Esc itself, which vi and readline need, still reaches the pty.
import type { Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

/** The chord, as the view's tooltip and the README name it. */
export const LEAVE_CHORD = "Shift+Esc";

/** Whether a key event is the chord (Shift and Esc, nothing else held). */
export function isLeaveChord(e: Pick<KeyboardEvent, "key" | "shiftKey" | "ctrlKey" | "altKey" | "metaKey">): boolean {
  return e.key === "Escape" && e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey;
}

/** The closest ancestor of ``el`` that can take the focus (a notebook cell does), if any. */
function focusTarget(el: HTMLElement): HTMLElement | null {
  for (let node = el.parentElement; node; node = node.parentElement) {
    if (node.hasAttribute("tabindex") || node.tabIndex >= 0) return node;
  }
  return null;
}

/** On the chord in ``container`` (seen before xterm.js sees it, so nothing reaches the pty): blur
 * the terminal and focus its closest focusable ancestor. */
export function attachLeave(term: Terminal, container: HTMLElement): Disposable {
  const onKey = (e: KeyboardEvent) => {
    if (!isLeaveChord(e)) return;
    e.preventDefault();
    e.stopPropagation();
    term.blur();
    focusTarget(container)?.focus();
  };
  container.addEventListener("keydown", onKey, true);
  term.textarea?.setAttribute("aria-keyshortcuts", "Shift+Escape");
  return { dispose: () => container.removeEventListener("keydown", onKey, true) };
}
