// Colours and font of a view, from the notebook's theme; they follow a theme switch.
import type { ITheme, Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

export function cssVar(el: Element, name: string, fallback: string): string {
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
export function theme(el: Element): ITheme {
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

/** Re-colour ``term`` whenever JupyterLab switches theme. */
export function followTheme(term: Terminal, el: Element): Disposable {
  const observer = new MutationObserver(() => {
    term.options.theme = theme(el);
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  return { dispose: () => observer.disconnect() };
}
