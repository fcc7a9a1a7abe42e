// The xterm.js view of a conpty_widget Terminal (an anywidget): it wires the units together.
// The message protocol is documented once, in conpty_widget/widget.py.
import type { RenderProps } from "@anywidget/types";
import { FitAddon } from "@xterm/addon-fit";
import { SerializeAddon } from "@xterm/addon-serialize";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { Terminal } from "@xterm/xterm";
import { attachClipboard } from "./clipboard";
import { replaceWhenEnded } from "./ended";
import { LEAVE_CHORD, attachLeave } from "./focus";
import { attachImages } from "./images";
import { attachInput } from "./input";
import { Link } from "./link";
import type { Disposable, Model, ViewMessage } from "./protocol";
import { attachRenderer } from "./renderer";
import { FIND_CHORD, attachSearch, isFindChord, isLightColor } from "./search";
import { attachSize } from "./size";
import { OutputStream } from "./stream";
import { attachTheme, hostLook } from "./theme";
import { attachBell, attachProgress, attachTitle } from "./title";
import { FONT_DEFAULT, ZOOM_CHORDS, attachZoom } from "./zoom";

/** The saved screen (widget state) follows the view this long after output stops... */
const SNAPSHOT_DELAY_MS = 1000;
/** ...with at most this many lines of scrollback (as the kernel's, conpty_widget/screen.py). */
const SNAPSHOT_SCROLLBACK = 200;
/** Height of one row in px at the default font, for the initial size of the view. */
const ROW_PX = 17;
/** The view's own keys, in its tooltip (and the README). */
const HELP = `Find: ${FIND_CHORD}. Zoom: ${ZOOM_CHORDS}. Copy: Ctrl+C with a selection, Ctrl+Shift+C. Paste: Ctrl+V, Ctrl+Shift+V, Shift+Insert. Leave the terminal: ${LEAVE_CHORD}.`;

/** A terminal the tests (and curious users) can reach from the page. */
export interface TerminalElement extends HTMLElement {
  conptyTerminal?: Terminal;
}

function render({ model, el }: RenderProps<Model>): () => void {
  const view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const container = document.createElement("div") as TerminalElement;
  container.className = "conpty-widget";
  // Keys typed here belong to the terminal, not to JupyterLab's shortcuts (Lumino stops
  // looking for a shortcut at this attribute).
  container.setAttribute("data-lm-suppress-shortcuts", "true");
  const fontSize = model.get("font_size") ?? FONT_DEFAULT;
  container.style.height = `${Math.ceil((model.get("rows") * ROW_PX * fontSize) / FONT_DEFAULT)}px`;
  const caption = document.createElement("div");
  caption.className = "conpty-title";
  el.append(caption, container);
  const disposables: Disposable[] = [];

  const term = new Terminal({
    rows: model.get("rows"),
    cols: model.get("cols"),
    allowProposedApi: true,
    ...hostLook(el), // font and colours: the host's, read again once the view is in the page
    fontSize,
    scrollback: 5000,
    // On Windows: ConPTY redraws lines itself; xterm.js then reflows as ConPTY expects.
    ...(model.get("_conpty_build") > 0 && { windowsPty: { backend: "conpty", buildNumber: model.get("_conpty_build") } }),
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.loadAddon(new WebLinksAddon());
  term.loadAddon(new Unicode11Addon());
  const serializer = new SerializeAddon();
  term.loadAddon(serializer);
  term.unicode.activeVersion = "11";
  term.open(container);
  // xterm has measured its font now: make the box exactly `rows` rows high, so that the first
  // fit keeps the size the kernel asked for (the fit addon reads this same private field).
  const cellHeight = (term as any)._core?._renderService?.dimensions?.css?.cell?.height;
  if (cellHeight > 0) container.style.height = `${Math.ceil(model.get("rows") * cellHeight)}px`;
  container.conptyTerminal = term;
  // The last screen saved with the notebook: shown until the kernel's reset (if any) repaints.
  const saved = model.get("_snapshot");
  if (saved) term.write(saved);

  // Keep the saved screen in this page's model current (set, never sent to the kernel): it is
  // what the notebook stores as widget state, to show when no kernel runs.
  let snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  const saveScreen = () => {
    if (model.get("save_screen")) model.set("_snapshot", serializer.serialize({ scrollback: SNAPSHOT_SCROLLBACK }));
  };
  disposables.push({ dispose: () => clearTimeout(snapshotTimer) });

  // -- the stream and its link to the kernel ----------------------------------------------------
  let sizer: { askSize(always: boolean): void } | undefined;
  const stream = new OutputStream(view, {
    write: (data, parsed) => term.write(data, parsed),
    clear: () => term.reset(),
    send: (msg) => link.send(msg),
    onParsed: () => {
      clearTimeout(snapshotTimer);
      snapshotTimer = setTimeout(saveScreen, SNAPSHOT_DELAY_MS);
    },
  });
  const link = new Link(
    model,
    view,
    (msg, data) => {
      // A view appeared: say what fits this one now (even in a background tab, where no
      // animation frame comes), or stop counting until the box can be measured again.
      if (msg.type === "roll_call") sizer?.askSize(true);
      else stream.handle(msg, data);
    },
    (path) => {
      container.dataset.path = path;
      stream.restart();
      if (path === "disconnected") onExit();
    },
  );
  /** Input is numbered (the kernel puts it back in order) and carries the acknowledgement of
   * what was parsed since the last one. */
  let inputs = 0;
  const send = (msg: ViewMessage, payload?: Uint8Array) => {
    if (msg.type !== "input") return link.send(msg, payload);
    const ack = stream.takeAck();
    inputs += 1;
    link.send(ack === undefined ? { ...msg, n: inputs } : { ...msg, n: inputs, ack }, payload);
  };

  const running = () => model.get("exit_code") === null && link.path !== "disconnected";
  // Until the kernel names one (or with a kernel that does not), every view answers.
  const answers = () => [view, ""].includes(model.get("_answerer") ?? "");
  const chords: ((e: KeyboardEvent) => boolean)[] = [];
  disposables.push(attachInput(term, container, send, running, answers, (e) => chords.some((chord) => chord(e))));
  const size = attachSize(term, container, fit, model, send, running);
  sizer = size;
  disposables.push(size, attachTheme(term, el, () => size.askSize(false)));
  disposables.push(attachLeave(term, container)); // Shift+Esc: the focus back to the notebook

  // -- what the view adds to a terminal: renderer, find bar, clipboard, images, title, zoom ---------
  const renderer = attachRenderer(term, container, view, () => model.get("renderer"));
  const search = attachSearch(term, container, () => isLightColor(getComputedStyle(container).backgroundColor));
  const clipboard = attachClipboard(term, container, {
    copyOnSelect: () => model.get("copy_on_select"),
    rightClickPaste: () => model.get("right_click_paste"),
  });
  const images = attachImages(term, () => model.get("images"), () => model.get("image_memory"));
  const zoom = attachZoom(term, model, () => size.askSize(false));
  chords.push((e) => (isFindChord(e) ? (search.open(), true) : zoom.handleKey(e)));
  const traits: [string, () => void][] = [
    ["change:renderer", renderer.refresh],
    ["change:right_click_paste", clipboard.refresh],
    ["change:images change:image_memory", images.refresh],
  ];
  for (const [event, on] of traits) model.on(event, on);
  disposables.push(renderer, search, clipboard, images, zoom, attachBell(term, container), attachProgress(term, container));
  disposables.push(attachTitle(term, caption, model, send, answers, HELP));
  disposables.push({ dispose: () => traits.forEach(([event, on]) => model.off(event, on)) });

  const onExit = () => {
    term.options.disableStdin = !running();
    term.options.cursorBlink = false;
    container.classList.toggle("conpty-disconnected", link.path === "disconnected");
  };
  model.on("change:exit_code", onExit);
  onExit();
  disposables.push({ dispose: () => model.off("change:exit_code", onExit) });

  const bye = () => link.send({ type: "bye" });
  window.addEventListener("pagehide", bye);
  disposables.push({ dispose: () => window.removeEventListener("pagehide", bye) });
  link.start();

  return () => {
    bye();
    for (const d of [...disposables, stream, link]) d.dispose();
    term.dispose();
    caption.remove();
    container.remove();
  };
}

/** Once per widget model, views or not: an ended terminal's outputs become its last screen. */
function initialize({ model }: { model: RenderProps<Model>["model"] }): () => void {
  const ending = replaceWhenEnded(model);
  return () => ending.dispose();
}

export default { initialize, render };
