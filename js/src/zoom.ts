// Zoom: the font size of the views follows the ``font_size`` trait; Ctrl+= / Ctrl+- / Ctrl+0 in a
// view change it (for every view of the terminal), and the pty refits to what then fits the box.
import type { AnyModel } from "@anywidget/types";
import type { Terminal } from "@xterm/xterm";
import type { Disposable, Model } from "./protocol";
import type { Chord } from "./search";

/** Bounds and default of ``font_size``, as in conpty_widget/widget.py. */
export const FONT_MIN = 6;
export const FONT_MAX = 72;
export const FONT_DEFAULT = 13;
export const ZOOM_CHORDS = "Ctrl+= / Ctrl+- (zoom in, out), Ctrl+0 (reset)";

/** The zoom a key asks for: +1, -1, 0 (back to the default), or none. Ctrl+= (or Ctrl++), Ctrl+-,
 * Ctrl+0, Cmd on macOS: xterm.js sends nothing for these (Ctrl+Shift+- is ^_, left alone). */
export function zoomStep(e: Chord & { code?: string }): 1 | -1 | 0 | undefined {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return undefined;
  if (e.key === "=" || e.key === "+") return 1;
  if (e.shiftKey) return undefined;
  if (e.key === "-") return -1;
  if (e.key === "0") return 0;
  return undefined;
}

/** The font size after a step: a point at a time, within the bounds; 0 is the default. */
export function zoomed(size: number, step: 1 | -1 | 0): number {
  if (step === 0) return FONT_DEFAULT;
  return Math.max(FONT_MIN, Math.min(FONT_MAX, Math.round(size) + step));
}

export interface Zoom extends Disposable {
  /** The key handler's hook: a zoom chord zooms, and is then not the terminal's. */
  handleKey(e: KeyboardEvent): boolean;
}

/** Follow ``font_size``; after a change, ``refit()`` asks the kernel for the size that now fits. */
export function attachZoom(term: Terminal, model: AnyModel<Model>, refit: () => void): Zoom {
  let frame = 0;
  const follow = () => {
    const size = model.get("font_size");
    if (!(size >= FONT_MIN && size <= FONT_MAX) || size === term.options.fontSize) return;
    term.options.fontSize = size;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(refit); // once xterm has measured the new cells
  };
  model.on("change:font_size", follow);
  follow();
  return {
    handleKey(e) {
      const step = zoomStep(e);
      if (step === undefined) return false;
      const size = zoomed(term.options.fontSize ?? FONT_DEFAULT, step);
      if (size !== model.get("font_size")) {
        model.set("font_size", size); // follow() runs on the change
        model.save_changes();
      }
      return true;
    },
    dispose() {
      cancelAnimationFrame(frame);
      model.off("change:font_size", follow);
    },
  };
}
