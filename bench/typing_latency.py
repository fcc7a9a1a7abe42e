"""Keystroke echo latency as the user feels it: typing under ``cat`` in a real page (Chromium).

    .venv/bin/python bench/typing_latency.py [--host lab|notebook] [--gateway | --gateway-nodelay] [--keys 60] [--rounds 4]
        [--protocol-keys 500] [--stack linux|windows] [--json bench/results.json]

One Jupyter server, one headless Chromium, three sides measured in the same run:

* ``widget``: a conpty_widget ``Terminal(bash)`` in a notebook, running ``cat``; a key typed with
  xterm's ``term.input(key, true)`` is timed until xterm.js has parsed its echo (a wrapped
  ``term.write`` callback), in the page's clock.
* ``terminado``: JupyterLab's own terminal (``terminal:create-new``; its xterm.js Terminal is
  ``content._term`` of the terminal's MainAreaWidget), bash running ``cat``, resized to the
  widget's rows and columns, timed the same way.
* ``bare``: an anywidget whose kernel side sends each message straight back (``on_msg`` ->
  ``send``): the floor of any widget through the kernel's channels, timed from ``model.send`` to
  its ``msg:custom`` in the page.

Each side types ``--keys`` keys per round, one at a time, each after a pause of 30-80 ms (the
same pauses for every side in a round); the order of the sides rotates from round to round, so
machine noise hits all alike. For the two terminals it also prints when the echo was handed to
``term.write`` (the page had it; the rest is xterm.js parsing). ``--host notebook`` opens the
notebook in Notebook 7, which opens its terminals in a tab of their own: terminado is then
measured in a second tab of the same browser, brought to the front while it is typed in.
Last, ``bench/latency.py --keys N`` measures the same three sides at the protocol level (a
Python client talking to the kernel over ZMQ, each key sent as soon as the previous echo came
back; ``--protocol-keys 0`` skips it). ``--gateway`` runs the notebook's kernel on a local
``jupyter kernelgateway`` (the server started with ``--gateway-url``; its kernels' runtime
directory is the gateway's own, so views take the comm, as with a remote gateway); JupyterLab's
terminal stays on the server. ``--gateway-nodelay``: the same, the gateway configured with the
companion's ``NoDelayZMQChannelsWebsocketConnection`` (the companion runs in the server only).
``--stack windows``: the Windows lab stack under Wine (harness/wine_stack.py; JupyterLab's terminal
is terminado + pywinpty there), cmd.exe in both terminals and a Windows Python copying lines as
``cat``; run it once as is (the direct path) and once with ``CONPTY_WIDGET_DIRECT=0`` (the comm).
Needs /usr/bin/chromium (Playwright's own download does not work here).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import Reporter, Shell, machine, parser, percentile, shell, stack_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SIDES = ("widget", "terminado", "bare")
PAUSE_MS = (30, 80)
WARMUP_KEYS = 10
ECHO_TIMEOUT_MS = 10_000
QUANTILES = (50, 90, 99)
NODELAY = "conpty_widget.server_extension.NoDelayZMQChannelsWebsocketConnection"

CELLS = [
    "from conpty_widget import Terminal\nt = {terminal}\nt",
    "import anywidget\n\n"
    "class Echo(anywidget.AnyWidget):\n"
    "    _esm = \"export default { render({ model, el }) { el.classList.add('bench-echo'); el.benchModel = model; } };\"\n\n"
    "echo = Echo()\n"
    "echo.on_msg(lambda widget, content, buffers: widget.send(content))\n"
    "echo",
]

# Installed in every page: window.benchTyping, the helpers the script calls.
INSTALL_JS = """() => {
  const now = () => performance.now();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const has = (data, ch) => typeof data === 'string' ? data.includes(ch) : data.indexOf(ch.charCodeAt(0)) >= 0;
  const bench = {
    // JupyterLab's terminal: a MainAreaWidget whose content (@jupyterlab/terminal's Terminal) keeps
    // its xterm.js Terminal in `_term`.
    jlab() {
      return Array.from(window.jupyterapp.shell.widgets('main')).find((w) => w.content?._term && w.content.session);
    },
    xterm(kind) {
      return kind === 'widget' ? document.querySelector('.conpty-widget')?.conptyTerminal : bench.jlab()?.content._term;
    },
    lines(kind) {
      const b = bench.xterm(kind)?.buffer.active;
      if (!b) return [];
      const out = [];
      for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
      return out;
    },
    cursorLine(kind) {
      const t = bench.xterm(kind);
      if (!t) return null;
      const b = t.buffer.active;
      return b.getLine(b.baseY + b.cursorY)?.translateToString(true);
    },
    // cat copies a line after the tty's echo of it: the probe twice in a row (bash would complain).
    twice(kind, probe) {
      const ls = bench.lines(kind);
      return ls.some((l, i) => l === probe && ls[i + 1] === probe);
    },
    size(kind) {
      const t = bench.xterm(kind);
      return [t.rows, t.cols];
    },
    // JupyterLab's terminal fits itself to its panel: fix its size to rows x cols, pty included.
    setSize(rows, cols) {
      const w = bench.jlab().content;
      w._options.autoFit = false;
      w._term.resize(cols, rows);
      w._setSessionSize();
    },
    input(kind, text) { bench.xterm(kind).input(text, true); },
    // Types `keys` one at a time, each after pauses[i] ms. Resolves with each key's latency (ms) to
    // its echo parsed by xterm.js (the bare echo: to its arrival), and to its echo handed to
    // term.write (the page received it; the rest is xterm.js parsing).
    async type(kind, keys, pauses, timeoutMs) {
      let waiting = null;
      let send, unhook;
      if (kind === 'bare') {
        const model = document.querySelector('.bench-echo').benchModel;
        const onMsg = (content) => {
          if (waiting && content.key === waiting.key) { waiting.received = now(); waiting.done(waiting.received); }
        };
        model.on('msg:custom', onMsg);
        send = (key) => model.send({ key });
        unhook = () => model.off('msg:custom', onMsg);
      } else {
        const term = bench.xterm(kind);
        const orig = term.write;
        term.write = function (data, cb) {
          if (waiting && waiting.received === undefined && has(data, waiting.key)) waiting.received = now();
          return orig.call(term, data, () => {
            if (waiting && has(data, waiting.key)) waiting.done(now());
            if (cb) cb();
          });
        };
        send = (key) => term.input(key, true);
        unhook = () => { term.write = orig; };
      }
      const echo = (key) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting = null; reject(new Error(`${kind}: no echo of ${JSON.stringify(key)} in ${timeoutMs} ms`)); }, timeoutMs);
        const w = { key, done: (at) => { clearTimeout(timer); waiting = null; resolve([at, w.received]); } };
        waiting = w;
      });
      const ms = [], received = [];
      try {
        for (let i = 0; i < keys.length; i++) {
          await sleep(pauses[i]);
          const echoed = echo(keys[i]);
          const t0 = now();
          send(keys[i]);
          const [parsedAt, receivedAt] = await echoed;
          ms.push(parsedAt - t0);
          received.push(receivedAt - t0);
        }
        if (kind !== 'bare') {  // end cat's line (untimed): its echo ends with a newline
          const echoed = echo('\\n');
          send('\\r');
          await echoed;
        }
      } finally {
        unhook();
      }
      return { ms, received };
    },
  };
  window.benchTyping = bench;
}"""

KERNEL_IDLE_JS = """() => {
  const k = window.benchNotebook?.sessionContext?.session?.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""


def log(text: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def start_cat(page: Any, kind: str, sh: Shell) -> None:
    """At the shell's prompt, start its ``cat`` and wait until it copies a probe line."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.wait_for_function("([k, p]) => window.benchTyping.cursorLine(k)?.trimEnd().endsWith(p)",
                           arg=[kind, sh.prompt.strip()], timeout=60_000)
    page.evaluate("([k, cat]) => window.benchTyping.input(k, cat + '\\r')", [kind, sh.cat])
    page.wait_for_function(f"() => window.benchTyping.cursorLine('{kind}') === ''", timeout=10_000)
    for attempt in range(5):
        probe = f"cat-probe-{attempt}"
        page.evaluate(f"() => window.benchTyping.input('{kind}', '{probe}\\r')")
        try:
            page.wait_for_function(f"() => window.benchTyping.twice('{kind}', '{probe}')", timeout=3_000)
            return
        except PlaywrightTimeoutError:
            log(f"{kind}: cat not copying yet; probing again")
    raise RuntimeError(f"{kind}: cat never copied a probe line")


def open_notebook(page: Any, server: Any, host: str) -> None:
    path = "/lab/tree/bench.ipynb" if host == "lab" else "/notebooks/bench.ipynb"
    page.goto(f"{server.url}{path}?token={server.token}")
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext", timeout=60_000)
    page.evaluate("() => { window.benchNotebook = window.jupyterapp.shell.currentWidget; }")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function("() => document.querySelector('.conpty-widget')?.conptyTerminal"
                           " && document.querySelector('.bench-echo')?.benchModel", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)


def open_terminado(page: Any, host: str) -> Any:
    """Open JupyterLab's terminal from the notebook's page; return the page it lives in."""
    if host == "lab":
        # Beside the notebook, so that both are on screen.
        page.evaluate("""async () => {
          const term = await window.jupyterapp.commands.execute('terminal:create-new');
          window.jupyterapp.shell.add(term, 'main', { mode: 'split-right', ref: window.benchNotebook.id });
        }""")
        tpage = page
    else:
        # Notebook 7 opens every terminal in a tab of its own (/terminals/<name>).
        with page.context.expect_page(timeout=60_000) as popup:
            page.evaluate("() => { window.jupyterapp.commands.execute('terminal:create-new'); }")
        tpage = popup.value
        tpage.wait_for_function("() => window.jupyterapp?.shell", timeout=60_000)
        tpage.evaluate(INSTALL_JS)
    tpage.wait_for_function("() => window.benchTyping.jlab()?.content._isReady"
                            " && window.benchTyping.xterm('terminado')?.element", timeout=60_000)
    return tpage


@contextlib.contextmanager
def gateway_options(on: bool, nodelay: bool) -> Iterator[list[str]]:
    """With ``on``, a local Kernel Gateway for the duration (``nodelay``: with TCP_NODELAY on its
    kernel websockets), and the server options that use it."""
    if not on:
        yield []
        return
    from harness.kernel_gateway import running_gateway

    options = [f"--KernelGatewayApp.kernel_websocket_connection_class={NODELAY}"] if nodelay else []
    with tempfile.TemporaryDirectory(prefix="conpty-bench-gateway-") as tmp, running_gateway(Path(tmp), options) as gateway:
        yield gateway.server_options()


def stats(xs: list[float]) -> dict[int, float]:
    return {q: percentile(xs, q) for q in QUANTILES}


def protocol_level(keys: int) -> dict[str, list[float]]:
    """bench/latency.py's samples (ms): the same three sides, a Python client, no page."""
    with tempfile.TemporaryDirectory(prefix="conpty-typing-") as tmp:
        out = Path(tmp) / "latency.json"
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("latency.py")), "--keys", str(keys),
                                 "--json", str(out)], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            if proc.wait(timeout=600) != 0:
                raise RuntimeError(f"bench/latency.py exited {proc.returncode}")
        finally:
            if proc.poll() is None:
                proc.terminate()  # it stops its server and kernel on SIGTERM
                proc.wait()
        meta = json.loads(out.read_text())["latency"]["meta"]
    return {"widget": meta["kernel_ms"], "terminado": meta["terminado_ms"], "bare": meta["comm_floor_ms"]}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--host", choices=("lab", "notebook"), default="lab")
    p.add_argument("--stack", choices=("linux", "windows"), default="linux",
                   help="windows: the Windows lab stack under Wine (harness/wine_stack.py), cmd.exe in both terminals")
    p.add_argument("--gateway", action="store_true", help="the notebook's kernel on a local jupyter kernelgateway")
    p.add_argument("--gateway-nodelay", action="store_true", help="--gateway, the gateway configured with " + NODELAY)
    p.add_argument("--keys", type=int, default=60, help="keys per side per round")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--protocol-keys", type=int, default=500, help="keys per side for bench/latency.py (0: skip it)")
    args = p.parse_args()
    args.gateway = args.gateway or args.gateway_nodelay
    if not os.path.exists(CHROMIUM):
        print(f"needs {CHROMIUM}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    rng = random.Random(42)
    letters = string.ascii_lowercase
    samples: dict[str, list[float]] = {side: [] for side in SIDES}
    received: dict[str, list[float]] = {"widget": [], "terminado": []}  # echo handed to term.write
    extra = []
    if args.host == "notebook":
        # Notebook 7's server extension (_common.jupyter_server turns it off by default).
        extra = ["--ServerApp.jpserver_extensions=notebook=True", "--JupyterNotebookApp.expose_app_in_browser=True"]
    loads = [os.getloadavg()[0]]  # 1-minute load average: at the start, then after each round
    sh = shell(args.stack)
    if args.stack == "windows":
        args.protocol_keys = 0  # bench/latency.py's client is this machine's kernel
    with gateway_options(args.gateway, args.gateway_nodelay) as options, stack_server(args.stack, extra + options) as server:
        nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                         "source": c.replace("{terminal}", sh.terminal)} for c in CELLS],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        (server.root / "bench.ipynb").write_text(json.dumps(nb))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                log(f"server up; opening the notebook in {args.host}")
                open_notebook(page, server, args.host)
                page.evaluate(INSTALL_JS)
                tpage = open_terminado(page, args.host)
                pages = {"widget": page, "terminado": tpage, "bare": page}
                start_cat(page, "widget", sh)  # the widget's size is settled once the layout is
                rows, cols = page.evaluate("() => window.benchTyping.size('widget')")
                tpage.evaluate(f"() => window.benchTyping.setSize({rows}, {cols})")
                start_cat(tpage, "terminado", sh)
                shared = "the same page" if tpage is page else "a second tab of the same browser"
                path = page.evaluate("() => document.querySelector('.conpty-widget').dataset.path")
                log(f"cat running in both terminals ({rows}x{cols}); terminado in {shared}; the widget's view on {path}")

                def run(side: str, keys: list[str], pauses: list[float]) -> dict[str, list[float]]:
                    if tpage is not page:
                        pages[side].bring_to_front()  # the tab typed in is the one on screen
                    return pages[side].evaluate("([k, keys, pauses, t]) => window.benchTyping.type(k, keys, pauses, t)",
                                                [side, keys, pauses, ECHO_TIMEOUT_MS])

                for side in SIDES:
                    run(side, ["w"] * WARMUP_KEYS, [PAUSE_MS[0]] * WARMUP_KEYS)
                for rnd in range(args.rounds):
                    keys = [letters[(rnd * args.keys + i) % 26] for i in range(args.keys)]
                    pauses = [rng.uniform(*PAUSE_MS) for _ in keys]
                    order = SIDES[rnd % 3:] + SIDES[:rnd % 3]
                    for side in order:
                        got = run(side, keys, pauses)
                        samples[side] += got["ms"]
                        if side in received:
                            received[side] += got["received"]
                    sizes = {k: pages[k].evaluate(f"() => window.benchTyping.size('{k}')") for k in received}
                    loads.append(os.getloadavg()[0])
                    log(f"round {rnd + 1}/{args.rounds} ({' '.join(order)}): p50 "
                        + ", ".join(f"{k} {percentile(samples[k], 50):.1f}" for k in SIDES)
                        + f" ms; sizes {sizes}; load {loads[-1]:.2f}")
                visibility = {k: pages[k].evaluate("() => document.visibilityState") for k in received}
            finally:
                browser.close()
    levels = [("in the page", "typing", samples, "bare anywidget echo")]
    if args.protocol_keys:
        log(f"page done; bench/latency.py --keys {args.protocol_keys}")
        levels.append(("protocol level (no server, no page)", "protocol", protocol_level(args.protocol_keys), "bare comm echo"))

    where = f"{args.host} through a kernel gateway" if args.gateway else args.host
    where += " (the Windows stack under Wine)" if args.stack == "windows" else ""
    where += " (TCP_NODELAY on the gateway's kernel websockets)" if args.gateway_nodelay else ""
    print(f"# {where}: {args.rounds} rounds x {args.keys} keys per side, pauses {PAUSE_MS[0]}-{PAUSE_MS[1]} ms; "
          f"terminals {rows}x{cols}; terminado in {shared}; widget on {path}; visibility {visibility}; "
          f"load average {loads[0]:.2f} at the start, {max(loads):.2f} at most")
    name = "typing_latency" if args.host == "lab" else "typing_latency_notebook"
    name += "_windows" if args.stack == "windows" else ""
    r = Reporter(name + ("_gateway" if args.gateway else "") + ("_nodelay" if args.gateway_nodelay else ""))
    for label, prefix, data, bare in levels:
        st = {side: stats(data[side]) for side in SIDES}
        table = [("conpty_widget Terminal", st["widget"], "ms"), ("JupyterLab terminal (terminado)", st["terminado"], "ms"),
                 (bare, st["bare"], "ms")]
        if prefix == "typing":
            table += [(f"  {side}: echo handed to term.write", stats(received[side]), "ms") for side in received]
        table += [("widget / terminado", {q: st["widget"][q] / st["terminado"][q] for q in QUANTILES}, "x"),
                  (f"widget / {bare}", {q: st["widget"][q] / st["bare"][q] for q in QUANTILES}, "x")]
        print(f"# {label:<46}" + "".join(f"{'p' + str(q):>9}" for q in QUANTILES))
        for name, v, unit in table:
            print(f"#   {name:<44}" + "".join(f"{v[q]:>9.2f}" for q in QUANTILES) + f" {unit}")
        note = "" if prefix == "typing" else label
        for q in QUANTILES:
            r.line(f"{prefix}_widget_p{q}", st["widget"][q], "ms", "terminado", st["terminado"][q], note=note)
            r.line(f"{prefix}_widget_vs_bare_p{q}", st["widget"][q], "ms", bare, st["bare"][q], note=note)
            r.line(f"{prefix}_terminado_p{q}", st["terminado"][q], "ms", note=note)
            r.line(f"{prefix}_bare_p{q}", st["bare"][q], "ms", note=note)
    r.save(args.json, {**machine(), "host": args.host, "gateway": args.gateway, "gateway_nodelay": args.gateway_nodelay,
                       "path": path,
                       "keys": args.keys, "rounds": args.rounds,
                       "protocol_keys": args.protocol_keys, "rows": rows, "cols": cols, "terminado_in": shared,
                       "loadavg_1min_start_and_rounds": [round(x, 2) for x in loads],
                       **{f"{side}_ms": [round(x, 2) for x in samples[side]] for side in SIDES},
                       **{f"{side}_received_ms": [round(x, 2) for x in received[side]] for side in received}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
