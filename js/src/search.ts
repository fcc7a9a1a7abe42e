// The find bar of one view: search the scrollback (xterm's search addon), next/previous, a match count.
import { type ISearchOptions, SearchAddon } from "@xterm/addon-search";
import type { Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

/** The key chord that opens the find bar (Ctrl+F is the shell's and the notebook's). */
export const FIND_CHORD = "Ctrl+Shift+F";

export interface Chord {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** Ctrl+Shift+F (Cmd+Shift+F on macOS): xterm.js sends nothing for it, unlike Ctrl+F (^F). */
export function isFindChord(e: Chord): boolean {
  return (e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey && e.key.toLowerCase() === "f";
}

/** What the count shows: ``3/12``; the addon gives index -1 past its highlight limit. */
export function matchCount(index: number, count: number, limit: number): string {
  if (count === 0) return "No results";
  if (index < 0) return `${count >= limit ? `${limit}+` : count} matches`;
  return `${index + 1}/${count}`;
}

/** Highlights that keep the text legible on a light or dark background (the addon wants #RRGGBB). */
export function searchDecorations(light: boolean): NonNullable<ISearchOptions["decorations"]> {
  return light
    ? { matchBackground: "#fff3a3", matchOverviewRuler: "#d4a72c", activeMatchBackground: "#ffb454", activeMatchColorOverviewRuler: "#e36209" }
    : { matchBackground: "#5c4a00", matchOverviewRuler: "#d4a72c", activeMatchBackground: "#a35200", activeMatchColorOverviewRuler: "#f0883e" };
}

/** Whether a computed CSS colour (``rgb(r, g, b)``) is light; anything unreadable counts as light. */
export function isLightColor(color: string): boolean {
  const [r, g, b] = (color.match(/[\d.]+/g) ?? ["255", "255", "255"]).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 127.5;
}

const HIGHLIGHT_LIMIT = 1000;

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.addEventListener("click", onClick);
  return b;
}

export interface Search extends Disposable {
  /** Open the find bar (or select its text if open); the key handler calls it on the chord. */
  open(): void;
}

/** A find bar in the top-right corner of ``container``: Enter finds the next match, Shift+Enter the
 * previous one, Escape closes it and gives the keys back to the terminal. */
export function attachSearch(term: Terminal, container: HTMLElement, light: () => boolean): Search {
  const addon = new SearchAddon({ highlightLimit: HIGHLIGHT_LIMIT });
  term.loadAddon(addon);
  const bar = document.createElement("div");
  bar.className = "conpty-find";
  bar.setAttribute("role", "search");
  bar.hidden = true;
  const input = document.createElement("input");
  input.type = "text";
  input.placeholder = "Find";
  input.setAttribute("aria-label", "Find in the terminal");
  input.title = `Find in the terminal and its scrollback (${FIND_CHORD}). Enter: next, Shift+Enter: previous, Escape: close`;
  const count = document.createElement("span");
  count.className = "conpty-find-count";
  count.setAttribute("aria-live", "polite");
  const options = (): ISearchOptions => ({ decorations: searchDecorations(light()) });
  const find = (forward: boolean, incremental = false) => {
    if (!input.value) {
      addon.clearDecorations();
      count.textContent = "";
      return;
    }
    if (forward) addon.findNext(input.value, { ...options(), incremental });
    else addon.findPrevious(input.value, options());
  };
  const close = () => {
    bar.hidden = true;
    addon.clearDecorations();
    term.focus();
  };
  bar.append(
    input,
    count,
    button("\u2191", "Previous match (Shift+Enter)", () => find(false)),
    button("\u2193", "Next match (Enter)", () => find(true)),
    button("\u00d7", "Close (Escape)", close),
  );
  container.appendChild(bar);
  const results = addon.onDidChangeResults(({ resultIndex, resultCount }) => {
    count.textContent = matchCount(resultIndex, resultCount, HIGHLIGHT_LIMIT);
  });
  input.addEventListener("input", () => find(true, true));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") find(!e.shiftKey);
    else if (e.key === "Escape") close();
    else if (isFindChord(e)) input.select();
    else return;
    e.preventDefault();
  });
  const open = () => {
    bar.hidden = false;
    input.focus();
    input.select();
    if (input.value) find(true, true);
  };
  return {
    open,
    dispose() {
      results.dispose();
      addon.dispose();
      bar.remove();
    },
  };
}
