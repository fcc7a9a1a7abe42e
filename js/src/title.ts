// What a program says about itself, shown on the view: its title (OSC 0/2), the bell, and its
// progress (OSC 9;4, the Windows Terminal convention: xterm's progress addon).
import type { AnyModel } from "@anywidget/types";
import { type IProgressState, ProgressAddon } from "@xterm/addon-progress";
import type { Terminal } from "@xterm/xterm";
import type { Disposable, Model, ViewMessage } from "./protocol";

/** Longest title sent to the kernel, in characters (the kernel cuts there too). */
export const TITLE_MAX = 1024;
/** How long the visual bell shows. */
export const BELL_MS = 200;

/** A title as the kernel keeps it: no control characters, at most ``TITLE_MAX`` characters. */
export function cleanTitle(title: string): string {
  return Array.from(title.replace(/[\u0000-\u001f\u007f-\u009f]/g, "")).slice(0, TITLE_MAX).join("");
}

/** How the progress bar shows a state: hidden, a share of the width, or moving (indeterminate). */
export interface ProgressLook {
  hidden: boolean;
  kind: "normal" | "error" | "indeterminate" | "paused";
  /** Percent of the width, 0-100. */
  width: number;
}

export function progressLook(p: IProgressState): ProgressLook {
  const width = Math.max(0, Math.min(100, Number.isFinite(p.value) ? p.value : 0));
  switch (p.state) {
    case 1:
      return { hidden: false, kind: "normal", width };
    case 2:
      return { hidden: false, kind: "error", width: width || 100 };
    case 3:
      return { hidden: false, kind: "indeterminate", width: 100 };
    case 4:
      return { hidden: false, kind: "paused", width: width || 100 };
    default:
      return { hidden: true, kind: "normal", width: 0 };
  }
}

/** The title: a caption above ``container`` shows the ``title`` trait, which the one view that
 * answers for all (``answers()``) reports to the kernel when a program sets it. */
export function attachTitle(
  term: Terminal,
  caption: HTMLElement,
  model: AnyModel<Model>,
  send: (msg: ViewMessage) => void,
  answers: () => boolean,
  help: string,
): Disposable {
  const show = () => {
    const title = model.get("title") ?? "";
    caption.textContent = title;
    caption.hidden = !title;
    caption.title = title ? `${title}\n\n${help}` : help;
  };
  const changed = term.onTitleChange((raw) => {
    const title = cleanTitle(raw);
    if (answers() && title !== model.get("title")) send({ type: "title", title });
  });
  model.on("change:title", show);
  show();
  return {
    dispose() {
      changed.dispose();
      model.off("change:title", show);
    },
  };
}

/** The visual bell: the view flashes (class ``conpty-bell`` for ``BELL_MS``). */
export function attachBell(term: Terminal, container: HTMLElement): Disposable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bell = term.onBell(() => {
    clearTimeout(timer);
    container.classList.remove("conpty-bell");
    void container.offsetWidth; // restart the animation of a bell during a bell
    container.classList.add("conpty-bell");
    timer = setTimeout(() => container.classList.remove("conpty-bell"), BELL_MS);
  });
  return {
    dispose() {
      clearTimeout(timer);
      bell.dispose();
    },
  };
}

/** A thin bar along the top of ``container`` shows the program's progress. */
export function attachProgress(term: Terminal, container: HTMLElement): Disposable {
  const addon = new ProgressAddon();
  term.loadAddon(addon);
  const bar = document.createElement("div");
  bar.className = "conpty-progress";
  bar.setAttribute("role", "progressbar");
  container.appendChild(bar);
  const show = (p: IProgressState) => {
    const look = progressLook(p);
    bar.hidden = look.hidden;
    bar.dataset.kind = look.kind;
    bar.style.width = `${look.width}%`;
    if (look.kind === "indeterminate" || look.hidden) bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(look.width));
  };
  show(addon.progress);
  const changed = addon.onChange(show);
  return {
    dispose() {
      changed.dispose();
      addon.dispose();
      bar.remove();
    },
  };
}
