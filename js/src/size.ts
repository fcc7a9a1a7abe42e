// The size of one view: it asks for what fits its box; the kernel gives the pty the smallest
// size any view asked for, and every view follows the kernel's rows and cols. A size set from
// Python (``_pinned``) is the other way round: the pty keeps it and the box follows it.
import type { AnyModel } from "@anywidget/types";
import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import type { Disposable, Model, ViewMessage } from "./protocol";

/** The width the fit addon leaves for xterm's scrollbar (its DEFAULT_SCROLL_BAR_WIDTH). */
const SCROLLBAR_PX = 14;

export interface Sizer extends Disposable {
  /** Ask for the size that fits the box if it changed (``always``: in any case, as at a roll call). */
  askSize(always: boolean): void;
}

export function attachSize(
  term: Terminal,
  container: HTMLElement,
  fit: FitAddon,
  model: AnyModel<Model>,
  send: (msg: ViewMessage) => void,
  running: () => boolean,
): Sizer {
  /** A pinned dimension sizes the box: exactly that many rows or columns (and the scrollbar). */
  const pinBox = () => {
    const pinned = model.get("_pinned") ?? { rows: false, cols: false };
    const cell = (term as any)._core?._renderService?.dimensions?.css?.cell;
    container.style.resize = pinned.rows ? "none" : "vertical";
    if (pinned.rows && cell?.height > 0) container.style.height = `${Math.ceil(model.get("rows") * cell.height)}px`;
    container.style.width = pinned.cols && cell?.width > 0 ? `${Math.ceil(model.get("cols") * cell.width) + SCROLLBAR_PX}px` : "";
  };
  const followModel = () => {
    const rows = model.get("rows");
    const cols = model.get("cols");
    if (rows !== term.rows || cols !== term.cols) term.resize(cols, rows);
    pinBox();
  };
  model.on("change:rows", followModel);
  model.on("change:cols", followModel);
  model.on("change:_pinned", followModel);
  pinBox();
  let frame = 0;
  let asked = "";
  const askSize = (always: boolean) => {
    pinBox(); // the cells may have changed size (zoom, font)
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
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => askSize(false));
  });
  observer.observe(container);
  return {
    askSize,
    dispose() {
      model.off("change:rows", followModel);
      model.off("change:cols", followModel);
      model.off("change:_pinned", followModel);
      observer.disconnect();
      cancelAnimationFrame(frame);
    },
  };
}
