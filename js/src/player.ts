// The replay of a recorded terminal (an asciicast v2, conpty_widget/recording.py), in xterm.js.
// One bundle (conpty_widget/static/player.js), two ways in: the Replay widget (anywidget calls
// render()), and the static player of an output's HTML (an HTML export, a notebook without
// widget state): loaded as an inline module, it mounts every `.conpty-player-static` it finds.
import type { RenderProps } from "@anywidget/types";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { Terminal } from "@xterm/xterm";
import { type Cast, parseCast, timeline } from "./cast";

export interface PlayerOptions {
  speed: number;
  idle_time_limit: number | null;
  autoplay: boolean;
  loop: boolean;
}

const SPEEDS = [0.5, 1, 2, 4, 8];

/** A player element the tests (and curious users) can reach from the page. */
export interface PlayerElement extends HTMLElement {
  conptyTerminal?: Terminal;
  conptyPlayer?: Player;
}

export class Player {
  readonly el: PlayerElement;
  readonly term: Terminal;
  private cast: Cast;
  private times: number[];
  private next = 0; // index of the next event to write
  private position = 0; // seconds of (idle-capped) replay time written
  private speed: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private startedAt = 0; // performance.now() when position was last resynced
  private startedPos = 0;
  private playing = false;
  private readonly button: HTMLButtonElement;
  private readonly clock: HTMLSpanElement;
  private readonly bar: HTMLInputElement;

  constructor(parent: HTMLElement, text: string, private options: PlayerOptions) {
    this.cast = parseCast(text);
    this.times = timeline(this.cast.events, options.idle_time_limit, this.cast.header);
    this.speed = options.speed > 0 ? options.speed : 1;
    const el = document.createElement("div") as PlayerElement;
    el.className = "conpty-player";
    const screen = document.createElement("div");
    screen.className = "conpty-player-screen";
    const controls = document.createElement("div");
    controls.className = "conpty-player-controls";
    this.button = button("Play", "play", () => (this.playing ? this.pause() : this.play()));
    this.button.classList.add("conpty-player-play");
    const restart = button("Restart", "restart", () => this.restart());
    restart.classList.add("conpty-player-restart");
    const speed = document.createElement("select");
    speed.className = "conpty-player-speed";
    speed.title = "Speed";
    for (const s of SPEEDS.includes(this.speed) ? SPEEDS : [...SPEEDS, this.speed].sort((a, b) => a - b)) {
      const option = new Option(`${s}×`, String(s), false, s === this.speed);
      speed.add(option);
    }
    speed.addEventListener("change", () => this.setSpeed(Number(speed.value)));
    this.bar = document.createElement("input");
    this.bar.type = "range";
    this.bar.className = "conpty-player-bar";
    this.bar.min = "0";
    this.bar.step = "any";
    this.bar.max = String(this.duration);
    this.bar.value = "0";
    this.bar.addEventListener("input", () => this.seek(Number(this.bar.value)));
    this.clock = document.createElement("span");
    this.clock.className = "conpty-player-clock";
    controls.append(this.button, restart, speed, this.bar, this.clock);
    if (this.cast.header.title) {
      const title = document.createElement("div");
      title.className = "conpty-player-title";
      title.textContent = this.cast.header.title;
      el.append(title);
    }
    el.append(screen, controls);
    parent.append(el);
    this.el = el;
    // Output only: a replay takes no keys.
    this.term = new Terminal({
      cols: this.cast.header.width,
      rows: this.cast.header.height,
      disableStdin: true,
      cursorBlink: false,
      scrollback: 1000,
      allowProposedApi: true,
      fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace',
      fontSize: 13,
    });
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = "11";
    this.term.open(screen);
    el.conptyTerminal = this.term;
    el.conptyPlayer = this;
    this.show();
    if (options.autoplay) this.play();
  }

  /** Seconds the replay lasts (idle time capped, at speed 1). */
  get duration(): number {
    return this.times.length ? this.times[this.times.length - 1] : 0;
  }

  get state(): "playing" | "paused" | "ended" {
    return this.playing ? "playing" : this.next >= this.cast.events.length ? "ended" : "paused";
  }

  play(): void {
    if (this.playing) return;
    if (this.state === "ended") this.rewind();
    this.playing = true;
    this.resync();
    this.tick();
  }

  pause(): void {
    if (!this.playing) return;
    this.position = this.now();
    this.playing = false;
    clearTimeout(this.timer);
    this.show();
  }

  restart(): void {
    const playing = this.playing;
    this.pause();
    this.rewind();
    if (playing || this.options.autoplay) this.play();
    else this.show();
  }

  setSpeed(speed: number): void {
    if (!(speed > 0)) return;
    this.position = this.now();
    this.speed = speed;
    this.resync();
    if (this.playing) {
      clearTimeout(this.timer);
      this.tick();
    }
  }

  /** Jump to ``t`` seconds (replay time): written again from the start up to there. */
  seek(t: number): void {
    if (t < this.position) this.rewind();
    this.position = Math.max(0, Math.min(t, this.duration));
    this.writeUpTo(this.position);
    this.resync();
    this.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.playing = false;
    this.term.dispose();
    this.el.remove();
  }

  private rewind(): void {
    this.term.reset();
    this.term.resize(this.cast.header.width, this.cast.header.height);
    this.next = 0;
    this.position = 0;
  }

  private now(): number {
    return this.playing ? this.startedPos + ((performance.now() - this.startedAt) / 1000) * this.speed : this.position;
  }

  private resync(): void {
    this.startedAt = performance.now();
    this.startedPos = this.position;
  }

  private tick(): void {
    if (!this.playing) return;
    this.position = Math.min(this.now(), this.duration);
    this.writeUpTo(this.position);
    if (this.next >= this.cast.events.length) {
      this.playing = false;
      this.show();
      if (this.options.loop) {
        this.timer = setTimeout(() => this.restartLoop(), 1000);
      }
      return;
    }
    this.show();
    const wait = ((this.times[this.next] - this.position) / this.speed) * 1000;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(wait, 250)));
  }

  private restartLoop(): void {
    this.rewind();
    this.play();
  }

  private writeUpTo(t: number): void {
    const events = this.cast.events;
    let out = "";
    while (this.next < events.length && this.times[this.next] <= t) {
      const [, kind, data] = events[this.next];
      if (kind === "o") out += data;
      else if (kind === "r") {
        const size = /^(\d+)x(\d+)$/.exec(data);
        if (size) {
          if (out) this.term.write(out);
          out = "";
          this.term.resize(Number(size[1]), Number(size[2]));
        }
      }
      this.next += 1;
    }
    if (out) this.term.write(out);
  }

  private show(): void {
    const state = this.state;
    this.el.dataset.state = state;
    const label = state === "playing" ? "Pause" : "Play";
    if (this.button.title !== label) {
      this.button.replaceChildren(icon(state === "playing" ? "pause" : "play"));
      this.button.title = label;
      this.button.setAttribute("aria-label", label);
    }
    this.bar.value = String(this.position);
    this.clock.textContent = `${this.position.toFixed(1)} / ${this.duration.toFixed(1)} s`;
  }
}

/** Icons as SVG paths (no font has every media symbol): 16x16 viewBox. */
const ICONS: Record<string, string> = {
  play: "M4 2.5v11l9-5.5z",
  pause: "M3.5 2.5h3.2v11H3.5zM9.3 2.5h3.2v11H9.3z",
  restart: "M2.5 2.5h2v11h-2zM13.5 2.5v11L5.5 8z",
};

function icon(name: string): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "12");
  svg.setAttribute("height", "12");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function button(title: string, name: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.title = title;
  b.setAttribute("aria-label", title);
  b.append(icon(name));
  b.addEventListener("click", onClick);
  return b;
}

/** The Replay widget's view. */
function render({ model, el }: RenderProps<PlayerOptions & { cast: string }>): () => void {
  let player: Player | undefined;
  const mount = () => {
    player?.dispose();
    el.replaceChildren();
    try {
      player = new Player(el, model.get("cast"), {
        speed: model.get("speed"),
        idle_time_limit: model.get("idle_time_limit"),
        autoplay: model.get("autoplay"),
        loop: model.get("loop"),
      });
    } catch (error) {
      const pre = document.createElement("pre");
      pre.className = "conpty-player-error";
      pre.textContent = `This recording cannot be played: ${error}`;
      el.append(pre);
    }
  };
  const speed = () => player?.setSpeed(model.get("speed"));
  mount();
  model.on("change:cast", mount);
  model.on("change:speed", speed);
  return () => {
    model.off("change:cast", mount);
    model.off("change:speed", speed);
    player?.dispose();
  };
}

/** The static players of the page: each `.conpty-player-static` holds its cast as JSON. */
export function mountStatic(root: ParentNode = document): void {
  for (const holder of Array.from(root.querySelectorAll<HTMLElement>(".conpty-player-static:not([data-mounted])"))) {
    const data = holder.querySelector("script.conpty-cast");
    if (!data) continue;
    holder.dataset.mounted = "true";
    try {
      const { cast, ...options } = JSON.parse(data.textContent ?? "{}");
      const player = new Player(holder, cast, { speed: 1, idle_time_limit: null, autoplay: true, loop: false, ...options });
      for (const child of Array.from(holder.children)) if (child !== player.el && child !== data) child.remove();
    } catch (error) {
      holder.dataset.error = String(error);
    }
  }
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountStatic());
  else mountStatic();
}

export default { render };
