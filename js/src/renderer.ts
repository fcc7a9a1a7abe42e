// The renderer of one view: xterm's WebGL renderer where it pays, the DOM renderer otherwise.
// A page gets about 16 WebGL contexts (the browser then drops the oldest), and a notebook may
// hold many terminals and plots: a budget shared by every view of the page keeps WebGL for the
// focused and visible views, the others draw with the DOM renderer.
import { WebglAddon } from "@xterm/addon-webgl";
import type { Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

/** WebGL contexts the terminals of one page may hold at once. */
export const WEBGL_BUDGET = 8;

/** The ``renderer`` trait: ``auto`` (WebGL on a hardware GPU), ``webgl`` (also in software), ``dom``. */
export type RendererOption = "auto" | "webgl" | "dom";

/** What the page's WebGL offers: none, a software rasteriser (SwiftShader, llvmpipe), or a GPU. */
export type WebglSupport = "none" | "software" | "hardware";

/** Whether a WebGL renderer string names a software rasteriser. */
export function isSoftwareRenderer(name: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render driver/i.test(name);
}

/** Whether a view with ``option`` should use WebGL where the page offers ``support``. On a software
 * rasteriser WebGL draws on the CPU, which a flood needs for parsing: ``auto`` keeps the DOM there. */
export function wantsWebgl(option: unknown, support: WebglSupport): boolean {
  if (support === "none") return false;
  if (option === "webgl") return true;
  if (option === "dom") return false;
  return support === "hardware";
}

interface Entry {
  wants: boolean;
  visible: boolean;
  focused: boolean;
  granted: boolean;
  /** When the view last became visible or focused (a counter): the most recent goes first. */
  since: number;
  onChange: (granted: boolean) => void;
}

/** Which views hold a WebGL context: at most ``limit``, among views that want one and are visible;
 * focused views first, then views that already hold one (no flicker when another scrolls into
 * view), then the most recently shown. No DOM: the views tell it what they see. */
export class WebglBudget {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;

  constructor(readonly limit: number) {}

  /** A view joins; ``onChange`` is called whenever its grant changes. */
  add(id: string, onChange: (granted: boolean) => void): void {
    this.entries.set(id, { wants: false, visible: false, focused: false, granted: false, since: 0, onChange });
  }

  /** What a view wants or sees changed. */
  update(id: string, state: Partial<Pick<Entry, "wants" | "visible" | "focused">>): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    if ((state.visible && !entry.visible) || (state.focused && !entry.focused)) entry.since = ++this.clock;
    Object.assign(entry, state);
    this.allocate();
  }

  remove(id: string): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    if (entry?.granted) this.allocate();
  }

  granted(id: string): boolean {
    return this.entries.get(id)?.granted ?? false;
  }

  private allocate(): void {
    const rank = (e: Entry) => (e.focused ? 2 : 0) + (e.granted ? 1 : 0);
    const order = [...this.entries.values()]
      .filter((e) => e.wants && e.visible)
      .sort((a, b) => rank(b) - rank(a) || b.since - a.since);
    const winners = new Set(order.slice(0, this.limit));
    const changed: Entry[] = [];
    for (const entry of this.entries.values()) {
      const granted = winners.has(entry);
      if (granted !== entry.granted) {
        entry.granted = granted;
        changed.push(entry);
      }
    }
    // Revocations first, so that a context is given back before another is taken.
    changed.sort((a, b) => Number(a.granted) - Number(b.granted));
    for (const entry of changed) entry.onChange(entry.granted);
  }
}

/** One budget per page, shared by every copy of this module (anywidget may load one per model). */
function pageBudget(): WebglBudget {
  const key = Symbol.for("conpty_widget.webglBudget");
  const g = globalThis as unknown as Record<symbol, WebglBudget | undefined>;
  return (g[key] ??= new WebglBudget(WEBGL_BUDGET));
}

let support: WebglSupport | undefined;

/** Probe the page's WebGL2 once: a context made and given back at once. */
function webglSupport(): WebglSupport {
  if (support !== undefined) return support;
  support = "none";
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (gl) {
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? "");
      support = isSoftwareRenderer(name) ? "software" : "hardware";
      gl.getExtension("WEBGL_lose_context")?.loseContext();
    }
  } catch {
    support = "none";
  }
  return support;
}

/** Give a WebGL context back to the browser now rather than at garbage collection. */
function loseContexts(canvases: HTMLCanvasElement[]): void {
  for (const canvas of canvases) (canvas.getContext("webgl2") as WebGL2RenderingContext | null)?.getExtension("WEBGL_lose_context")?.loseContext();
}

/** Draw ``term`` with WebGL while the page's budget grants it (and ``option()`` asks for it), with
 * the DOM renderer otherwise; a lost context falls back to the DOM at once. ``container.dataset.renderer``
 * says which draws now. Call ``refresh()`` when the option changes. */
export function attachRenderer(term: Terminal, container: HTMLElement, id: string, option: () => unknown): Disposable & { refresh(): void } {
  const budget = pageBudget();
  let addon: WebglAddon | undefined;
  let canvases: HTMLCanvasElement[] = [];
  let failed = false; // no WebGL2 after all, or its context was lost: the DOM from now on (as VS Code)
  const show = () => {
    container.dataset.renderer = addon ? "webgl" : "dom";
  };
  const drop = () => {
    const a = addon;
    const lost = canvases;
    addon = undefined;
    canvases = [];
    a?.dispose(); // xterm puts its DOM renderer back
    loseContexts(lost);
    show();
  };
  const take = () => {
    if (addon || !term.element) return;
    const before = new Set(term.element.querySelectorAll("canvas"));
    const webgl = new WebglAddon();
    try {
      term.loadAddon(webgl);
    } catch {
      webgl.dispose();
      failed = true;
      queueMicrotask(refresh); // not from inside the budget's allocation
      return;
    }
    addon = webgl;
    canvases = [...term.element.querySelectorAll("canvas")].filter((c) => !before.has(c));
    show();
  };
  budget.add(id, (granted) => (granted ? take() : drop()));
  const refresh = () => budget.update(id, { wants: !failed && wantsWebgl(option(), webglSupport()) });
  // The addon would wait 3 s for the context to come back, blank meanwhile: draw with the DOM now.
  const onLost = (e: Event) => {
    if (!addon || !canvases.includes(e.target as HTMLCanvasElement)) return;
    failed = true;
    canvases = []; // already lost
    drop();
    refresh(); // the slot goes to another view
  };
  container.addEventListener("webglcontextlost", onLost, true);
  const visibility = new IntersectionObserver((seen) => {
    const last = seen[seen.length - 1];
    if (last) budget.update(id, { visible: last.isIntersecting });
  });
  visibility.observe(container);
  const textarea = term.textarea;
  const onFocus = () => budget.update(id, { focused: true });
  const onBlur = () => budget.update(id, { focused: false });
  textarea?.addEventListener("focus", onFocus);
  textarea?.addEventListener("blur", onBlur);
  show();
  refresh();
  return {
    refresh,
    dispose() {
      visibility.disconnect();
      container.removeEventListener("webglcontextlost", onLost, true);
      textarea?.removeEventListener("focus", onFocus);
      textarea?.removeEventListener("blur", onBlur);
      budget.remove(id);
      drop();
    },
  };
}
