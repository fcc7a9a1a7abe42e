// What xterm.js (headless, with the unicode11 addon the view loads) shows for some output.
// Reads one JSON request a line on stdin: {"data": base64 bytes, "rows": r, "cols": c}; writes one
// JSON answer a line: {"lines": [...], "cursor": [row, col], "cells": [[cell, ...], ...], "title": t,
// "replies": r}, where "lines" has the scrollback then the screen, each cell is [chars, width, fg, bg,
// flags], "title" is the window title set (OSC 0/2) and "replies" what xterm.js answered (base64).
import { createRequire } from "node:module";
import * as readline from "node:readline";
import * as path from "node:path";
import * as url from "node:url";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "js", "package.json"));
const { Terminal } = require("@xterm/headless");
const { Unicode11Addon } = require("@xterm/addon-unicode11");

const MODES = { 0: "d", 0x1000000: "16", 0x2000000: "256", 0x3000000: "rgb" };
const FLAGS = [
  ["isBold", "bold"], ["isDim", "dim"], ["isItalic", "italic"], ["isUnderline", "underline"],
  ["isBlink", "blink"], ["isInverse", "inverse"], ["isInvisible", "invisible"],
  ["isStrikethrough", "strike"], ["isOverline", "overline"],
];

function color(mode, value) {
  const name = MODES[mode];
  return name === "d" ? "d" : `${name}:${name === "rgb" ? value.toString(16).padStart(6, "0") : value}`;
}

function screen(term, title, replies) {
  const buffer = term.buffer.active;
  const lines = [];
  const cells = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    lines.push(line.translateToString(true));
    if (y < buffer.baseY) continue;
    const row = [];
    for (let x = 0; x < term.cols; x++) {
      const c = line.getCell(x);
      const flags = FLAGS.filter(([method]) => c[method]()).map(([, name]) => name).join(",");
      row.push([c.getChars(), c.getWidth(), color(c.getFgColorMode(), c.getFgColor()),
        color(c.getBgColorMode(), c.getBgColor()), flags]);
    }
    cells.push(row);
  }
  return {
    lines, cursor: [buffer.cursorY, buffer.cursorX], cells, alternate: buffer.type === "alternate", title,
    replies: Buffer.from(replies, "utf8").toString("base64"),
  };
}

const input = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;
// xterm.js itself throws on some input (ED 1 with the cursor in the last column of the last row
// reads the row below it), from a timer: that request's answer is {"error": message}.
let failed = null;
process.on("uncaughtException", (error) => failed?.(error));

async function next() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const request = JSON.parse(queue.shift());
    const term = new Terminal({
      rows: request.rows, cols: request.cols, scrollback: 1000, allowProposedApi: true, logLevel: "off",
    });
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = "11";
    let title = "";
    let replies = "";
    term.onTitleChange((t) => { title = t; });
    term.onData((d) => { replies += d; });
    const error = await new Promise((resolve) => {
      failed = resolve;
      term.write(Buffer.from(request.data, "base64"), () => resolve(null));
    });
    failed = null;
    process.stdout.write(JSON.stringify(error ? { error: String(error) } : screen(term, title, replies)) + "\n");
    term.dispose();
  }
  busy = false;
}

input.on("line", (line) => {
  queue.push(line);
  next();
});
