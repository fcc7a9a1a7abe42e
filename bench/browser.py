"""In headless Chromium (JupyterLab 4): a flood rendered by the widget vs xterm.js alone, and echo mid-flood.

    .venv/bin/python bench/browser.py [--mb 20] [--runs 2] [--stack linux|windows] [--json bench/results.json]

The notebook shows ``Terminal(bash)``; the page types the flood command into it (xterm's
``input()``, as if typed) and times until xterm.js has parsed the end mark, in the page's own
clock. A third of the way in, it types ``Z`` and times until xterm.js has parsed its echo.
Baseline in the same page: a second xterm.js Terminal (same class, size and renderer, on screen
too) writing the same bytes locally, in 64 KiB pieces with at most 512 KiB pending.
``--stack windows``: on the Windows lab stack under Wine (harness/wine_stack.py), cmd.exe ``type``s
a file of that size in lines (a console re-wraps one long line row by row); run it once as is (the
direct path) and once with ``CONPTY_WIDGET_DIRECT=0`` (the comm).
Needs /usr/bin/chromium (Playwright's own download does not work here).

With ``--trace DIR``, the first run of each side is also recorded as a Chrome trace
(``DIR/widget.json``, ``DIR/local.json``, open them in chrome://tracing or Perfetto) and
summarized: how long the page's main thread was busy, on what, and how many favicon requests
the kernel's busy/idle status caused (bench/RESULTS.md, fix 6).
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import sys
import time

from _common import Reporter, machine, median, parser, shell, stack_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

CELL = "from conpty_widget import Terminal\nt = {terminal}\nt"

# Runs in the page: resolves with {widget_ms, echo_ms, local_ms}.
FLOOD_JS = """async ([size, cmd, local, clear, mark]) => {
  const el = document.querySelector('.conpty-widget');
  const term = el.conptyTerminal;
  const now = () => performance.now();
  if (local) {
    // xterm.js alone: the same bytes, written locally by a Terminal of the same class and size.
    const box = document.createElement('div');
    box.style.cssText = `position:fixed;right:0;bottom:0;z-index:10000;background:#fff;width:${el.clientWidth}px;height:${el.clientHeight}px`;
    document.body.appendChild(box);
    const other = new term.constructor({rows: term.rows, cols: term.cols, fontSize: 13, scrollback: 5000,
                                        fontFamily: term.options.fontFamily});
    other.open(box);
    await new Promise(r => setTimeout(r, 100));
    const enc = new TextEncoder();
    const piece = new Uint8Array(65536).fill(97);
    const t0 = now();
    let pending = 0, left = size;
    await new Promise(resolve => {
      const pump = () => {
        while (left > 0 && pending < 512 * 1024) {
          const n = Math.min(left, piece.length);
          left -= n; pending += n;
          other.write(n === piece.length ? piece : piece.subarray(0, n), () => { pending -= n; pump(); });
        }
        if (left === 0 && pending === 0) { left = -1; other.write(enc.encode('\\r\\nEND-42\\r\\n'), resolve); }
      };
      other.write(enc.encode('$ ' + cmd + '\\r\\n'), pump);
    });
    const ms = now() - t0;
    other.dispose(); box.remove();
    return {local_ms: ms};
  }
  const orig = term.write;
  let tail = '', got = 0, keyAt = null, echoMs = null, doneAt = null;
  const t0 = now();
  let finish;
  const done = new Promise(r => finish = r);
  term.write = function (data, cb) {
    const bytes = data;
    return orig.call(term, data, () => {
      got += bytes.length;
      if (keyAt !== null && echoMs === null && bytes.indexOf(90) >= 0) echoMs = now() - keyAt;
      if (keyAt === null && got > size / 3) { keyAt = now(); term.input('Z', true); }
      // the end of each chunk: a console's prompt and its sequences may follow the mark in it
      tail = (tail + new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - 1024)))).slice(-2048);
      // this run's mark (a console may repaint an earlier one, and draw a line by moving the cursor)
      if (tail.includes(mark) && doneAt === null) doneAt = now();
      if (doneAt !== null && (echoMs !== null || keyAt === null)) finish();
      if (cb) cb();
    });
  };
  term.input(cmd + '\\r', true);
  // Done when the end mark and the key's echo (it may come after the flood) are both parsed.
  const poll = setInterval(() => { if (doneAt !== null && now() - doneAt > 5000) finish(); }, 100);
  await done;
  clearInterval(poll);
  term.write = orig;
  term.input(clear, true);  // drop the typed Z from the shell's line (bash: ^U, cmd: Backspace)
  return {widget_ms: doneAt - t0, echo_ms: echoMs};
}"""


def log(text: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def trace_summary(path: pathlib.Path) -> str:
    """Main-thread busy time of the page, its biggest top-level tasks, and favicon requests."""
    events = json.loads(path.read_text())["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    main = {k for k, v in names.items() if v == "CrRendererMain"}
    spans = sorted((e["ts"], e["ts"] + e["dur"], e["name"]) for e in events
                   if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X" and e.get("dur"))
    busy, end, tops = 0, None, collections.Counter()
    for start, stop, name in spans:
        if end is None or start >= end:  # a new top-level task
            tops[name] += stop - start
            busy, end = busy + stop - start, stop
        elif stop > end:
            busy, end = busy + stop - end, stop
    favicons = sum(1 for e in events if e.get("name") == "ResourceSendRequest"
                   and "favicon" in e.get("args", {}).get("data", {}).get("url", ""))
    top = ", ".join(f"{n} {t / 1000:.0f}" for n, t in tops.most_common(5))
    return (f"{path.name}: main thread busy {busy / 1000:.0f} of {(spans[-1][1] - spans[0][0]) / 1000:.0f} ms; "
            f"favicon requests {favicons}; top tasks (ms): {top}")


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--mb", type=float, default=20)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--stack", choices=("linux", "windows"), default="linux")
    p.add_argument("--trace", type=pathlib.Path, help="record the first run of each side as a Chrome trace here")
    args = p.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"needs {CHROMIUM}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    size = int(args.mb * 1e6)
    sh = shell(args.stack)
    widget, local, echo = [], [], []
    with stack_server(args.stack) as server:
        cmd = sh.flood(size, server.root)
        nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                         "source": CELL.replace("{terminal}", sh.terminal)}],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        (server.root / "bench.ipynb").write_text(json.dumps(nb))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                log("JupyterLab started; opening the notebook")
                page.goto(f"{server.url}/lab/tree/bench.ipynb?token={server.token}")
                # timeout: a hang guard (a Windows kernel under Wine, on a loaded machine, takes minutes)
                page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
                                       "?.status === 'idle'", timeout=240_000)
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function("() => document.querySelector('.conpty-widget')?.conptyTerminal", timeout=60_000)
                page.wait_for_function("""(p) => {
                    const b = document.querySelector('.conpty-widget').conptyTerminal.buffer.active;
                    return b.getLine(b.baseY + b.cursorY)?.translateToString(true).trimEnd().endsWith(p); }""",
                                       arg=sh.prompt.strip(), timeout=60_000)
                path = page.evaluate("() => document.querySelector('.conpty-widget').dataset.path")
                log(f"terminal ready, its view on {path}")
                def flood(side: str) -> dict:
                    traced = args.trace is not None and not (local if side == "local" else widget)
                    if traced:
                        args.trace.mkdir(parents=True, exist_ok=True)
                        browser.start_tracing(page=page, path=str(args.trace / f"{side}.json"),
                                              categories=["devtools.timeline", "blink"])
                    run = len(local if side == "local" else widget)  # the mark ends with the run's number
                    result = page.evaluate(FLOOD_JS, [size, f"{cmd}-{run}", side == "local", sh.clear, f"END-42-{run}"])
                    if traced:
                        browser.stop_tracing()
                        print("# trace " + trace_summary(args.trace / f"{side}.json"), flush=True)
                    return result

                for _ in range(args.runs):
                    local.append(flood("local")["local_ms"])
                    res = flood("widget")
                    widget.append(res["widget_ms"])
                    if res["echo_ms"] is not None:
                        echo.append(res["echo_ms"])
                    log(f"run: widget {widget[-1]:.0f} ms, xterm.js alone {local[-1]:.0f} ms")
                    time.sleep(0.5)
            finally:
                browser.close()
    if not widget or not echo:
        print("could not measure", file=sys.stderr)
        return 1
    print(f"# {args.stack}: the widget's view on {path}")
    print(f"# {args.runs} runs of {size} bytes; ms each: widget {[round(x) for x in widget]}, "
          f"xterm.js alone {[round(x) for x in local]}, echo {[round(x, 1) for x in echo]}")
    r = Reporter("browser" + ("_windows" if args.stack == "windows" else ""))
    w, lo = size / median(widget) / 1000, size / median(local) / 1000  # bytes/ms -> MB/s
    r.line("browser_throughput", w, "MB/s", "xterm.js alone", lo, note="goal >= 0.8x")
    r.line("browser_echo_mid_flood", median(echo), "ms", "goal", 100.0, note="goal < 100 ms")
    r.save(args.json, {**machine(), "stack": args.stack, "path": path, "mb": args.mb, "runs": args.runs,
                       "widget_ms": widget, "local_ms": local, "echo_ms": echo})
    return 0


if __name__ == "__main__":
    sys.exit(main())
