// Colours and font of a view, from the page that hosts it; they follow the page's theme live.
//
// Where each comes from, first found first: JupyterLab's theme variables (JupyterLab, Notebook 7,
// Voilà), marimo's public font variable, else what the host paints around the view (the first
// opaque background among the view's ancestors, the text colour the view inherits, the font of
// the host's <code>: nbclassic, Solara's Vuetify, Panel, marimo's colours), else the browser's
// prefers-color-scheme. They are read once the view is in the page: hosts render it detached,
// where no style applies (the JupyterLab code font was never found so), and read again when the
// page's theme may have changed: an attribute of the page or of an ancestor (JupyterLab's
// data-jp-theme-*, a dark class), a stylesheet added, the colour scheme of the system.
import type { ITheme, Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

/** What a view takes from its host. */
export interface Look {
  theme: ITheme;
  fontFamily: string;
}

function cssVar(el: Element, name: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim();
}

let pixel: CanvasRenderingContext2D | null | undefined;

/** ``[r, g, b, a]`` (0-255) of a CSS colour as painted in sRGB (oklch, color-mix... included); null if it cannot. */
function rgba(color: string): number[] | null {
  if (pixel === undefined) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    pixel = canvas.getContext("2d", { willReadFrequently: true });
  }
  if (!pixel) return null;
  pixel.clearRect(0, 0, 1, 1);
  pixel.fillStyle = "#00000000";
  pixel.fillStyle = color;
  pixel.fillRect(0, 0, 1, 1);
  return [...pixel.getImageData(0, 0, 1, 1).data];
}

/** ``#rrggbb`` of an opaque colour. */
function hex(c: number[]): string {
  return `#${c.slice(0, 3).map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** WCAG relative luminance. */
function luminance([r, g, b]: number[]): number {
  const lin = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a: number[], b: number[]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The element's parent, across a shadow root's boundary (Panel and marimo render views in one). */
function parentOf(node: Element): Element | null {
  if (node.parentElement) return node.parentElement;
  const root = node.getRootNode();
  return root instanceof ShadowRoot ? root.host : null;
}

/** The view's ancestors, nearest first. */
function ancestors(el: Element): Element[] {
  const out: Element[] = [];
  for (let n: Element | null = el; n; n = parentOf(n)) out.push(n);
  return out;
}

/** A colour that hides what is behind it, else null. */
function opaque(c: number[] | null): number[] | null {
  return c && c[3] > 128 ? c : null;
}

/** The background the host paints behind ``el``: the first opaque one among its ancestors. */
function paintedBackground(el: Element): number[] | null {
  for (const n of ancestors(el)) {
    const c = opaque(rgba(getComputedStyle(n).backgroundColor));
    if (c) return c;
  }
  return null;
}

/** The font the host gives code, where it says (a bare "monospace" says nothing). */
function codeFont(el: Element): string | undefined {
  const code = document.createElement("code");
  el.appendChild(code);
  const font = getComputedStyle(code).fontFamily;
  code.remove();
  return font && font !== "monospace" ? font : undefined;
}

/** xterm's palette, legible on a light or a dark background. */
function ansi(light: boolean): ITheme {
  return light
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
}

/** The look ``el`` takes from its page now (``el`` in the page; detached, only the defaults). */
export function hostLook(el: Element): Look {
  const dark = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
  const bg = opaque(rgba(cssVar(el, "--jp-layout-color0"))) ?? paintedBackground(el) ?? (dark ? [30, 30, 30, 255] : [255, 255, 255, 255]);
  const background = hex(bg);
  const light = luminance(bg) > 0.18; // where black and white text contrast alike
  const fg = opaque(rgba(cssVar(el, "--jp-ui-font-color0") || getComputedStyle(el).color));
  const foreground = fg && contrast(fg, bg) >= 4.5 ? hex(fg) : light ? "#1e1e1e" : "#e5e5e5";
  const fontFamily = cssVar(el, "--jp-code-font-family") || cssVar(el, "--marimo-monospace-font") || codeFont(el) || "monospace";
  return {
    fontFamily,
    theme: {
      ...ansi(light),
      background,
      foreground,
      cursor: foreground,
      cursorAccent: background,
      selectionBackground: light ? "rgba(9, 105, 218, 0.25)" : "rgba(255, 255, 255, 0.3)",
    },
  };
}

/** Give ``term`` its host's look once ``el`` is in the page, and again whenever the page's theme
 * may have changed; ``refit`` is called after a font change (the cells changed size). */
export function attachTheme(term: Terminal, el: Element, refit: () => void): Disposable {
  let shown = "";
  let frame = 0;
  const attributes = new MutationObserver(() => schedule());
  const watched = new Set<Element>();
  const apply = () => {
    frame = 0;
    if (!el.isConnected) return;
    // Watch what a theme switch changes: the page's and every ancestor's attributes, the
    // stylesheets in <head>.
    for (const n of [...ancestors(el), document.documentElement, document.body, document.head]) {
      if (watched.has(n)) continue;
      watched.add(n);
      attributes.observe(n, { attributes: true, attributeFilter: ["class", "style", "data-theme", "data-jp-theme-name", "data-jp-theme-light"], childList: n === document.head });
    }
    const look = hostLook(el);
    const key = JSON.stringify(look);
    if (key === shown) return;
    const fontChanged = look.fontFamily !== term.options.fontFamily;
    shown = key;
    term.options.theme = look.theme;
    const style = (el as HTMLElement).style;
    style.setProperty("--conpty-background", look.theme.background ?? "");
    style.setProperty("--conpty-border", luminance(rgba(look.theme.background ?? "") ?? [255, 255, 255]) > 0.18 ? "#e0e0e0" : "#444444");
    if (fontChanged) {
      term.options.fontFamily = look.fontFamily;
      refit();
    }
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(apply);
  };
  // A host puts the view in the page after render: it then gets a box.
  const placed = new ResizeObserver(schedule);
  placed.observe(el);
  const scheme = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : undefined;
  scheme?.addEventListener("change", schedule);
  apply();
  return {
    dispose: () => {
      cancelAnimationFrame(frame);
      attributes.disconnect();
      placed.disconnect();
      scheme?.removeEventListener("change", schedule);
    },
  };
}
