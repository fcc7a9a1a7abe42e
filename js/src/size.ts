// The size of one view: it asks for what fits its box; the kernel gives the pty the smallest
// size any view asked for, and every view follows the kernel's rows and cols.
import type { AnyModel } from "@anywidget/types";
import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import type { Disposable, Model, ViewMessage } from "./protocol";

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
  const followModel = () => {
    const rows = model.get("rows");
    const cols = model.get("cols");
    if (rows !== term.rows || cols !== term.cols) term.resize(cols, rows);
  };
  model.on("change:rows", followModel);
  model.on("change:cols", followModel);
  let frame = 0;
  let asked = "";
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
      observer.disconnect();
      cancelAnimationFrame(frame);
    },
  };
}
